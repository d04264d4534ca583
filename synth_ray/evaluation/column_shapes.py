"""Per-column shape similarity, defined as SDMetrics' Column Shapes property defines it.

Numerical and datetime columns: ``1 - KS statistic`` between the real and synthetic
non-null values (KSComplement). Categorical and boolean columns: ``1 - total
variation distance`` between the category frequencies (TVComplement).
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

__all__ = ["ks_complement", "tv_complement"]


def ks_complement(real: np.ndarray, synthetic: np.ndarray) -> float:
    """``1 - sup |F_real - F_synthetic|`` over the two samples' values."""
    if len(real) == 0 or len(synthetic) == 0:
        return 1.0 if len(real) == len(synthetic) else 0.0
    r, s = np.sort(real), np.sort(synthetic)
    points = np.concatenate([r, s])
    cdf_r = np.searchsorted(r, points, side="right") / len(r)
    cdf_s = np.searchsorted(s, points, side="right") / len(s)
    return float(1.0 - np.max(np.abs(cdf_r - cdf_s)))


def _frequencies(values: pa.Array) -> dict[object, float]:
    counts = pc.value_counts(values.drop_null())
    total = max(len(values) - values.null_count, 1)
    return {v: c / total for v, c in zip(counts.field("values").to_pylist(),
                                          counts.field("counts").to_pylist(), strict=True)}


def tv_complement(real: pa.Array, synthetic: pa.Array) -> float:
    """``1 - 0.5 * sum |p_real(c) - p_synthetic(c)|`` over the non-null categories."""
    fr, fs = _frequencies(real), _frequencies(synthetic)
    keys = set(fr) | set(fs)
    return float(1.0 - 0.5 * sum(abs(fr.get(k, 0.0) - fs.get(k, 0.0)) for k in keys))
