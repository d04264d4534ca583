"""Rows as points, so that "the closest real record" has a meaning: a Gower-like embedding.

Each learned column adds at most about 1 to the squared distance of two rows:

* a continuous value is scaled by the real sample's min and max (not clipped: a synthetic
  value far beyond the real range is far from every real row); a null is put at the
  median and flagged in an indicator column, so null vs value costs one more unit;
* a category is a one-hot vector scaled by ``1/sqrt(2)``, so two different categories
  are at distance 1; null is a category of its own. Columns with many categories keep
  their ``_MAX_ONE_HOT`` most frequent ones and pool the rest (the distance then treats
  two rare categories as equal, a documented approximation that bounds memory).

Distances are divided by ``sqrt(number of columns)``: 0 means equal on every column,
1 means as different as a category mismatch on every column; numbers are comparable
across tables. Euclidean rather than Gower's L1 because nearest neighbours under it
run on BLAS matrix products.
"""

from __future__ import annotations

import math

import numpy as np

from synth_ray.evaluation.encoding import EncodedColumn

__all__ = ["embed", "nearest_distances"]

_MAX_ONE_HOT = 50
_HALF = 1.0 / math.sqrt(2.0)


def _has_nulls(column: EncodedColumn) -> bool:
    arrays = [a for a in (column.real, column.synthetic, column.holdout) if a is not None]
    return any(not column.present(a).all() for a in arrays)


def _continuous_block(column: EncodedColumn, values: np.ndarray) -> np.ndarray:
    reference = column.real[~np.isnan(column.real)]
    lo, hi = (float(reference.min()), float(reference.max())) if len(reference) else (0.0, 1.0)
    span = hi - lo if hi > lo else 1.0
    null = np.isnan(values)
    middle = (float(np.median(reference)) - lo) / span if len(reference) else 0.0
    scaled = np.where(null, middle, (values - lo) / span)
    if not _has_nulls(column):
        return scaled[:, None]
    return np.column_stack([scaled, null.astype(np.float64)])


def _discrete_block(column: EncodedColumn, values: np.ndarray) -> np.ndarray:
    top = min(len(column.categories), _MAX_ONE_HOT)
    width = top + (1 if len(column.categories) > top else 0) + (1 if _has_nulls(column) else 0)
    slot = np.where(values < 0, width - 1, np.minimum(values, top))
    block = np.zeros((len(values), max(width, 1)))
    block[np.arange(len(values)), slot] = _HALF
    return block


def embed(columns: list[EncodedColumn], table: str, rows: slice) -> np.ndarray:
    """Points of ``rows`` of ``table`` (``real``, ``synthetic`` or ``holdout``), float32."""
    blocks = []
    for column in columns:
        values = getattr(column, table)[rows]
        blocks.append(_continuous_block(column, values) if column.continuous
                      else _discrete_block(column, values))
    points = np.column_stack(blocks) / math.sqrt(max(len(columns), 1))
    return np.ascontiguousarray(points, dtype=np.float32)


def nearest_distances(reference: np.ndarray, queries: np.ndarray, k: int) -> np.ndarray:
    """Distances from each query to its ``k`` nearest reference points (ascending)."""
    from sklearn.neighbors import NearestNeighbors

    k = min(k, len(reference))
    index = NearestNeighbors(n_neighbors=k, algorithm="brute", metric="euclidean").fit(reference)
    distances, _ = index.kneighbors(queries, return_distance=True)
    return np.asarray(distances, dtype=np.float64)
