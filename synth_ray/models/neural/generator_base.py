"""What CTGAN and TVAE share: options, data preparation, chunked sampling, saving.

:meth:`NeuralGenerator.fit` parses the options, fits the :class:`NetworkEncoding`,
encodes the rows (drawing each value's mode from its posterior), holds out a
validation share if asked, and hands the rest to the subclass's training.
:meth:`NeuralGenerator.sample` derives a :class:`torch.Generator` from the numpy
generator it is given and makes rows in fixed sub-batches, so a chunk's rows depend
only on that generator and the chunk size: the partition-invariant sampling contract
of :mod:`synth_ray.sampling` holds. Weights are saved as numpy arrays (safetensors),
never pickled.
"""

from __future__ import annotations

import threading
from abc import abstractmethod
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar, Generic, Self, TypeVar, cast

import numpy as np
import torch
from torch import nn

from synth_ray.errors import ArtifactError, DataError
from synth_ray.models.base import Generator, check_format_version
from synth_ray.models.neural.encoding import EncodedTable, NetworkEncoding
from synth_ray.models.neural.options import NeuralOptions
from synth_ray.models.neural.runtime import FitSeeds, fitting_runtime, generator_from_rng
from synth_ray.models.neural.span_ops import TorchLayout
from synth_ray.models.neural.validation import column_shape_score
from synth_ray.transforms.model_frame import ModelColumn, ModelFrame

__all__ = ["SAMPLE_BATCH", "NeuralGenerator", "PreparedData", "load_module_state", "module_state"]

OptionsT = TypeVar("OptionsT", bound=NeuralOptions)

FORMAT_VERSION = 1
# Rows per network pass when sampling: large enough for efficient matrix products,
# small enough that activations stay in cache-friendly tens of megabytes.
SAMPLE_BATCH = 8192
_SKIPPED_BUFFERS = ("num_batches_tracked",)
# Network passes of concurrent chunks take turns: each pass already uses torch's
# intra-op threads, and two passes at once oversubscribe the cores (several times
# slower on a 2-core machine). Decoding and Arrow conversion still overlap.
_NETWORK_LOCK = threading.Lock()


@dataclass(frozen=True)
class PreparedData:
    """A fit's inputs in network space.

    Attributes:
        encoding: the fitted encoding.
        train: the training rows, encoded.
        validation: held-out rows in model space (``None`` without validation).
        columns: the model's columns.
        seeds: the fit's random streams.
    """

    encoding: NetworkEncoding
    train: EncodedTable
    validation: ModelFrame | None
    columns: list[ModelColumn]
    seeds: FitSeeds

    def training_tensors(self) -> tuple[torch.Tensor, torch.Tensor]:
        """The training rows as float32 scalars and int64 indices."""
        return (torch.from_numpy(self.train.scalars.astype(np.float32)),
                torch.from_numpy(self.train.indices.astype(np.int64)))


def _split(n_rows: int, fraction: float, seed: int) -> tuple[np.ndarray, np.ndarray | None]:
    """Training and validation row indices (``None`` when ``fraction`` is 0 or too few rows)."""
    n_validation = round(n_rows * fraction)
    if fraction <= 0 or n_validation < 1 or n_rows - n_validation < 1:
        return np.arange(n_rows), None
    order = np.random.default_rng(seed).permutation(n_rows)
    return np.sort(order[n_validation:]), np.sort(order[:n_validation])


def prepare(frame: ModelFrame, columns: Sequence[ModelColumn], options: NeuralOptions,
            seeds: FitSeeds) -> PreparedData:
    """Fit the encoding, encode the rows and split off the validation rows."""
    encoding = NetworkEncoding.fit(frame, columns=columns, max_modes=options.max_modes,
                                   max_categories=options.max_categories,
                                   mode_concentration=options.mode_concentration,
                                   seed=seeds.encoding)
    encoded = encoding.encode(frame, rng=np.random.default_rng(seeds.modes))
    train_rows, validation_rows = _split(frame.n_rows, options.validation_fraction, seeds.split)
    if validation_rows is None:
        return PreparedData(encoding=encoding, train=encoded, validation=None,
                            columns=list(columns), seeds=seeds)
    train = EncodedTable(scalars=encoded.scalars[train_rows], indices=encoded.indices[train_rows])
    return PreparedData(encoding=encoding, train=train, validation=frame.take(validation_rows),
                        columns=list(columns), seeds=seeds)


def module_state(module: nn.Module, prefix: str) -> dict[str, np.ndarray]:
    """A module's parameters and buffers as numpy arrays keyed ``prefix + name``."""
    return {prefix + k: v.detach().cpu().numpy().copy() for k, v in module.state_dict().items()
            if not k.endswith(_SKIPPED_BUFFERS)}


def load_module_state(module: nn.Module, tensors: Mapping[str, np.ndarray], prefix: str) -> None:
    """Load :func:`module_state` arrays into ``module``; missing or extra keys are refused."""
    expected = {k: v for k, v in module.state_dict().items() if not k.endswith(_SKIPPED_BUFFERS)}
    given = {k.removeprefix(prefix): v for k, v in tensors.items() if k.startswith(prefix)}
    if set(given) != set(expected):
        missing, extra = sorted(set(expected) - set(given)), sorted(set(given) - set(expected))
        raise ArtifactError(f"the saved network does not match its config (missing {missing[:5]}, "
                            f"unexpected {extra[:5]}); refit the model")
    state: dict[str, torch.Tensor] = {}
    for key, value in expected.items():
        array = np.asarray(given[key])
        if tuple(array.shape) != tuple(value.shape):
            raise ArtifactError(f"the saved network's {key!r} has shape {array.shape}, expected "
                                f"{tuple(value.shape)}; refit the model")
        state[key] = torch.from_numpy(array.astype(np.float32, copy=True))
    module.load_state_dict(state, strict=False)


