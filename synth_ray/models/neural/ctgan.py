"""CTGAN (Xu et al., "Modeling Tabular Data using Conditional GAN", NeurIPS 2019).

A conditional GAN over the network-space encoding: continuous columns by
mode-specific normalization, categories one-hot (capped, see :mod:`.column_codecs`),
null flags as 2-way blocks. The generator is residual with batch norm; the critic is
a PacGAN critic trained with the WGAN-GP objective; the generator is conditioned on
one category of one discrete column and trained by sampling (log-frequency), see
:mod:`.ctgan_training` and :mod:`.conditional_sampler`.

After training, batch-norm statistics are recomputed with the final weights on
inputs drawn as at sampling time, then folded into the linear layers; sampling draws
the condition by the real category frequencies, so unconditional samples follow the
real joint distribution. Rows depend only on the numpy generator handed to
:meth:`CTGAN.sample`, so chunked sampling is partition invariant.

Conditional sampling (:meth:`CTGAN.propose`) uses the mechanism the generator was
trained for: each row's conditional vector names its rarest required category, and
that column of the row is set to the category (the network's other outputs follow
the condition); further conditions on the same row are left to the caller's rejection.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Self

import numpy as np
import torch

from synth_ray.errors import ArtifactError
from synth_ray.models.neural.conditional_sampler import ConditionSpace, one_hot
from synth_ray.models.neural.ctgan_training import CTGANTrainer
from synth_ray.models.neural.encoding import NetworkEncoding
from synth_ray.models.neural.generator_base import (
    NeuralGenerator,
    PreparedData,
    load_module_state,
    module_state,
)
from synth_ray.models.neural.networks import (
    FoldedGenerator,
    ResidualGenerator,
    recalibrate_batchnorm,
)
from synth_ray.models.neural.options import CTGANOptions
from synth_ray.models.neural.runtime import torch_generator
from synth_ray.models.neural.span_ops import sample_spans
from synth_ray.models.neural.training_loop import LoopSettings, run_training
from synth_ray.transforms.model_frame import ModelColumn, ModelColumnType, ModelFrame

__all__ = ["CTGAN"]

_CALIBRATION_BATCHES = 8
_CALIBRATION_ROWS = 2048
_GENERATOR_PREFIX = "network/generator/"
_FREQUENCIES = "conditional/frequencies"


def _calibrate(generator: ResidualGenerator, space: ConditionSpace, noise_dim: int,
               seed: int) -> None:
    """Recompute batch-norm statistics on inputs drawn as :meth:`CTGAN.sample` draws them."""
    rng = torch_generator(seed)
    batches = []
    for _ in range(_CALIBRATION_BATCHES):
        noise = torch.randn(_CALIBRATION_ROWS, noise_dim, generator=rng)
        cond = (one_hot(space.sampling_conditions(_CALIBRATION_ROWS, rng), space.dim)
                if space.dim else torch.zeros(_CALIBRATION_ROWS, 0))
        batches.append(torch.cat([noise, cond], dim=1))
    recalibrate_batchnorm(generator, batches)


class CTGAN(NeuralGenerator[CTGANOptions]):
    """Conditional tabular GAN; options in :class:`CTGANOptions`."""

    kind = "ctgan"
    options_class = CTGANOptions

    def __init__(self, *, columns: Sequence[ModelColumn], options: CTGANOptions,
                 encoding: NetworkEncoding, history: Mapping[str, Any],
                 generator: ResidualGenerator, space: ConditionSpace) -> None:
        super().__init__(columns=columns, options=options, encoding=encoding, history=history)
        self.generator = generator.eval()
        self.space = space
        self._folded = FoldedGenerator(generator, cond_dim=space.dim)

    @classmethod
    def _train(cls, data: PreparedData, options: CTGANOptions) -> Self:
        if options.dp is not None:
            from synth_ray.models.neural.ctgan_private import PrivateCTGANTrainer

            trainer: CTGANTrainer = PrivateCTGANTrainer(data, options)
        else:
            trainer = CTGANTrainer(data, options)

        def current() -> CTGAN:
            return cls(columns=data.columns, options=options, encoding=data.encoding, history={},
                       generator=trainer.generator, space=trainer.space)

        validation = data.validation
        if validation is not None:
            trainer.score = lambda: current().validation_score(
                validation, rows=options.validation_rows, seed=data.seeds.validation)
        settings = LoopSettings(
            epochs=options.epochs, steps_per_epoch=max(1, data.train.n_rows // options.batch_size),
            validate=validation is not None, validate_every=options.validation_every,
            patience=options.patience, verbose=options.verbose, description="ctgan")
        history = run_training(trainer, settings).to_dict()
        history.update(trainer.privacy_record())
        return cls.from_trainer(trainer, data, options, history=history)

    @classmethod
    def from_trainer(cls, trainer: CTGANTrainer, data: PreparedData, options: CTGANOptions, *,
                     history: Mapping[str, Any], space: ConditionSpace | None = None) -> Self:
        """The fitted model from a trained :class:`CTGANTrainer` (batch norm recalibrated).

        ``space`` replaces the trainer's condition space for sampling: a distributed fit
        passes the category frequencies of the whole table, not of one worker's shard.
        """
        space = space or trainer.space
        _calibrate(trainer.generator, space, options.embedding_dim, data.seeds.calibration)
        return cls(columns=data.columns, options=options, encoding=data.encoding,
                   history=history, generator=trainer.generator, space=space)

    def generate(self, n: int, generator: torch.Generator,
                 conditions: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor]:
        """``n`` rows in network space: ``(tanh values, drawn slots)``, no grad.

        Args:
            n: rows.
            generator: the only source of randomness.
            conditions: each row's condition as a global index of the conditional
                vector (:meth:`ConditionSpace.slot`); by default drawn by the real
                category frequencies, which samples the joint distribution. This is
                the hook for conditional sampling: fixed or rebalanced conditions go
                here (the caller then sets the conditioned column's slot itself).
        """
        with torch.no_grad():
            noise = torch.randn(n, self.options.embedding_dim, generator=generator)
            if conditions is None and self.space.dim:
                conditions = self.space.sampling_conditions(n, generator)
            elif conditions is not None and bool((conditions < 0).any()):  # -1: free rows
                drawn = self.space.sampling_conditions(n, generator)
                conditions = torch.where(conditions < 0, drawn, conditions)
            raw = self._folded(noise, conditions)
            return sample_spans(raw, self.layout, generator)

    def _generate(self, n: int, generator: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
        return self.generate(n, generator)

    def propose(self, n: int, *, rng: np.random.Generator,
                required: Mapping[str, np.ndarray]) -> ModelFrame:
        """``n`` rows, each generated under the conditional vector of its rarest required category."""
        blocks = {c.name: j for j, c in enumerate(
            c for c in self.columns if c.type is ModelColumnType.DISCRETE)}
        conditioned = [c for c in required if c in blocks]
        if not conditioned or not self.space.dim:
            return self.sample(n, rng=rng)
        codecs = dict(zip((c.name for c in self.columns), self.encoding.codecs, strict=True))
        slots, rarity = [], []
        for column in conditioned:
            codes = required[column]
            slot = codecs[column].encode(np.maximum(codes, 0), rng=None)[1][:, 0]
            frequency = self.space.frequencies[blocks[column]][slot]
            slots.append(self.space.slot(blocks[column], 0) + slot)
            rarity.append(np.where(codes >= 0, frequency, np.inf))
        rarest = np.stack(rarity).argmin(axis=0)
        rows = np.arange(n)
        chosen = np.isfinite(np.stack(rarity)[rarest, rows])
        conditions = torch.from_numpy(np.where(chosen, np.stack(slots)[rarest, rows], -1))
        frame = self._sample_batches(n, rng, lambda start, m, generator: self.generate(
            m, generator, conditions[start:start + m]))
        for k, column in enumerate(conditioned):  # the conditioned column takes its category
            own = chosen & (rarest == k)
            frame.values[column][own] = required[column][own]
            if column in frame.nulls:
                frame.nulls[column][own] = False
        return frame

    def network_tensors(self) -> dict[str, np.ndarray]:
        """The generator's weights and batch-norm statistics, and the category frequencies."""
        return {**module_state(self.generator, _GENERATOR_PREFIX), **self.space.tensors()}

    @classmethod
    def _from_network(cls, *, columns: Sequence[ModelColumn], options: CTGANOptions,
                      encoding: NetworkEncoding, history: Mapping[str, Any],
                      tensors: Mapping[str, np.ndarray]) -> Self:
        widths = [int(w) for w in encoding.layout.softmax_widths[encoding.layout.discrete_spans]]
        flat = np.asarray(tensors.get(_FREQUENCIES, np.zeros(0)), dtype=np.float64)
        if flat.shape != (sum(widths),) or not np.isfinite(flat).all() or (flat < 0).any():
            raise ArtifactError("the CTGAN's category frequencies do not match its encoding; "
                                "refit the model")
        space = ConditionSpace.from_flat(flat, widths)
        generator = ResidualGenerator(options.embedding_dim + space.dim, options.generator_dims,
                                      encoding.width)
        load_module_state(generator, tensors, _GENERATOR_PREFIX)
        return cls(columns=columns, options=options, encoding=encoding, history=history,
                   generator=generator, space=space)
