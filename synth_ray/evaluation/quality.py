"""The overall quality score: mean of Column Shapes and Column Pair Trends.

Defined as SDMetrics' QualityReport defines it, so users can compare numbers across
tools. Id and pii columns are not scored (they are regenerated, not learned). Large
tables are compared on a uniform sample of ``max_rows`` rows of each (stated in the
result), drawn with ``seed``.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from synth_ray.evaluation.column_shapes import ks_complement, tv_complement
from synth_ray.evaluation.pair_trends import (
    contingency_similarity,
    correlation_similarity,
    discretize,
)
from synth_ray.metadata import ColumnKind, TableMetadata
from synth_ray.table_input import TableLike, to_arrow

__all__ = ["QualityScore", "quality_score"]

_CONTINUOUS = (ColumnKind.NUMERICAL, ColumnKind.DATETIME)
_DISCRETE = (ColumnKind.CATEGORICAL, ColumnKind.BOOLEAN)


@dataclass(frozen=True)
class QualityScore:
    """Fidelity of a synthetic table, in [0, 1] (1 = same distributions).

    Attributes:
        score: mean of ``column_shapes`` and ``pair_trends``.
        column_shapes: mean per-column shape similarity.
        pair_trends: mean per-pair trend similarity (``nan`` with fewer than 2 columns).
        columns: per-column shape similarity.
        pairs: per-pair similarity, keyed ``"a | b"``.
        rows_compared: rows of (real, synthetic) used.
    """

    score: float
    column_shapes: float
    pair_trends: float
    columns: dict[str, float] = field(default_factory=dict)
    pairs: dict[str, float] = field(default_factory=dict)
    rows_compared: tuple[int, int] = (0, 0)


def _subsample(table: pa.Table, max_rows: int, rng: np.random.Generator) -> pa.Table:
    if table.num_rows <= max_rows:
        return table
    return table.take(np.sort(rng.choice(table.num_rows, max_rows, replace=False)))


def _as_float(values: pa.ChunkedArray) -> np.ndarray:
    arr = values.combine_chunks()
    if pa.types.is_timestamp(arr.type) or pa.types.is_date(arr.type):
        arr = arr.cast(pa.int64()) if not pa.types.is_date32(arr.type) else arr.cast(pa.int32())
    return arr.cast(pa.float64()).to_numpy(zero_copy_only=False).astype(np.float64)


def _codes(real: pa.ChunkedArray, synthetic: pa.ChunkedArray) -> tuple[np.ndarray, np.ndarray]:
    """Integer codes over the union of both columns' values (null -> -1)."""
    r, s = real.combine_chunks(), synthetic.combine_chunks()
    if pa.types.is_dictionary(r.type):
        r = r.dictionary_decode()
    if pa.types.is_dictionary(s.type):
        s = s.dictionary_decode()
    values = pc.unique(pa.concat_arrays([r, s.cast(r.type)]).drop_null())
    def code(a: pa.Array) -> np.ndarray:
        return pc.fill_null(pc.index_in(a.cast(r.type), value_set=values), -1).to_numpy(
            zero_copy_only=False)
    return code(r), code(s)


def quality_score(real: TableLike, synthetic: TableLike, metadata: TableMetadata, *,
                  max_rows: int = 100_000, seed: int = 0) -> QualityScore:
    """Score ``synthetic`` against ``real`` (both tables of ``metadata``'s columns)."""
    rng = np.random.default_rng(seed)
    real_t = _subsample(to_arrow(real), max_rows, rng)
    synth_t = _subsample(to_arrow(synthetic), max_rows, rng)
    scored = [c for c in metadata if c.kind in _CONTINUOUS + _DISCRETE and c.null_fraction < 1]
    numeric: dict[str, tuple[np.ndarray, np.ndarray]] = {}
    coded: dict[str, tuple[np.ndarray, np.ndarray]] = {}
    columns: dict[str, float] = {}
    for col in scored:
        r, s = real_t.column(col.name), synth_t.column(col.name)
        if col.kind in _CONTINUOUS:
            numeric[col.name] = (_as_float(r), _as_float(s))
            nr, ns = numeric[col.name]
            columns[col.name] = ks_complement(nr[~np.isnan(nr)], ns[~np.isnan(ns)])
            coded[col.name] = discretize(nr, ns)
        else:
            columns[col.name] = tv_complement(r.combine_chunks(), s.combine_chunks())
            coded[col.name] = _codes(r, s)
    pairs: dict[str, float] = {}
    for a, b in itertools.combinations([c.name for c in scored], 2):
        if a in numeric and b in numeric:
            pairs[f"{a} | {b}"] = correlation_similarity(
                (numeric[a][0], numeric[b][0]), (numeric[a][1], numeric[b][1]))
        else:
            pairs[f"{a} | {b}"] = contingency_similarity(
                (coded[a][0], coded[b][0]), (coded[a][1], coded[b][1]))
    shapes = float(np.mean(list(columns.values()))) if columns else float("nan")
    trends = float(np.mean(list(pairs.values()))) if pairs else float("nan")
    overall = float(np.nanmean([shapes, trends])) if columns else float("nan")
    return QualityScore(score=overall, column_shapes=shapes, pair_trends=trends, columns=columns,
                        pairs=pairs, rows_compared=(real_t.num_rows, synth_t.num_rows))
