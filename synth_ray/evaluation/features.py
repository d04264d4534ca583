"""Encoded columns as a feature matrix for scikit-learn's gradient-boosted trees.

Continuous columns are used as they are (NaN for null: the trees route missing
values natively). Discrete columns with at most ``_MAX_NATIVE_CATEGORIES`` categories
are native categorical features; larger ones enter as their code, which is the
category's frequency rank in the real data (an ordinal the trees can still split).
"""

from __future__ import annotations

import numpy as np

from synth_ray.evaluation.encoding import EncodedColumn

__all__ = ["feature_matrix", "trainable"]

_MAX_NATIVE_CATEGORIES = 250  # HistGradientBoosting allows at most max_bins (255) categories


def _as_feature(values: np.ndarray, continuous: bool) -> np.ndarray:
    if continuous:
        return values.astype(np.float64)
    return np.where(values >= 0, values, np.nan).astype(np.float64)


def feature_matrix(columns: list[EncodedColumn], table: str, *,
                   rows: np.ndarray | slice = slice(None),
                   exclude: str | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Features of ``table`` (``real``, ``synthetic`` or ``holdout``) and the categorical mask.

    Args:
        columns: the encoded columns.
        table: which sample to read.
        rows: which of its rows.
        exclude: a column to leave out (the utility target).
    """
    used = [c for c in columns if c.name != exclude]
    data = [_as_feature(getattr(c, table)[rows], c.continuous) for c in used]
    categorical = np.array([not c.continuous and len(c.categories) <= _MAX_NATIVE_CATEGORIES
                            for c in used], dtype=bool)
    return np.column_stack(data) if data else np.zeros((0, 0)), categorical


def trainable(x: np.ndarray) -> np.ndarray:
    """``x`` with every all-null column set to 0, ready to fit on.

    scikit-learn's trees cannot bin a feature that has no value at all (a column all null
    in this training set or fold), and a constant is exactly what such a feature is to a
    tree: nothing to split on. Test rows keep their values; the model ignores them.
    """
    empty = np.isnan(x).all(axis=0)
    if not empty.any():
        return x
    x = x.copy()
    x[:, empty] = 0.0
    return x
