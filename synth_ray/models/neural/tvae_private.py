"""TVAE trained with DP-SGD: the whole VAE is private, since encoder and decoder both see real rows.

The privacy unit is one training row. Each step Poisson-samples rows
(:class:`~synth_ray.models.neural.private_training.DPTrainingStep`), takes each row's
gradient of its own negative ELBO term (reconstruction and KL, with its own
reparameterisation noise) for every parameter of the encoder and the decoder, the learned
``sigma`` included, and lets opacus clip, noise and apply them. Clamping ``sigma`` after a
step is post-processing. The decoder's output biases start at zero rather than at the real
log-frequencies, and the per-epoch losses are not recorded (both are unnoised functions of
the real rows).
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn
from torch.func import functional_call

from synth_ray.models.neural.generator_base import PreparedData
from synth_ray.models.neural.networks import VAEDecoder, VAEEncoder
from synth_ray.models.neural.options import TVAEOptions
from synth_ray.models.neural.private_training import (
    DPTrainingStep,
    per_example_gradients,
    plan_privacy,
)
from synth_ray.models.neural.span_ops import dense_rows
from synth_ray.models.neural.tvae import TVAETrainer

__all__ = ["PrivateTVAETrainer"]


class _VAE(nn.Module):
    """Encoder and decoder as one module, so one functional call sees every parameter."""

    def __init__(self, encoder: VAEEncoder, decoder: VAEDecoder) -> None:
        super().__init__()
        self.encoder = encoder
        self.decoder = decoder

    def forward(self, x: torch.Tensor, noise: torch.Tensor) -> tuple[torch.Tensor, ...]:
        """``(raw outputs, mean, log variance)`` for rows ``x`` and standard normal ``noise``."""
        mean, log_var = self.encoder(x)
        z = mean + noise * torch.exp(0.5 * log_var)
        return self.decoder(z), mean, log_var


class PrivateTVAETrainer(TVAETrainer):
    """A :class:`TVAETrainer` whose steps are DP-SGD steps over Poisson-sampled rows."""

    def __init__(self, data: PreparedData, options: TVAEOptions) -> None:
        super().__init__(data, options)
        if options.dp is None:
            raise ValueError("PrivateTVAETrainer needs options.dp")
        self.vae = _VAE(self.encoder, self.decoder)
        steps = options.epochs * max(1, self.n_rows // self.batch_size)
        plan = plan_privacy(options.dp, rows=self.n_rows, unit_rows=1, batch_rows=self.batch_size,
                            steps=steps)
        self.private = DPTrainingStep(plan, module=self.vae, optimizer=self.optimizer,
                                      seed=data.seeds.train)

    def start_epoch(self, epoch: int) -> None:
        """Nothing to do: every step draws its own Poisson sample."""

    def _row_loss(self, params: dict[str, torch.Tensor], x: torch.Tensor, scalars: torch.Tensor,
                  indices: torch.Tensor, noise: torch.Tensor) -> torch.Tensor:
        """One row's reweighted negative ELBO (the function each row's gradient is taken of)."""
        raw, mean, log_var = functional_call(self.vae, params, (x[None], noise[None]))
        reconstruction = self._reconstruction(raw, scalars[None], indices[None],
                                              params["decoder.sigma"])
        kl = -0.5 * (1.0 + log_var - mean**2 - log_var.exp()).sum()
        return self.options.reconstruction_weight * reconstruction + kl

    def train_step(self) -> dict[str, float]:
        """One DP-SGD step; no loss is reported (it is an unnoised function of the rows)."""
        rows = self.private.sample_units()
        scalars, indices = self.scalars[rows], self.indices[rows]
        x = dense_rows(scalars, indices, self.layout, torch.zeros(rows.numel(), self.layout.width))
        noise = torch.randn(rows.numel(), self.options.embedding_dim, generator=self.rng)
        grads, _ = per_example_gradients(self.vae, self._row_loss, x, scalars, indices, noise)
        self.private.step(grads)
        with torch.no_grad():
            self.decoder.sigma.clamp_(self.options.min_sigma, 1.0)
        return {}

    def privacy_record(self) -> dict[str, Any]:
        """``{"privacy": ...}``: the budget spent and the settings, for the model's history."""
        return {"privacy": self.private.record()}
