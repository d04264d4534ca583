"""Per-column shape similarity, defined as SDMetrics' Column Shapes property defines it.

Numerical and datetime columns: ``1 - KS statistic`` between the real and synthetic
non-null values (KSComplement; values rounded to 14 decimals first, as SDMetrics does).
Categorical and boolean columns: ``1 - total variation distance`` between the non-null
category frequencies (TVComplement).

One deliberate difference: when one table has values and the other has none, SDMetrics
returns NaN and leaves the column out of the average; here the column scores 0, because
a generator that drops a whole column (or invents one the real table never fills) has
not reproduced its shape. A column that is all null in both tables is left out (NaN).
"""

from __future__ import annotations

import numpy as np

__all__ = ["ks_complement", "tv_complement"]

_DECIMALS = 14  # sys.float_info.dig - 1, as SDMetrics' KSComplement rounds


def ks_complement(real: np.ndarray, synthetic: np.ndarray) -> float:
    """``1 - sup |F_real - F_synthetic|`` over the non-null (non-NaN) values."""
    r = np.sort(np.round(real[~np.isnan(real)], _DECIMALS))
    s = np.sort(np.round(synthetic[~np.isnan(synthetic)], _DECIMALS))
    if len(r) == 0 or len(s) == 0:
        return float("nan") if len(r) == len(s) else 0.0
    points = np.concatenate([r, s])
    cdf_r = np.searchsorted(r, points, side="right") / len(r)
    cdf_s = np.searchsorted(s, points, side="right") / len(s)
    return float(1.0 - np.max(np.abs(cdf_r - cdf_s)))


def tv_complement(real: np.ndarray, synthetic: np.ndarray) -> float:
    """``1 - 0.5 * sum_c |p_real(c) - p_synthetic(c)|`` over the non-null codes (null = -1)."""
    r, s = real[real >= 0], synthetic[synthetic >= 0]
    if len(r) == 0 or len(s) == 0:
        return float("nan") if len(r) == len(s) else 0.0
    size = int(max(r.max(), s.max())) + 1
    p_real = np.bincount(r, minlength=size) / len(r)
    p_synthetic = np.bincount(s, minlength=size) / len(s)
    return float(1.0 - 0.5 * np.abs(p_real - p_synthetic).sum())
