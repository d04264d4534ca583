"""TVAE (Xu et al., "Modeling Tabular Data using Conditional GAN", NeurIPS 2019, section 4.4).

A variational autoencoder over the same network-space encoding as CTGAN. The
decoder's distribution (the paper's ``p_theta(r | z)``) is, per span: a Gaussian
``N(tanh(out), sigma)`` for each normalized value ``alpha`` with a learned ``sigma`` per
column, and a categorical ``softmax(out)`` for each mode, category and null block.
Training minimises ``reconstruction_weight * E_q[-log p(r | z)] + KL(q(z | r) || N(0, I))``
per row (the evidence lower bound, reweighted as an option), with Adam; the decoder's
output biases start at the real log-frequencies of each softmax block
(:func:`~synth_ray.models.neural.span_ops.prior_logits`) and each ``sigma`` is kept in
``[min_sigma, 1]``.

Sampling draws ``z ~ N(0, I)``, decodes, adds ``sigma * N(0, 1)`` to each ``tanh``
value (clipped to ``[-1, 1]``) and draws each block's slot from its softmax, as the
paper's generative model says.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any, Self

import numpy as np
import torch
import torch.nn.functional as F

from synth_ray.models.neural.encoding import NetworkEncoding
from synth_ray.models.neural.generator_base import (
    NeuralGenerator,
    PreparedData,
    load_module_state,
    module_state,
)
from synth_ray.models.neural.networks import VAEDecoder, VAEEncoder, init_parameters
from synth_ray.models.neural.options import TVAEOptions
from synth_ray.models.neural.runtime import torch_generator
from synth_ray.models.neural.span_ops import TorchLayout, dense_rows, prior_logits, sample_spans
from synth_ray.models.neural.training_loop import LoopSettings, run_training
from synth_ray.transforms.model_frame import ModelColumn

__all__ = ["TVAE", "TVAETrainer"]

_DECODER_PREFIX = "network/decoder/"


class TVAETrainer:
    """Encoder, decoder, optimiser and shuffled batches of one TVAE fit (a :class:`Trainable`)."""

    def __init__(self, data: PreparedData, options: TVAEOptions) -> None:
        self.options = options
        self.layout = TorchLayout.from_layout(data.encoding.layout)
        self.scalars, self.indices = data.training_tensors()
        self.n_rows = data.train.n_rows
        self.batch_size = min(options.batch_size, self.n_rows)
        self.rng = torch_generator(data.seeds.train)
        width = self.layout.width
        self.encoder = VAEEncoder(width, options.encoder_dims, options.embedding_dim)
        self.decoder = VAEDecoder(options.embedding_dim, options.decoder_dims, width)
        init = torch_generator(data.seeds.init)
        init_parameters(self.encoder, init)
        init_parameters(self.decoder, init)
        if options.dp is None:  # real frequencies, unnoised: not under a DP fit
            with torch.no_grad():
                self.decoder.head.bias.copy_(prior_logits(self.indices, self.layout))
        params = [*self.encoder.parameters(), *self.decoder.parameters()]
        self.optimizer = torch.optim.Adam(params, lr=options.lr, weight_decay=options.l2, fused=True)
        self._dense = torch.zeros(self.batch_size, width)
        self._order = torch.arange(self.n_rows)
        self._step = 0
        self.score: Callable[[], float] = lambda: 0.0  # set by the model when validating
        # What the gradient steps call: the networks themselves, or their
        # DistributedDataParallel wrappers when several workers train (synth_ray.on_ray).
        self.encoder_forward: torch.nn.Module = self.encoder
        self.decoder_forward: torch.nn.Module = self.decoder

    def start_epoch(self, epoch: int) -> None:
        """A fresh shuffle of the training rows."""
        self._order = torch.randperm(self.n_rows, generator=self.rng)
        self._step = 0

    def _reconstruction(self, raw: torch.Tensor, scalars: torch.Tensor, indices: torch.Tensor,
                        sigmas: torch.Tensor | None = None) -> torch.Tensor:
        """``-log p(r | z)`` summed over the batch (constants dropped).

        ``sigmas`` replaces the decoder's own (a functional call passes its parameters).
        """
        loss = torch.zeros(())
        if self.layout.tanh_positions.numel():
            sigma = (self.decoder.sigma if sigmas is None else sigmas)[self.layout.tanh_positions]
            mean = torch.tanh(raw[:, self.layout.tanh_positions])
            loss = loss + ((scalars - mean) ** 2 / (2 * sigma**2)).sum()
            loss = loss + torch.log(sigma).sum() * raw.shape[0]
        for group in self.layout.groups:
            logits = self.layout.padded(raw, group)
            loss = loss + F.cross_entropy(logits.reshape(-1, group.width),
                                          indices[:, group.spans].reshape(-1), reduction="sum")
        return loss

    def train_step(self) -> dict[str, float]:
        """One step of the reweighted negative ELBO on the next shuffled batch."""
        start = self._step * self.batch_size
        self._step += 1
        rows = self._order[start:start + self.batch_size]
        scalars, indices = self.scalars[rows], self.indices[rows]
        x = dense_rows(scalars, indices, self.layout, self._dense[: rows.numel()])
        mean, log_var = self.encoder_forward(x)
        noise = torch.randn(mean.shape, generator=self.rng)
        z = mean + noise * torch.exp(0.5 * log_var)
        reconstruction = self._reconstruction(self.decoder_forward(z), scalars, indices)
        kl = -0.5 * (1.0 + log_var - mean**2 - log_var.exp()).sum()
        loss = (self.options.reconstruction_weight * reconstruction + kl) / rows.numel()
        self.optimizer.zero_grad(set_to_none=True)
        loss.backward()
        self.optimizer.step()
        with torch.no_grad():
            self.decoder.sigma.clamp_(self.options.min_sigma, 1.0)
        n = rows.numel()
        return {"loss": float(loss.detach()), "reconstruction": float(reconstruction.detach()) / n,
                "kl": float(kl.detach()) / n}

    def validation_score(self) -> float:
        """The model's score as it is now."""
        return float(self.score())

    def privacy_record(self) -> dict[str, object]:
        """``{"privacy": ...}`` for the model's history after a DP fit; empty here."""
        return {}

    def snapshot(self) -> dict[str, torch.Tensor]:
        """A copy of the decoder's weights."""
        return {k: v.detach().clone() for k, v in self.decoder.state_dict().items()}

    def restore(self, snapshot: Mapping[str, torch.Tensor]) -> None:
        """Put back :meth:`snapshot`'s weights."""
        self.decoder.load_state_dict(dict(snapshot))


