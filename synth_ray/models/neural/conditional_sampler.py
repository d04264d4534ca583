"""CTGAN's conditional vector and training-by-sampling (Xu et al., 2019, section 4.3).

The conditional vector is the concatenation of one block per discrete column (its
category slots, in :class:`SpanLayout` order); a condition "column i takes slot k"
sets exactly one entry. Everything is vectorised over the batch (no per-row Python):

* :class:`ConditionSpace` draws conditions: a discrete column uniformly at random, then
  one of its slots by a per-column probability table (inverse CDF on a padded
  ``(columns, max width)`` table). Training uses log-frequencies so that rare
  categories are seen; unconditional sampling uses the real frequencies, so that
  ``P(row) = sum_k P(D_i = k) P(row | D_i = k)`` is the real joint distribution.
  Conditional sampling (a fixed column and category, or a target distribution over a
  column) only needs other slot tables or fixed indices: :meth:`ConditionSpace.slot`
  maps (column, slot) to the global index the generator takes.
* :class:`TrainingRowSampler` picks, for each condition, a real row that satisfies it
  (rows grouped by slot once, then ``start[k] + floor(u * count[k])``).

A condition is carried as its global index in the conditional vector (an int64
tensor); :func:`one_hot` builds the vector when a network needs it.
"""

from __future__ import annotations

import itertools

import numpy as np
import torch

__all__ = ["ConditionSpace", "TrainingRowSampler", "one_hot"]


def _padded_cdf(probabilities: list[np.ndarray]) -> torch.Tensor:
    """``(columns, max width)`` cumulative tables; padding is 2 so it is never selected."""
    width = max((p.size for p in probabilities), default=1)
    table = np.full((len(probabilities), width), 2.0)
    for i, p in enumerate(probabilities):
        cdf = np.cumsum(p / p.sum())
        cdf[-1] = 1.0
        table[i, : p.size] = cdf
    return torch.from_numpy(table)


def one_hot(index: torch.Tensor, width: int, *, out: torch.Tensor | None = None) -> torch.Tensor:
    """``(n, width)`` float32 rows with a 1 at ``index`` (written into ``out`` if given)."""
    if out is None:
        out = torch.zeros(index.numel(), width)
    else:
        out.zero_()
    if width:
        out.scatter_(1, index.view(-1, 1), 1.0)
    return out


class ConditionSpace:
    """The conditional vector's blocks and the distributions conditions are drawn from.

    Args:
        frequencies: per discrete column, the real frequency of each of its slots.
        log_frequency: draw training conditions by ``log(1 + count)`` (the paper's
            choice) instead of by frequency. Counts are recovered from ``n_rows``.
        n_rows: rows the frequencies were counted on.
    """

    def __init__(self, frequencies: list[np.ndarray], *, log_frequency: bool = True,
                 n_rows: int = 1) -> None:
        self.frequencies = [np.asarray(f, dtype=np.float64) for f in frequencies]
        widths = [f.size for f in self.frequencies]
        self.widths = torch.tensor(widths, dtype=torch.int64)
        self.offsets = torch.tensor(np.concatenate([[0], np.cumsum(widths)[:-1]]).astype(np.int64)
                                    if widths else np.zeros(0, np.int64))
        self.dim = int(sum(widths))
        counts = [f * n_rows for f in self.frequencies]
        train = [np.log1p(c) if log_frequency else c for c in counts]
        train = [t if t.sum() > 0 else np.ones_like(t) for t in train]
        real = [f if f.sum() > 0 else np.ones_like(f) for f in self.frequencies]
        self._train_cdf = _padded_cdf(train) if train else torch.zeros(0, 1)
        self._real_cdf = _padded_cdf(real) if real else torch.zeros(0, 1)

    @property
    def n_columns(self) -> int:
        """Discrete columns (blocks of the conditional vector)."""
        return len(self.frequencies)

    def slot(self, column: int, slot: int) -> int:
        """The global index of "discrete column ``column`` takes slot ``slot``"."""
        return int(self.offsets[column]) + slot

    def _draw(self, cdf: torch.Tensor, n: int, generator: torch.Generator) -> torch.Tensor:
        columns = torch.randint(self.n_columns, (n,), generator=generator)
        u = torch.rand(n, 1, generator=generator, dtype=torch.float64)
        slots = (cdf[columns] <= u).sum(dim=1)
        slots = torch.minimum(slots, self.widths[columns] - 1)
        return self.offsets[columns] + slots

    def training_conditions(self, n: int, generator: torch.Generator) -> torch.Tensor:
        """``n`` global indices drawn for training (log-frequency by default)."""
        return self._draw(self._train_cdf, n, generator)

    def sampling_conditions(self, n: int, generator: torch.Generator) -> torch.Tensor:
        """``n`` global indices drawn by the real frequencies (unconditional sampling)."""
        return self._draw(self._real_cdf, n, generator)

    def tensors(self) -> dict[str, np.ndarray]:
        """The real frequencies, flat (their split is the discrete spans' widths)."""
        flat = np.concatenate(self.frequencies) if self.frequencies else np.zeros(0)
        return {"conditional/frequencies": flat}

    @classmethod
    def from_flat(cls, flat: np.ndarray, widths: list[int]) -> ConditionSpace:
        """Inverse of :meth:`tensors` given the discrete spans' widths."""
        bounds = np.cumsum([0, *widths])
        return cls([np.asarray(flat[a:b]) for a, b in itertools.pairwise(bounds)])


class TrainingRowSampler:
    """Real rows that satisfy given conditions, or uniform rows without conditions.

    Args:
        slots: ``(n, discrete columns)`` slot of each row in each discrete column.
        space: the condition space the global indices refer to.
    """

    def __init__(self, slots: np.ndarray, space: ConditionSpace) -> None:
        self.n_rows = int(slots.shape[0])
        rows_by_slot = []
        starts = []
        counts = []
        base = 0
        for j in range(space.n_columns):
            column = slots[:, j]
            rows_by_slot.append(np.argsort(column, kind="stable"))
            count = np.bincount(column, minlength=space.frequencies[j].size)
            starts.append(base + np.concatenate([[0], np.cumsum(count)[:-1]]))
            counts.append(count)
            base += self.n_rows
        self._rows = torch.from_numpy(np.concatenate(rows_by_slot).astype(np.int64)
                                      if rows_by_slot else np.zeros(0, np.int64))
        self._starts = torch.from_numpy(np.concatenate(starts).astype(np.int64)
                                        if starts else np.zeros(0, np.int64))
        self._counts = torch.from_numpy(np.concatenate(counts).astype(np.int64)
                                        if counts else np.zeros(0, np.int64))

    def rows(self, conditions: torch.Tensor | None, n: int,
             generator: torch.Generator) -> torch.Tensor:
        """One real row per condition (uniform among matching rows); uniform rows if ``None``."""
        if conditions is None:
            return torch.randint(self.n_rows, (n,), generator=generator)
        u = torch.rand(conditions.numel(), generator=generator, dtype=torch.float64)
        counts = self._counts[conditions]
        # Training conditions are drawn from these rows' own frequencies, so a slot no
        # row holds has probability 0; the clamps only keep a caller's mistake in range.
        pick = torch.minimum((u * counts).to(torch.int64), (counts - 1).clamp(min=0))
        index = (self._starts[conditions] + pick).clamp(max=max(self._rows.numel() - 1, 0))
        return self._rows[index]
