"""Per-column codecs from model space to the networks' space, and back.

A codec turns one model-space column into *scalars* (values a ``tanh`` head makes)
and *indices* (the chosen slot of each ``softmax`` block), and describes those
blocks as :class:`OutputSpan` s. Keeping indices rather than one-hot blocks keeps
the encoded table as small as the model-space one (a 1,000-wide one-hot block is
one integer per row); one-hot rows are built per batch (:mod:`.span_ops`).

* Continuous: mode-specific normalization (Xu et al., 2019, section 4.2): ``alpha``
  (tanh) and the mode (softmax), the mode drawn from its posterior when encoding.
* Discrete: one softmax block over the categories. A column with more categories
  than ``max_categories`` keeps its ``max_categories - 1`` most frequent ones and
  groups the rest into one "other" slot; an "other" slot decodes to one of the
  grouped categories drawn by their real frequencies. The cap keeps the networks'
  width (and memory) bounded whatever the cardinality; the config records it.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Mapping
from typing import Any

import numpy as np

from synth_ray.errors import ArtifactError
from synth_ray.transforms.mode_normalization import ModeSpecificNormalizer
from synth_ray.transforms.model_frame import ModelColumn, ModelColumnType
from synth_ray.transforms.output_spans import OutputSpan, SpanActivation

__all__ = ["ColumnCodec", "ContinuousCodec", "DiscreteCodec", "fit_codec"]


class ColumnCodec(ABC):
    """One column's value spans (its null flag is a separate span, see :mod:`.encoding`)."""

    n_scalars: int
    n_indices: int

    @property
    @abstractmethod
    def spans(self) -> list[OutputSpan]:
        """The value's blocks, in order."""

    @abstractmethod
    def encode(self, values: np.ndarray, *,
               rng: np.random.Generator | None) -> tuple[np.ndarray, np.ndarray]:
        """``(scalars (n, n_scalars) float64, indices (n, n_indices) int64)``."""

    @abstractmethod
    def decode(self, scalars: np.ndarray, indices: np.ndarray, *,
               rng: np.random.Generator | None) -> np.ndarray:
        """Model-space values from :meth:`encode`'s layout."""

    @abstractmethod
    def config(self) -> dict[str, Any]:
        """JSON-ready parameters."""

    def tensors(self) -> dict[str, np.ndarray]:
        """Arrays too large for JSON (none by default)."""
        return {}


class ContinuousCodec(ColumnCodec):
    """``[alpha (tanh), mode (softmax)]`` by mode-specific normalization."""

    n_scalars = 1
    n_indices = 1

    def __init__(self, normalizer: ModeSpecificNormalizer) -> None:
        self.normalizer = normalizer

    @classmethod
    def fit(cls, values: np.ndarray, *, max_modes: int, concentration: float,
            seed: int) -> ContinuousCodec:
        """Fit the column's modes (variational Gaussian mixture, unneeded modes pruned).

        ``concentration`` is the Dirichlet prior on the mixture weights: small values
        keep few modes, large ones split a broad mode into several narrower ones of
        similar weight (see :class:`~synth_ray.models.neural.options.NeuralOptions`).
        """
        return cls(ModeSpecificNormalizer.fit(values, seed=seed, max_components=max_modes,
                                              weight_concentration=concentration))

    @property
    def spans(self) -> list[OutputSpan]:
        """``alpha`` then the modes."""
        return self.normalizer.output_spans

    def encode(self, values: np.ndarray, *,
               rng: np.random.Generator | None) -> tuple[np.ndarray, np.ndarray]:
        """``alpha`` and the mode; ``rng`` draws the mode from its posterior (else argmax)."""
        alpha, modes = self.normalizer.encode(values, rng=rng)
        return alpha[:, None], modes[:, None]

    def decode(self, scalars: np.ndarray, indices: np.ndarray, *,
               rng: np.random.Generator | None) -> np.ndarray:
        """``alpha * 4 sigma_k + mu_k``."""
        return self.normalizer.decode(scalars[:, 0], indices[:, 0])

    def config(self) -> dict[str, Any]:
        """The mixture's weights, means and stds."""
        return {"modes": self.normalizer.to_params()}

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> ContinuousCodec:
        """Inverse of :meth:`config`."""
        return cls(ModeSpecificNormalizer.from_params(config["modes"]))


