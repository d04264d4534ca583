"""The validation score early stopping watches: column shapes in model space.

A GAN's losses say little about sample quality, so both models are scored the same
way: generated rows against held-out real rows, column by column, as SDMetrics'
Column Shapes property does (``1 - KS statistic`` for continuous values, ``1 - total
variation distance`` for categories), plus ``1 - |difference of null rates|`` for each
nullable column. It is cheap (no pairwise terms) and needs no real-space decoding.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from synth_ray.transforms.model_frame import ModelColumn, ModelColumnType, ModelFrame

__all__ = ["column_shape_score"]


def _ks_complement(real: np.ndarray, synthetic: np.ndarray) -> float:
    """``1 - sup |F_real - F_synthetic|``; 1 when both are empty, 0 when only one is."""
    if real.size == 0 or synthetic.size == 0:
        return 1.0 if real.size == synthetic.size else 0.0
    r, s = np.sort(real), np.sort(synthetic)
    points = np.concatenate([r, s])
    gap = (np.searchsorted(r, points, side="right") / r.size
           - np.searchsorted(s, points, side="right") / s.size)
    return float(1.0 - np.abs(gap).max())


def _tv_complement(real: np.ndarray, synthetic: np.ndarray, n_categories: int) -> float:
    p = np.bincount(real, minlength=n_categories) / max(real.size, 1)
    q = np.bincount(synthetic, minlength=n_categories) / max(synthetic.size, 1)
    return float(1.0 - 0.5 * np.abs(p - q).sum())


def column_shape_score(real: ModelFrame, synthetic: ModelFrame,
                       columns: Sequence[ModelColumn]) -> float:
    """Mean per-column similarity of ``synthetic`` to ``real``, in ``[0, 1]``."""
    scores = []
    for column in columns:
        r, s = real.values[column.name], synthetic.values[column.name]
        if column.nullable:
            rn, sn = real.nulls[column.name], synthetic.nulls[column.name]
            scores.append(1.0 - abs(float(rn.mean()) - float(sn.mean())))
            r, s = r[~rn], s[~sn]
        if column.type is ModelColumnType.DISCRETE:
            scores.append(_tv_complement(r.astype(np.int64), s.astype(np.int64), column.n_categories))
        else:
            scores.append(_ks_complement(r, s))
    return float(np.mean(scores)) if scores else 1.0
