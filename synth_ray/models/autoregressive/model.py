"""ARGN: the autoregressive generator (``model="argn"``).

Fit: tokenize every column (:class:`.TableTokens`), hold out a validation share,
train the :class:`.TokenNetwork` with the shared training loop (early stopping on the
validation negative log-likelihood, best weights kept). Sample: derive a
:class:`torch.Generator` from the chunk's numpy generator, draw tokens in fixed-size
batches (so rows do not depend on how a sample is split into chunks), decode them.
Conditional sampling (``fixed``, ``rebalance``) and ``temperature`` are keyword
arguments of :meth:`ARGN.sample`. Saved as JSON settings plus safetensors arrays.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Self

import numpy as np
import torch

from synth_ray.errors import DataError
from synth_ray.models.autoregressive.conditions import build_conditions, check_temperature
from synth_ray.models.autoregressive.network import TokenNetwork
from synth_ray.models.autoregressive.options import ARGNOptions
from synth_ray.models.autoregressive.sampler import TokenSampler, single_threaded
from synth_ray.models.autoregressive.table_tokens import TableTokens
from synth_ray.models.autoregressive.trainer import TokenTrainer
from synth_ray.models.base import Generator, check_format_version
from synth_ray.models.neural.generator_base import load_module_state, module_state
from synth_ray.models.neural.runtime import fitting_runtime, generator_from_rng, torch_generator
from synth_ray.models.neural.training_loop import LoopSettings, run_training
from synth_ray.transforms.model_frame import ModelColumn, ModelFrame

__all__ = ["ARGN"]

FORMAT_VERSION = 1
# Rows per network pass when sampling: big enough that per-token overhead vanishes,
# small enough that a token's hidden states and logits stay in the core's cache.
SAMPLE_BATCH = 4096
_PREFIX = "network/"


def _seeds(seed: int) -> dict[str, int]:
    names = ("ties", "split", "init", "train")
    children = np.random.SeedSequence(seed).spawn(len(names))
    return {k: int(c.generate_state(1, dtype=np.uint64)[0]) & ((1 << 63) - 1)
            for k, c in zip(names, children, strict=True)}


def _split(n: int, fraction: float, seed: int) -> tuple[np.ndarray, np.ndarray | None]:
    n_validation = round(n * fraction)
    if n_validation < 1 or n - n_validation < 1:
        return np.arange(n), None
    order = np.random.default_rng(seed).permutation(n)
    return np.sort(order[n_validation:]), np.sort(order[:n_validation])


class ARGN(Generator):
    """Autoregressive generator over column tokens; options in :class:`ARGNOptions`."""

    kind = "argn"

    def __init__(self, *, columns: Sequence[ModelColumn], options: ARGNOptions,
                 table: TableTokens, network: TokenNetwork, history: Mapping[str, Any]) -> None:
        super().__init__(columns=columns)
        self.options = options
        self.table = table
        self.network = network.eval()
        self.sampler = TokenSampler(self.network)
        self.history = dict(history)

    @classmethod
    def fit(cls, frame: ModelFrame, *, columns: Sequence[ModelColumn],
            options: Mapping[str, Any], seed: int) -> Self:
        """Tokenize ``frame`` and train the network (early stopping on held-out rows)."""
        opts = ARGNOptions.from_mapping(options, model=cls.kind)
        if frame.n_rows < 1:
            raise DataError("argn needs at least one row to learn from; the table is empty")
        seeds = _seeds(seed)
        table = TableTokens.fit(frame, columns=columns, coarse=opts.coarse_bins,
                                fine=opts.fine_bins, max_values=opts.max_values,
                                max_categories=opts.max_categories, grid=opts.quantile_grid)
        tokens = table.encode(frame, rng=np.random.default_rng(seeds["ties"]))
        train_rows, validation_rows = _split(frame.n_rows, opts.validation_fraction, seeds["split"])
        with fitting_runtime(opts.torch_threads):
            network = TokenNetwork(classes=table.classes, hidden=opts.hidden, layers=opts.layers,
                                   generator=torch_generator(seeds["init"]))
            train = tokens[train_rows]
            network.set_prior(torch.from_numpy(train))
            trainer = TokenTrainer(
                network=network, train=train,
                validation=None if validation_rows is None else tokens[validation_rows],
                column_of=table.column_of, part_of=table.part_of, options=opts,
                seed=seeds["train"])
            settings = LoopSettings(epochs=opts.epochs, steps_per_epoch=trainer.steps_per_epoch,
                                    validate=validation_rows is not None,
                                    patience=opts.patience, verbose=opts.verbose,
                                    description="argn")
            history = run_training(trainer, settings)
        return cls(columns=columns, options=opts, table=table, network=network,
                   history={**history.to_dict(), "batch_size": trainer.batch_size})

    def sample(self, n: int, *, rng: np.random.Generator, fixed: ModelFrame | None = None,
               rebalance: Mapping[str, Any] | None = None,
               temperature: float = 1.0) -> ModelFrame:
        """``n`` rows in model space, drawn only from ``rng``.

        Args:
            n: rows to make.
            rng: the only source of randomness (a chunk's generator).
            fixed: values to keep, ``n`` rows of some learned columns (model space:
                floats, or integer category codes); a null entry means "generate".
            rebalance: per discrete column, a weight per category code to draw it from.
            temperature: divides every logit: below 1 favours likely values, above 1
                spreads out; 1 samples the learned distribution.
        """
        temperature = check_temperature(temperature)
        generator = generator_from_rng(rng)
        conditions = build_conditions(self.table, n, fixed=fixed, rebalance=rebalance, rng=rng)
        parts = []
        with single_threaded(), torch.no_grad():
            for start in range(0, n, SAMPLE_BATCH):
                stop = min(n, start + SAMPLE_BATCH)
                fixed_tokens = known = None
                if conditions is not None:
                    fixed_tokens = torch.from_numpy(conditions.tokens[start:stop])
                    known = torch.from_numpy(conditions.known[start:stop])
                parts.append(self.sampler.sample(stop - start, generator=generator,
                                                 temperature=temperature,
                                                 fixed_tokens=fixed_tokens, known=known).numpy())
        tokens = (np.concatenate(parts) if parts
                  else np.zeros((0, self.table.n_tokens), dtype=np.int64))
        frame = self.table.decode(tokens, rng=rng)
        return frame if conditions is None else conditions.apply(frame)

    def propose(self, n: int, *, rng: np.random.Generator,
                required: Mapping[str, np.ndarray]) -> ModelFrame:
        """Rows that take each row's required code (``-1``: free): they are fixed, not searched for."""
        if not required:
            return self.sample(n, rng=rng)
        codes = {name: np.asarray(values, dtype=np.int64) for name, values in required.items()}
        fixed = ModelFrame(n_rows=n, values={k: np.maximum(v, 0) for k, v in codes.items()},
                           nulls={k: v < 0 for k, v in codes.items()})
        return self.sample(n, rng=rng, fixed=fixed)

    def config(self) -> dict[str, Any]:
        """Options, token codecs and training history."""
        return {"format_version": FORMAT_VERSION, "options": self.options.to_dict(),
                "tokens": self.table.config(), "training": self.history}

    def tensors(self) -> dict[str, np.ndarray]:
        """Quantile tables, values, tail frequencies and the network's weights."""
        return {**self.table.tensors(), **module_state(self.network, _PREFIX)}

    @classmethod
    def from_state(cls, *, columns: Sequence[ModelColumn], config: Mapping[str, Any],
                   tensors: Mapping[str, np.ndarray]) -> Self:
        """Rebuild from :meth:`config` and :meth:`tensors`."""
        check_format_version(config, kind=cls.kind, expected=FORMAT_VERSION)
        options = ARGNOptions.from_mapping(config["options"], model=cls.kind)
        table = TableTokens.from_state(columns=columns, config=config["tokens"], tensors=tensors)
        network = TokenNetwork(classes=table.classes, hidden=options.hidden, layers=options.layers)
        load_module_state(network, tensors, _PREFIX)
        return cls(columns=columns, options=options, table=table, network=network,
                   history=config.get("training", {}))
