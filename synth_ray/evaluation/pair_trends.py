"""Column-pair trend similarity, defined as SDMetrics 0.32's Column Pair Trends property.

* Two continuous (numerical or datetime) columns: CorrelationSimilarity,
  ``1 - |r_real - r_synthetic| / 2`` with Pearson's r over the rows where both are non-null.
* Any other pair: ContingencySimilarity, ``1 - TVD`` of the two tables' joint frequencies.
  A continuous column is first cut into 10 equal-width bins of *each table's own* range
  (``numpy.histogram_bin_edges`` then ``numpy.digitize``, so a column's maximum gets a bin
  of its own), exactly as SDMetrics' QualityReport discretizes real and synthetic data
  separately: the pair score measures the dependence, the shape score the marginals.
* Only pairs with a trend in the real data count towards the property's average
  (SDMetrics' ``DEFAULT_REAL_CORRELATION_THRESHOLD = 0.5`` and
  ``DEFAULT_REAL_ASSOCIATION_THRESHOLD = 0.3``): continuous pairs with ``|r_real| > 0.5``
  and other pairs whose real Cramér's V (no bias correction, over the real joint table,
  which needs at least two rows and two columns) is ``> 0.3``. Every pair is still scored,
  for the heatmap and the details, with ``counted=False``.

Deliberate differences, both only visible with nulls or degenerate synthetic data: nulls
of a binned column get a bin of their own (SDMetrics' ``digitize`` puts them in the
maximum's bin); and when the real pair has a correlation but the synthetic one has none
(a constant or empty synthetic column), the synthetic correlation counts as 0, where
SDMetrics drops the pair from the average.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass

import numpy as np

__all__ = [
    "REAL_ASSOCIATION_THRESHOLD",
    "REAL_CORRELATION_THRESHOLD",
    "PairTrend",
    "bin_codes",
    "contingency_similarity",
    "correlation_similarity",
    "cramers_v",
    "pearson",
    "select_pairs",
]

REAL_CORRELATION_THRESHOLD = 0.5
REAL_ASSOCIATION_THRESHOLD = 0.3
_BINS = 10
_DENSE_CELLS = 1 << 16  # joint tables up to 65,536 cells are counted densely (bincount)


@dataclass(frozen=True)
class PairTrend:
    """The trend similarity of one column pair.

    Attributes:
        first: first column.
        second: second column.
        metric: ``correlation`` (Pearson) or ``contingency`` (joint frequencies).
        score: similarity in [0, 1] (NaN when the real pair has no measurable trend).
        real: Pearson's r (correlation) or Cramér's V (contingency) of the real sample.
        synthetic: the same statistic on the synthetic sample.
        counted: whether the pair has a real trend, so counts towards Column Pair Trends.
    """

    first: str
    second: str
    metric: str
    score: float
    real: float
    synthetic: float
    counted: bool


def pearson(a: np.ndarray, b: np.ndarray) -> float:
    """Pearson's r over the rows where both are non-null (NaN if constant or < 2 rows)."""
    keep = ~(np.isnan(a) | np.isnan(b))
    x, y = a[keep], b[keep]
    if len(x) < 2:
        return float("nan")
    x, y = x - x.mean(), y - y.mean()
    denominator = np.sqrt((x * x).sum() * (y * y).sum())
    return float((x * y).sum() / denominator) if denominator > 0 else float("nan")


def correlation_similarity(real: float, synthetic: float) -> float:
    """``1 - |r_real - r_synthetic| / 2``; an undefined synthetic r counts as 0."""
    if np.isnan(real):
        return float("nan")
    return 1.0 - abs(real - (0.0 if np.isnan(synthetic) else synthetic)) / 2.0


def bin_codes(values: np.ndarray) -> np.ndarray:
    """SDMetrics' discretization: 10 equal-width bins of the values' own range; null -> -1."""
    present = ~np.isnan(values)
    edges = np.histogram_bin_edges(values[present], bins=_BINS)
    return np.where(present, np.digitize(np.where(present, values, 0.0), edges), -1)


def _joint(a: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Row index, column index and count of each non-empty cell of the joint table.

    Codes are shifted by one so that null (-1) is a category of its own. Small tables are
    counted densely (``bincount``), large ones by sorting (``unique``).
    """
    width, height = _width(b), _width(a)
    keys = (a.astype(np.int64) + 1) * width + (b.astype(np.int64) + 1)
    if width * height <= _DENSE_CELLS:
        dense = np.bincount(keys, minlength=width * height)
        keys = np.flatnonzero(dense)
        counts = dense[keys]
    else:
        keys, counts = np.unique(keys, return_counts=True)
    return keys // width, keys % width, counts


def _width(*columns: np.ndarray) -> int:
    return int(max(int(c.max(initial=-1)) for c in columns)) + 2


def contingency_similarity(real: tuple[np.ndarray, np.ndarray],
                           synthetic: tuple[np.ndarray, np.ndarray]) -> float:
    """``1 - TVD`` of the joint distributions of two pairs of integer code columns."""
    if len(real[0]) == 0 or len(synthetic[0]) == 0:
        return float("nan")
    width = _width(real[1], synthetic[1])
    height = _width(real[0], synthetic[0])
    key_r = (real[0].astype(np.int64) + 1) * width + (real[1].astype(np.int64) + 1)
    key_s = (synthetic[0].astype(np.int64) + 1) * width + (synthetic[1].astype(np.int64) + 1)
    if width * height <= _DENSE_CELLS:
        p_r = np.bincount(key_r, minlength=width * height) / len(key_r)
        p_s = np.bincount(key_s, minlength=width * height) / len(key_s)
    else:
        _, inverse = np.unique(np.concatenate([key_r, key_s]), return_inverse=True)
        size = int(inverse.max()) + 1
        p_r = np.bincount(inverse[: len(key_r)], minlength=size) / len(key_r)
        p_s = np.bincount(inverse[len(key_r):], minlength=size) / len(key_s)
    return float(1.0 - 0.5 * np.abs(p_r - p_s).sum())


def cramers_v(a: np.ndarray, b: np.ndarray) -> float:
    """Cramér's V of two code columns (nulls as a category), without bias correction.

    ``sqrt(chi2 / (n * (min(rows, cols) - 1)))`` over the observed joint table, as
    ``scipy.stats.contingency.association(method="cramer")`` computes it; NaN when the
    table has fewer than two rows or columns. Computed from the non-empty cells only
    (``chi2 = n * (sum O^2 / (row * col) - 1)``), so a 10,000-category column costs no
    10,000-wide table.
    """
    n = len(a)
    if n == 0:
        return float("nan")
    rows, cols, counts = _joint(a, b)
    row_totals = np.bincount(rows, weights=counts)
    col_totals = np.bincount(cols, weights=counts)
    k = min(int((row_totals > 0).sum()), int((col_totals > 0).sum()))
    if k < 2:
        return float("nan")
    chi2 = n * (float((counts * counts / (row_totals[rows] * col_totals[cols])).sum()) - 1.0)
    return float(np.sqrt(max(chi2, 0.0) / (n * (k - 1))))


def select_pairs(names: list[str], *, max_pairs: int,
                 rng: np.random.Generator) -> list[tuple[str, str]]:
    """Every pair of ``names``, or a seeded uniform sample of ``max_pairs`` of them."""
    pairs = list(itertools.combinations(names, 2))
    if len(pairs) <= max_pairs:
        return pairs
    chosen = np.sort(rng.choice(len(pairs), size=max_pairs, replace=False))
    return [pairs[i] for i in chosen]