class TVAE(NeuralGenerator[TVAEOptions]):
    """Tabular variational autoencoder; options in :class:`TVAEOptions`."""

    kind = "tvae"
    options_class = TVAEOptions

    def __init__(self, *, columns: Sequence[ModelColumn], options: TVAEOptions,
                 encoding: NetworkEncoding, history: Mapping[str, Any],
                 decoder: VAEDecoder) -> None:
        super().__init__(columns=columns, options=options, encoding=encoding, history=history)
        self.decoder = decoder.eval()
        self._sigma = decoder.sigma.detach()[self.layout.tanh_positions].clone()

    @classmethod
    def _train(cls, data: PreparedData, options: TVAEOptions) -> Self:
        if options.dp is not None:
            from synth_ray.models.neural.tvae_private import PrivateTVAETrainer

            trainer: TVAETrainer = PrivateTVAETrainer(data, options)
        else:
            trainer = TVAETrainer(data, options)
        validation = data.validation
        if validation is not None:
            trainer.score = lambda: cls(
                columns=data.columns, options=options, encoding=data.encoding, history={},
                decoder=trainer.decoder).validation_score(
                    validation, rows=options.validation_rows, seed=data.seeds.validation)
        settings = LoopSettings(
            epochs=options.epochs, steps_per_epoch=max(1, trainer.n_rows // trainer.batch_size),
            validate=validation is not None, validate_every=options.validation_every,
            patience=options.patience, verbose=options.verbose, description="tvae")
        history = run_training(trainer, settings).to_dict()
        history.update(trainer.privacy_record())
        return cls(columns=data.columns, options=options, encoding=data.encoding,
                   history=history, decoder=trainer.decoder)

    def _generate(self, n: int, generator: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
        """Decode ``z ~ N(0, I)``; jitter the tanh values by sigma; draw each block's slot."""
        with torch.no_grad():
            z = torch.randn(n, self.options.embedding_dim, generator=generator)
            scalars, indices = sample_spans(self.decoder(z), self.layout, generator)
            if scalars.shape[1]:
                jitter = torch.randn(scalars.shape, generator=generator)
                scalars = torch.clamp_(scalars.addcmul_(jitter, self._sigma), -1.0, 1.0)
            return scalars, indices

    def network_tensors(self) -> dict[str, np.ndarray]:
        """The decoder's weights and sigmas (the encoder is not needed to sample)."""
        return module_state(self.decoder, _DECODER_PREFIX)

    @classmethod
    def _from_network(cls, *, columns: Sequence[ModelColumn], options: TVAEOptions,
                      encoding: NetworkEncoding, history: Mapping[str, Any],
                      tensors: Mapping[str, np.ndarray]) -> Self:
        decoder = VAEDecoder(options.embedding_dim, options.decoder_dims, encoding.width)
        load_module_state(decoder, tensors, _DECODER_PREFIX)
        return cls(columns=columns, options=options, encoding=encoding, history=history,
                   decoder=decoder)
