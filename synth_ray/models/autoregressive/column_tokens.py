"""Columns as discrete tokens, and back: what the autoregressive network predicts.

Three codecs, one per kind of column:

* :class:`QuantileTokens` (continuous columns with many distinct values): the value's
  probability integral transform ``u`` (its position in the column's empirical CDF,
  tabulated on a grid of quantiles) becomes a **coarse** token (which of ``coarse``
  equal-mass bins) and a **fine** token (which of ``fine`` equal-mass sub-bins of it).
  Decoding draws ``u`` uniformly within the fine cell and maps it through the
  tabulated quantile function, so the within-bin distribution is the column's own
  (not uniform in value space): a continuous marginal is reproduced up to a
  ``1 / (coarse * fine)`` quantile cell, point masses (ties) stay point masses.
* :class:`ValueTokens` (continuous columns with few distinct values: years, counts):
  one class per value, exact.
* :class:`CategoryTokens` (discrete columns): one class per category; beyond
  ``max_categories`` the rarest share one class and are drawn back by frequency.

A nullable column's first token has one more class, "null"; its fine token is 0 then.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Mapping
from typing import Any

import numpy as np
from scipy import special

from synth_ray.errors import ArtifactError

__all__ = ["CategoryTokens", "ColumnTokens", "QuantileTokens", "ValueTokens", "quantile_levels"]

_TAIL_Z = 6.0


def quantile_levels(grid: int) -> np.ndarray:
    """``grid + 1`` CDF levels from 0 to 1, dense in the tails: ``Phi`` of an even grid in z.

    An even grid in ``u`` would tabulate the last ``1 / grid`` of a long tail by one
    straight segment; spacing the levels like normal scores keeps extreme values (the
    column's real range) reproduced as often as they occur.
    """
    levels = special.ndtr(np.linspace(-_TAIL_Z, _TAIL_Z, grid + 1))
    levels[0], levels[-1] = 0.0, 1.0
    return levels


class ColumnTokens(ABC):
    """Encoding of one model column as ``len(classes)`` tokens."""

    kind: str

    def __init__(self, *, name: str, nullable: bool) -> None:
        self.name = name
        self.nullable = nullable

    @property
    @abstractmethod
    def value_classes(self) -> tuple[int, ...]:
        """Classes of each token, nulls not counted."""

    @property
    def classes(self) -> tuple[int, ...]:
        """Classes of each token; the first has a "null" class last when nullable."""
        first, *rest = self.value_classes
        return (first + int(self.nullable), *rest)

    @property
    def null_class(self) -> int:
        """The first token's class that means null (only meaningful when nullable)."""
        return self.value_classes[0]

    @abstractmethod
    def _encode_values(self, values: np.ndarray, rng: np.random.Generator | None) -> np.ndarray:
        """Non-null values as ``(n, tokens)`` int64 classes."""

    @abstractmethod
    def _decode_values(self, tokens: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        """Classes of non-null rows back to values."""

    def encode(self, values: np.ndarray, nulls: np.ndarray | None, *,
               rng: np.random.Generator | None = None) -> np.ndarray:
        """``(n, tokens)`` classes; ``rng`` breaks ties at random (midpoints without it)."""
        tokens = self._encode_values(values, rng)
        if self.nullable and nulls is not None and nulls.any():
            tokens[nulls] = 0
            tokens[nulls, 0] = self.null_class
        return tokens

    def decode(self, tokens: np.ndarray, *, rng: np.random.Generator
               ) -> tuple[np.ndarray, np.ndarray | None]:
        """Values and null mask (``None`` when not nullable) of ``(n, tokens)`` classes."""
        if not self.nullable:
            return self._decode_values(tokens, rng), None
        nulls = tokens[:, 0] == self.null_class
        safe = tokens.copy()
        safe[nulls] = 0
        return self._decode_values(safe, rng), nulls

    def config(self) -> dict[str, Any]:
        """JSON-ready settings (small)."""
        return {"kind": self.kind, "name": self.name, "nullable": self.nullable,
                **self._settings()}

    def _settings(self) -> dict[str, Any]:
        return {}

    def tensors(self, prefix: str) -> dict[str, np.ndarray]:
        """Learned arrays, keyed ``prefix + name``."""
        return {}


class QuantileTokens(ColumnTokens):
    """Coarse and fine equal-mass bins of the column's empirical CDF."""

    kind = "quantile"

    def __init__(self, *, name: str, nullable: bool, table: np.ndarray, coarse: int,
                 fine: int) -> None:
        super().__init__(name=name, nullable=nullable)
        self.table = np.asarray(table, dtype=np.float64)
        if self.table.ndim != 1 or self.table.size < 3 or np.any(np.diff(self.table) < 0):
            raise ArtifactError(f"column {name!r}: the quantile table must be non-decreasing with "
                                "at least 3 points; refit the model")
        self.coarse, self.fine = int(coarse), int(fine)
        self.levels = quantile_levels(self.table.size - 1)

    @classmethod
    def fit(cls, values: np.ndarray, *, name: str, nullable: bool, coarse: int, fine: int,
            grid: int) -> QuantileTokens:
        """Tabulate the quantile function of ``values`` at :func:`quantile_levels`."""
        table = (np.quantile(values, quantile_levels(grid)) if values.size else np.zeros(grid + 1))
        return cls(name=name, nullable=nullable, table=np.maximum.accumulate(table),
                   coarse=coarse, fine=fine)

    @property
    def value_classes(self) -> tuple[int, ...]:
        """Coarse then fine."""
        return (self.coarse, self.fine)

    def uniform(self, values: np.ndarray, rng: np.random.Generator | None) -> np.ndarray:
        """The tabulated CDF at ``values``: linear between grid points, random on plateaus."""
        table, levels = self.table, self.levels
        lo = np.searchsorted(table, values, side="left")
        hi = np.searchsorted(table, values, side="right")
        r = rng.random(values.size) if rng is not None else np.full(values.size, 0.5)
        left = np.clip(hi - 1, 0, table.size - 2)
        width = table[left + 1] - table[left]
        with np.errstate(divide="ignore", invalid="ignore"):
            inside = np.clip(np.where(width > 0, (values - table[left]) / width, r), 0.0, 1.0)
        u = levels[left] + inside * (levels[left + 1] - levels[left])
        plateau = hi - lo >= 2
        if plateau.any():
            first, last = levels[np.minimum(lo, table.size - 1)], levels[np.maximum(hi - 1, 0)]
            u = np.where(plateau, first + r * (last - first), u)
        return np.clip(u, 0.0, 1.0)

    def _encode_values(self, values: np.ndarray, rng: np.random.Generator | None) -> np.ndarray:
        cells = np.minimum((self.uniform(values, rng) * (self.coarse * self.fine)).astype(np.int64),
                           self.coarse * self.fine - 1)
        return np.stack([cells // self.fine, cells % self.fine], axis=1)

    def _decode_values(self, tokens: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        cells = tokens[:, 0] * self.fine + tokens[:, 1]
        u = (cells + rng.random(cells.size)) / (self.coarse * self.fine)
        return np.interp(u, self.levels, self.table)

    def _settings(self) -> dict[str, Any]:
        return {"coarse": self.coarse, "fine": self.fine}

    def tensors(self, prefix: str) -> dict[str, np.ndarray]:
        """The tabulated quantile function."""
        return {prefix + "quantiles": self.table}


class ValueTokens(ColumnTokens):
    """One class per distinct value (columns with few of them)."""

    kind = "values"

    def __init__(self, *, name: str, nullable: bool, values: np.ndarray) -> None:
        super().__init__(name=name, nullable=nullable)
        self.values = np.asarray(values, dtype=np.float64)
        if self.values.ndim != 1 or self.values.size < 1:
            raise ArtifactError(f"column {name!r}: no values saved; refit the model")

    @property
    def value_classes(self) -> tuple[int, ...]:
        """One token."""
        return (self.values.size,)

    def _encode_values(self, values: np.ndarray, rng: np.random.Generator | None) -> np.ndarray:
        """The nearest known value's class (exact for values seen while fitting)."""
        right = np.clip(np.searchsorted(self.values, values), 1, max(self.values.size - 1, 1))
        left = right - 1
        nearer_right = np.abs(self.values[np.minimum(right, self.values.size - 1)] - values) < \
            np.abs(values - self.values[left])
        return np.where(nearer_right, np.minimum(right, self.values.size - 1), left)[:, None]

    def _decode_values(self, tokens: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        return self.values[tokens[:, 0]]

    def tensors(self, prefix: str) -> dict[str, np.ndarray]:
        """The distinct values."""
        return {prefix + "values": self.values}


class CategoryTokens(ColumnTokens):
    """One class per category; past ``kept``, one shared class drawn back by frequency."""

    kind = "category"

    def __init__(self, *, name: str, nullable: bool, n_categories: int, kept: int,
                 tail_probs: np.ndarray) -> None:
        super().__init__(name=name, nullable=nullable)
        self.n_categories, self.kept = int(n_categories), int(kept)
        self.tail_cdf = np.cumsum(np.asarray(tail_probs, dtype=np.float64))
        if self.tail_cdf.size != self.n_categories - self.kept:
            raise ArtifactError(f"column {name!r}: saved category frequencies do not match its "
                                f"{self.n_categories} categories; refit the model")

    @classmethod
    def fit(cls, codes: np.ndarray, *, name: str, nullable: bool, n_categories: int,
            max_categories: int) -> CategoryTokens:
        """Keep the ``max_categories - 1`` most frequent codes (codes are by frequency)."""
        kept = n_categories if n_categories <= max_categories else max_categories - 1
        counts = np.bincount(codes, minlength=n_categories)[kept:].astype(np.float64)
        probs = counts / counts.sum() if counts.sum() > 0 else np.full(counts.size, 1 / max(counts.size, 1))
        return cls(name=name, nullable=nullable, n_categories=n_categories, kept=kept,
                   tail_probs=probs)

    @property
    def value_classes(self) -> tuple[int, ...]:
        """One token; the grouped tail is one more class."""
        return (max(self.kept + int(self.kept < self.n_categories), 1),)

    def _encode_values(self, values: np.ndarray, rng: np.random.Generator | None) -> np.ndarray:
        return np.minimum(values.astype(np.int64), self.kept)[:, None]

    def _decode_values(self, tokens: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        codes = tokens[:, 0].astype(np.int64)
        tail = codes >= self.kept
        if tail.any() and self.tail_cdf.size:
            draws = np.searchsorted(self.tail_cdf, rng.random(int(tail.sum())) * self.tail_cdf[-1],
                                    side="right")
            codes[tail] = self.kept + np.minimum(draws, self.tail_cdf.size - 1)
        return codes.astype(np.int32)

    def _settings(self) -> dict[str, Any]:
        return {"n_categories": self.n_categories, "kept": self.kept}

    def tensors(self, prefix: str) -> dict[str, np.ndarray]:
        """Frequencies of the grouped tail (empty when nothing is grouped)."""
        return {prefix + "tail_probs": np.diff(self.tail_cdf, prepend=0.0)}


def tokens_from_state(config: Mapping[str, Any], tensors: Mapping[str, np.ndarray],
                      prefix: str) -> ColumnTokens:
    """Rebuild a codec from its :meth:`~ColumnTokens.config` and tensors."""
    kind, name, nullable = config.get("kind"), str(config["name"]), bool(config["nullable"])
    try:
        if kind == QuantileTokens.kind:
            return QuantileTokens(name=name, nullable=nullable, table=tensors[prefix + "quantiles"],
                                  coarse=int(config["coarse"]), fine=int(config["fine"]))
        if kind == ValueTokens.kind:
            return ValueTokens(name=name, nullable=nullable, values=tensors[prefix + "values"])
        if kind == CategoryTokens.kind:
            return CategoryTokens(name=name, nullable=nullable,
                                  n_categories=int(config["n_categories"]),
                                  kept=int(config["kept"]), tail_probs=tensors[prefix + "tail_probs"])
    except KeyError as missing:
        raise ArtifactError(f"column {name!r}: the model lacks {missing}; refit the model") from None
    raise ArtifactError(f"column {name!r}: unknown token codec {kind!r}; refit the model")
