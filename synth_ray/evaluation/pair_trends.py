"""Column-pair trend similarity, defined as SDMetrics' Column Pair Trends property defines it.

Two numerical/datetime columns: ``1 - |corr_real - corr_synthetic| / 2`` (Pearson).
Any other pair: ``1 - total variation distance`` between the joint frequencies, with
numerical columns first cut into 10 equal-width bins of the real column's range.
"""

from __future__ import annotations

import numpy as np

__all__ = ["contingency_similarity", "correlation_similarity", "discretize"]

_BINS = 10


def correlation_similarity(real: tuple[np.ndarray, np.ndarray],
                           synthetic: tuple[np.ndarray, np.ndarray]) -> float:
    """Similarity of the Pearson correlations of a pair (rows with a null are dropped)."""
    def corr(a: np.ndarray, b: np.ndarray) -> float:
        keep = ~(np.isnan(a) | np.isnan(b))
        if keep.sum() < 2 or a[keep].std() == 0 or b[keep].std() == 0:
            return 0.0
        return float(np.corrcoef(a[keep], b[keep])[0, 1])

    return 1.0 - abs(corr(*real) - corr(*synthetic)) / 2.0


def discretize(real: np.ndarray, synthetic: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Bin codes of both columns on equal-width bins of the real column (nulls: code -1)."""
    finite = real[~np.isnan(real)]
    if len(finite) == 0:
        return np.full(len(real), -1), np.full(len(synthetic), -1)
    edges = np.histogram_bin_edges(finite, bins=_BINS)

    def codes(x: np.ndarray) -> np.ndarray:
        c = np.clip(np.searchsorted(edges, x, side="right") - 1, 0, _BINS - 1)
        return np.where(np.isnan(x), -1, c)

    return codes(real), codes(synthetic)


def contingency_similarity(real: tuple[np.ndarray, np.ndarray],
                           synthetic: tuple[np.ndarray, np.ndarray]) -> float:
    """``1 - TVD`` of the joint distributions of two integer-coded columns."""
    width = int(max(real[1].max(initial=0), synthetic[1].max(initial=0))) + 2
    kr = (real[0].astype(np.int64) + 1) * width + (real[1].astype(np.int64) + 1)
    ks = (synthetic[0].astype(np.int64) + 1) * width + (synthetic[1].astype(np.int64) + 1)
    _, inverse = np.unique(np.concatenate([kr, ks]), return_inverse=True)
    size = int(inverse.max(initial=0)) + 1
    pr = np.bincount(inverse[: len(kr)], minlength=size) / max(len(kr), 1)
    ps = np.bincount(inverse[len(kr):], minlength=size) / max(len(ks), 1)
    return float(1.0 - 0.5 * np.abs(pr - ps).sum())
