"""The networks: CTGAN's residual generator and PacGAN critic, TVAE's encoder and decoder.

Architectures follow Xu et al. (2019): the generator stacks residual layers
``h_{k+1} = [ReLU(BN(FC(h_k))), h_k]`` and ends in one linear layer whose output is
split into spans; the critic packs ``pac`` rows into one input (PacGAN, Lin et al.,
2018) and stacks ``FC -> LeakyReLU(0.2) -> Dropout(0.5)``; TVAE's encoder and
decoder are ReLU MLPs, the decoder with a learned standard deviation per output.

Parameters are initialised with an explicit :class:`torch.Generator` (torch's default
scheme, seeded), and dropout draws its masks from one too, so the same fit seed gives
the same model without touching torch's global random state.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence

import torch
from torch import nn

__all__ = ["FoldedGenerator", "PacCritic", "ResidualGenerator", "SeededDropout", "VAEDecoder",
           "VAEEncoder", "init_parameters", "recalibrate_batchnorm"]


def init_parameters(module: nn.Module, generator: torch.Generator) -> None:
    """Re-initialise every linear layer as torch does by default, drawing from ``generator``."""
    for layer in module.modules():
        if isinstance(layer, nn.Linear):
            nn.init.kaiming_uniform_(layer.weight, a=math.sqrt(5), generator=generator)
            if layer.bias is not None:
                bound = 1.0 / math.sqrt(layer.in_features) if layer.in_features else 0.0
                nn.init.uniform_(layer.bias, -bound, bound, generator=generator)


class SeededDropout(nn.Module):
    """Inverted dropout whose masks come from a given generator (identity in eval mode)."""

    def __init__(self, p: float, generator: torch.Generator | None) -> None:
        super().__init__()
        self.p = p
        self.generator = generator

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Zero each entry with probability ``p`` and rescale the rest, while training."""
        if not self.training or self.p == 0.0:
            return x
        keep = torch.rand(x.shape, generator=self.generator, dtype=x.dtype) >= self.p
        return x * keep / (1.0 - self.p)


class Residual(nn.Module):
    """``[ReLU(BN(FC(x))), x]``: the generator's residual layer."""

    def __init__(self, in_dim: int, out_dim: int) -> None:
        super().__init__()
        self.fc = nn.Linear(in_dim, out_dim)
        self.bn = nn.BatchNorm1d(out_dim)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """The layer's output concatenated before its input."""
        return torch.cat([torch.relu(self.bn(self.fc(x))), x], dim=1)