class DiscreteCodec(ColumnCodec):
    """One softmax block over the categories, with the rare tail grouped past a cap."""

    n_scalars = 0
    n_indices = 1

    def __init__(self, *, n_categories: int, kept: np.ndarray | None = None,
                 tail: np.ndarray | None = None, tail_probs: np.ndarray | None = None,
                 grouped_share: float = 0.0) -> None:
        self.n_categories = n_categories
        self.grouped_share = grouped_share
        self.kept = None if kept is None else np.asarray(kept, dtype=np.int64)
        self.tail = None if tail is None else np.asarray(tail, dtype=np.int64)
        self.tail_probs = None if tail_probs is None else np.asarray(tail_probs, dtype=np.float64)
        self._lookup: np.ndarray | None = None
        self._tail_cdf: np.ndarray | None = None
        if self.kept is not None and self.tail is not None and self.tail_probs is not None:
            self._check_capped(self.kept, self.tail, self.tail_probs)
            self._lookup = np.full(n_categories, self.kept.size, dtype=np.int64)
            self._lookup[self.kept] = np.arange(self.kept.size)
            self._tail_cdf = np.cumsum(self.tail_probs)
            self._tail_cdf /= self._tail_cdf[-1]

    def _check_capped(self, kept: np.ndarray, tail: np.ndarray, probs: np.ndarray) -> None:
        codes = np.concatenate([kept, tail])
        if (codes.size != self.n_categories or probs.shape != tail.shape or not tail.size
                or not np.array_equal(np.sort(codes), np.arange(self.n_categories))
                or not np.isfinite(probs).all() or (probs < 0).any() or probs.sum() <= 0):
            raise ArtifactError("a capped discrete column's kept and grouped categories do not "
                                "cover its codes exactly once; refit the model")

    @classmethod
    def fit(cls, codes: np.ndarray, *, n_categories: int, max_categories: int) -> DiscreteCodec:
        """Keep every category, or the ``max_categories - 1`` most frequent plus "other"."""
        if n_categories <= max_categories:
            return cls(n_categories=n_categories)
        counts = np.bincount(codes, minlength=n_categories).astype(np.float64)
        order = np.argsort(-counts, kind="stable")  # ties: lower code (more frequent in the table)
        kept, tail = order[: max_categories - 1], order[max_categories - 1:]
        tail_counts = counts[tail]
        probs = (tail_counts / tail_counts.sum() if tail_counts.sum() > 0
                 else np.full(tail.size, 1.0 / tail.size))
        share = float(tail_counts.sum() / max(counts.sum(), 1.0))
        return cls(n_categories=n_categories, kept=kept, tail=tail, tail_probs=probs,
                   grouped_share=share)

    @property
    def capped(self) -> bool:
        """Whether rare categories share an "other" slot."""
        return self._lookup is not None

    @property
    def width(self) -> int:
        """Slots in the softmax block."""
        return self.n_categories if self.kept is None else self.kept.size + 1

    @property
    def spans(self) -> list[OutputSpan]:
        """One softmax block."""
        return [OutputSpan(self.width, SpanActivation.SOFTMAX)]

    def encode(self, values: np.ndarray, *,
               rng: np.random.Generator | None) -> tuple[np.ndarray, np.ndarray]:
        """The slot of each code (grouped codes share the last slot)."""
        codes = np.asarray(values, dtype=np.int64)
        slots = codes if self._lookup is None else self._lookup[codes]
        return np.zeros((codes.size, 0)), slots[:, None]

    def decode(self, scalars: np.ndarray, indices: np.ndarray, *,
               rng: np.random.Generator | None) -> np.ndarray:
        """Codes of the slots; the "other" slot draws a grouped category with ``rng``.

        Without ``rng`` the "other" slot decodes to the most frequent grouped category.
        """
        slots = np.asarray(indices[:, 0], dtype=np.int64)
        if (self.kept is None or self.tail is None or self.tail_probs is None
                or self._tail_cdf is None):
            return slots.astype(np.int32)
        other = slots == self.kept.size
        codes = self.kept[np.minimum(slots, self.kept.size - 1)]
        n_other = int(other.sum())
        if n_other:
            if rng is None:
                codes[other] = self.tail[int(np.argmax(self.tail_probs))]
            else:
                picks = np.searchsorted(self._tail_cdf, rng.random(n_other), side="right")
                codes[other] = self.tail[np.minimum(picks, self.tail.size - 1)]
        return codes.astype(np.int32)

    def config(self) -> dict[str, Any]:
        """Category counts and, when capped, how many were grouped (and their share of rows)."""
        grouped = 0 if self.tail is None else int(self.tail.size)
        return {"n_categories": self.n_categories, "width": self.width, "grouped": grouped,
                "grouped_row_share": self.grouped_share}

    def tensors(self) -> dict[str, np.ndarray]:
        """Kept and grouped codes with the grouped ones' frequencies (capped columns only)."""
        if self.kept is None or self.tail is None or self.tail_probs is None:
            return {}
        return {"kept": self.kept, "grouped": self.tail, "grouped_probs": self.tail_probs}

    @classmethod
    def from_state(cls, config: Mapping[str, Any],
                   tensors: Mapping[str, np.ndarray]) -> DiscreteCodec:
        """Inverse of :meth:`config` and :meth:`tensors`."""
        n = int(config["n_categories"])
        if int(config["grouped"]) == 0:
            return cls(n_categories=n)
        return cls(n_categories=n, kept=tensors["kept"], tail=tensors["grouped"],
                   tail_probs=tensors["grouped_probs"],
                   grouped_share=float(config.get("grouped_row_share", 0.0)))


def fit_codec(column: ModelColumn, values: np.ndarray, *, max_modes: int, max_categories: int,
              mode_concentration: float, seed: int) -> ColumnCodec:
    """The codec of ``column`` fitted on its (present) model-space ``values``."""
    if column.type is ModelColumnType.DISCRETE:
        return DiscreteCodec.fit(values.astype(np.int64), n_categories=column.n_categories,
                                 max_categories=max_categories)
    return ContinuousCodec.fit(values, max_modes=max_modes, concentration=mode_concentration,
                               seed=seed)