class NeuralGenerator(Generator, Generic[OptionsT]):
    """A generator whose rows come from a network over a :class:`NetworkEncoding`."""

    options_class: ClassVar[type[NeuralOptions]]

    def __init__(self, *, columns: Sequence[ModelColumn], options: OptionsT,
                 encoding: NetworkEncoding, history: Mapping[str, Any]) -> None:
        super().__init__(columns=columns)
        self.options = options
        self.encoding = encoding
        self.history = dict(history)
        self.layout = TorchLayout.from_layout(encoding.layout)

    @property
    def privacy(self) -> dict[str, Any] | None:
        """The record of a differentially private fit (budget spent, settings), else ``None``."""
        record = self.history.get("privacy")
        return dict(record) if isinstance(record, Mapping) else None

    @classmethod
    def fit(cls, frame: ModelFrame, *, columns: Sequence[ModelColumn],
            options: Mapping[str, Any], seed: int) -> Self:
        """Encode ``frame`` and train (see the subclass for the objective)."""
        opts = cls._parse_options(options)
        if frame.n_rows < 1:
            raise DataError(f"{cls.kind} needs at least one row to learn from; the table is empty")
        seeds = FitSeeds.from_seed(seed)
        with fitting_runtime(opts.torch_threads):
            data = prepare(frame, columns, opts, seeds)
            return cls._train(data, opts)

    @classmethod
    def _parse_options(cls, options: Mapping[str, Any]) -> OptionsT:
        """The options as this model's dataclass (unknown keys refused by name)."""
        return cast(OptionsT, cls.options_class.from_mapping(options, model=cls.kind))

    @classmethod
    @abstractmethod
    def _train(cls, data: PreparedData, options: OptionsT) -> Self:
        """Train on ``data`` and return the fitted model."""

    @abstractmethod
    def _generate(self, n: int, generator: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
        """``n`` rows in network space: ``(tanh values, drawn slots)``."""

    def sample(self, n: int, *, rng: np.random.Generator) -> ModelFrame:
        """``n`` rows in model space, drawn only from ``rng``."""
        return self._sample_batches(n, rng, lambda start, m, generator: self._generate(m, generator))

    def _sample_batches(self, n: int, rng: np.random.Generator,
                        batch: Callable[[int, int, torch.Generator],
                                        tuple[torch.Tensor, torch.Tensor]]) -> ModelFrame:
        """``n`` decoded rows; ``batch(start, rows, generator)`` makes each network batch."""
        generator = generator_from_rng(rng)
        scalars, indices = [], []
        with _NETWORK_LOCK, torch.no_grad():
            for start in range(0, n, SAMPLE_BATCH):
                s, i = batch(start, min(SAMPLE_BATCH, n - start), generator)
                scalars.append(s.numpy())
                indices.append(i.numpy())
        layout = self.encoding.layout
        encoded = EncodedTable(
            scalars=(np.concatenate(scalars).astype(np.float64) if scalars
                     else np.zeros((0, layout.tanh_positions.size))),
            indices=np.concatenate(indices) if indices else np.zeros((0, layout.softmax_offsets.size),
                                                                     dtype=np.int64))
        return self.encoding.decode(encoded, rng=rng)

    def validation_score(self, validation: ModelFrame, *, rows: int, seed: int) -> float:
        """Column-shape similarity of ``rows`` generated rows to ``validation``."""
        synthetic = self.sample(min(rows, validation.n_rows), rng=np.random.default_rng(seed))
        return column_shape_score(validation, synthetic, self.columns)

    @abstractmethod
    def network_tensors(self) -> dict[str, np.ndarray]:
        """The weights sampling needs, as numpy arrays."""

    def config(self) -> dict[str, Any]:
        """Options, encoding parameters (with category caps) and the training history."""
        return {"format_version": FORMAT_VERSION, "options": self.options.to_dict(),
                "encoding": self.encoding.config(), "training": self.history}

    def tensors(self) -> dict[str, np.ndarray]:
        """Encoding arrays and network weights."""
        return {**self.encoding.tensors(), **self.network_tensors()}

    @classmethod
    def from_state(cls, *, columns: Sequence[ModelColumn], config: Mapping[str, Any],
                   tensors: Mapping[str, np.ndarray]) -> Self:
        """Rebuild from :meth:`config` and :meth:`tensors`."""
        check_format_version(config, kind=cls.kind, expected=FORMAT_VERSION)
        options = cls._parse_options(config["options"])
        encoding = NetworkEncoding.from_state(columns=columns, config=config["encoding"],
                                              tensors=tensors)
        return cls._from_network(columns=columns, options=options, encoding=encoding,
                                 history=config.get("training", {}), tensors=tensors)

    @classmethod
    @abstractmethod
    def _from_network(cls, *, columns: Sequence[ModelColumn], options: OptionsT,
                      encoding: NetworkEncoding, history: Mapping[str, Any],
                      tensors: Mapping[str, np.ndarray]) -> Self:
        """Build the networks and load their weights."""