class ResidualGenerator(nn.Module):
    """CTGAN's generator: residual layers on ``[noise, condition]``, then one linear output."""

    def __init__(self, input_dim: int, dims: Sequence[int], output_dim: int) -> None:
        super().__init__()
        layers = []
        width = input_dim
        for dim in dims:
            layers.append(Residual(width, dim))
            width += dim
        self.body = nn.Sequential(*layers)
        self.head = nn.Linear(width, output_dim)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Raw outputs (activations are applied per span by the caller)."""
        return self.head(self.body(x))

    def residuals(self) -> list[Residual]:
        """The residual layers, in order."""
        return [layer for layer in self.body if isinstance(layer, Residual)]


class PacCritic(nn.Module):
    """The WGAN critic over packs of ``pac`` rows (PacGAN)."""

    def __init__(self, input_dim: int, dims: Sequence[int], *, pac: int,
                 generator: torch.Generator | None) -> None:
        super().__init__()
        self.pac = pac
        self.packed_dim = input_dim * pac
        layers: list[nn.Module] = []
        width = self.packed_dim
        for dim in dims:
            layers += [nn.Linear(width, dim), nn.LeakyReLU(0.2), SeededDropout(0.5, generator)]
            width = dim
        layers.append(nn.Linear(width, 1))
        self.body = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """One score per pack; ``x`` has ``pac * packs`` rows."""
        return self.body(x.reshape(x.shape[0] // self.pac, self.packed_dim))  # also for 0 columns


def recalibrate_batchnorm(module: nn.Module, batches: Iterable[torch.Tensor]) -> None:
    """Set every batch norm's statistics to the exact averages over ``batches``.

    During training the running statistics trail the moving weights; recomputing them
    with the final weights on inputs drawn as at sampling time makes eval-mode outputs
    match what the generator learned. The module is left in eval mode.
    """
    norms = [m for m in module.modules() if isinstance(m, nn.BatchNorm1d)]
    momenta = [m.momentum for m in norms]
    for m in norms:
        m.reset_running_stats()
        m.momentum = None  # cumulative average
    module.train()
    with torch.no_grad():
        for batch in batches:
            module(batch)
    for m, momentum in zip(norms, momenta, strict=True):
        m.momentum = momentum
    module.eval()


class FoldedGenerator(nn.Module):
    """An eval-mode :class:`ResidualGenerator` made fast for sampling.

    Each batch norm is folded into its linear layer, and the one-hot condition's
    contribution to every layer is a column lookup of the weights instead of a
    matrix product (the condition is always the last ``cond_dim`` inputs).
    """

    def __init__(self, trained: ResidualGenerator, *, cond_dim: int) -> None:
        super().__init__()
        self.cond_dim = cond_dim
        self.weights: list[torch.Tensor] = []
        self.cond_weights: list[torch.Tensor] = []
        self.biases: list[torch.Tensor] = []
        with torch.no_grad():
            for layer in trained.residuals():
                fc, bn = layer.fc, layer.bn
                mean, var = bn.running_mean, bn.running_var
                if mean is None or var is None:
                    raise ValueError("the generator's batch norms keep no running statistics")
                scale = bn.weight / torch.sqrt(var + bn.eps)
                self._add(fc.weight * scale[:, None], (fc.bias - mean) * scale + bn.bias)
            self._add(trained.head.weight, trained.head.bias)

    def _add(self, weight: torch.Tensor, bias: torch.Tensor) -> None:
        split = weight.shape[1] - self.cond_dim
        self.weights.append(weight[:, :split].detach().contiguous())
        self.cond_weights.append(weight[:, split:].t().detach().contiguous())
        self.biases.append(bias.detach().clone())

    def forward(self, noise: torch.Tensor, conditions: torch.Tensor | None) -> torch.Tensor:
        """Raw outputs for ``noise`` and each row's condition (global index, or ``None``)."""
        x = noise
        last = len(self.weights) - 1
        for k, (weight, cond, bias) in enumerate(zip(self.weights, self.cond_weights, self.biases,
                                                     strict=True)):
            h = torch.addmm(bias, x, weight.t())
            if conditions is not None and self.cond_dim:
                h += cond[conditions]
            if k == last:
                return h
            x = torch.cat([torch.relu_(h), x], dim=1)
        return x


class VAEEncoder(nn.Module):
    """TVAE's encoder: a ReLU MLP, then the posterior's mean and log-variance."""

    def __init__(self, data_dim: int, dims: Sequence[int], latent_dim: int) -> None:
        super().__init__()
        layers: list[nn.Module] = []
        width = data_dim
        for dim in dims:
            layers += [nn.Linear(width, dim), nn.ReLU()]
            width = dim
        self.body = nn.Sequential(*layers)
        self.mean = nn.Linear(width, latent_dim)
        self.log_var = nn.Linear(width, latent_dim)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """``(mean, log variance)`` of ``q(z | x)``."""
        h = self.body(x)
        return self.mean(h), self.log_var(h)


class VAEDecoder(nn.Module):
    """TVAE's decoder: a ReLU MLP to raw outputs, with a learned std per output column."""

    def __init__(self, latent_dim: int, dims: Sequence[int], data_dim: int) -> None:
        super().__init__()
        layers: list[nn.Module] = []
        width = latent_dim
        for dim in dims:
            layers += [nn.Linear(width, dim), nn.ReLU()]
            width = dim
        self.head = nn.Linear(width, data_dim)
        self.body = nn.Sequential(*layers)
        self.sigma = nn.Parameter(torch.full((data_dim,), 0.1))

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        """Raw outputs (the tanh spans' means before tanh, the softmax spans' logits)."""
        return self.head(self.body(z))
