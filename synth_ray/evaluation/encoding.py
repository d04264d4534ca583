"""Learned columns as numbers: the one representation every metric computes on.

Continuous columns (numerical, datetime) become float64 arrays with NaN for null;
datetimes are seconds since the epoch (UTC for zone-aware ones), which every metric
here is invariant to (KS, Pearson, equal-width bins, min-max scaling).

Discrete columns (categorical, boolean) become int64 codes over one vocabulary shared
by the real, synthetic and holdout samples, with -1 for null: codes ``0 .. k-1`` are
the real sample's categories, most frequent first, and any category only the synthetic
or holdout sample has comes after them. Sharing the codes is what lets a joint
frequency table, a classifier or a distance compare rows across tables.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from synth_ray.errors import SchemaError
from synth_ray.evaluation.inputs import Samples
from synth_ray.metadata import ColumnKind, TableMetadata

__all__ = ["CONTINUOUS_KINDS", "DISCRETE_KINDS", "EncodedColumn", "encode_columns"]

CONTINUOUS_KINDS = frozenset({ColumnKind.NUMERICAL, ColumnKind.DATETIME})
DISCRETE_KINDS = frozenset({ColumnKind.CATEGORICAL, ColumnKind.BOOLEAN})
_SECONDS_PER_UNIT = {"s": 1.0, "ms": 1e3, "us": 1e6, "ns": 1e9}


@dataclass(frozen=True)
class EncodedColumn:
    """One learned column of the three samples, as numbers.

    Attributes:
        name: the column's name.
        kind: its kind (numerical, datetime, categorical or boolean).
        real: values (continuous) or codes (discrete) of the real sample.
        synthetic: same, for the synthetic sample.
        holdout: same, for the holdout sample (``None`` without one).
        categories: discrete only: the label of each code.
        real_categories: discrete only: how many codes are categories of the real sample.
    """

    name: str
    kind: ColumnKind
    real: np.ndarray
    synthetic: np.ndarray
    holdout: np.ndarray | None = None
    categories: tuple[str, ...] = ()
    real_categories: int = 0

    @property
    def continuous(self) -> bool:
        """Whether the column is compared as a continuous quantity."""
        return self.kind in CONTINUOUS_KINDS

    def present(self, values: np.ndarray) -> np.ndarray:
        """Mask of the non-null entries of ``values`` (one of this column's arrays)."""
        return ~np.isnan(values) if self.continuous else values >= 0

    def subset(self, *, real: np.ndarray | slice | None = None,
               synthetic: np.ndarray | slice | None = None) -> EncodedColumn:
        """The same column restricted to some rows of the real and synthetic samples."""
        return replace(self,
                       real=self.real if real is None else self.real[real],
                       synthetic=self.synthetic if synthetic is None else self.synthetic[synthetic])


def _to_float(column: pa.ChunkedArray, name: str) -> np.ndarray:
    dtype = column.type
    try:
        if pa.types.is_null(dtype):
            return np.full(len(column), np.nan)
        if pa.types.is_timestamp(dtype):
            scale = _SECONDS_PER_UNIT[dtype.unit]
            column = pc.divide(pc.cast(pc.cast(column, pa.int64()), pa.float64(), safe=False), scale)
        elif pa.types.is_date32(dtype):
            column = pc.multiply(pc.cast(pc.cast(column, pa.int32()), pa.float64()), 86_400.0)
        elif pa.types.is_date64(dtype):
            column = pc.divide(pc.cast(pc.cast(column, pa.int64()), pa.float64(), safe=False), 1e3)
        values = pc.fill_null(pc.cast(column, pa.float64(), safe=False), np.nan)  # ints > 2**53 round
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError) as exc:
        raise SchemaError(
            f"column {name!r} is continuous in the metadata but its {dtype} values cannot be read "
            f"as numbers ({exc}); fix the column's kind in the table spec") from None
    return np.asarray(values.to_numpy(), dtype=np.float64)


def _vocabulary(columns: list[pa.ChunkedArray]) -> tuple[pa.Array, int]:
    """Real categories by falling frequency (ties by value), then categories only others have."""
    counts = pc.value_counts(columns[0].drop_null())
    order = pc.sort_indices(pa.table({"n": counts.field("counts"), "v": counts.field("values")}),
                            sort_keys=[("n", "descending"), ("v", "ascending")])
    vocabulary = pc.take(counts.field("values"), order)
    n_real = len(vocabulary)
    for column in columns[1:]:
        values = pc.unique(column.drop_null())
        extra = pc.filter(values, pc.invert(pc.is_in(values, value_set=vocabulary)))
        vocabulary = pa.concat_arrays([vocabulary, pc.take(extra, pc.sort_indices(extra))])
    return vocabulary, n_real


def _label(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _encode_discrete(name: str, kind: ColumnKind, columns: list[pa.ChunkedArray]) -> EncodedColumn:
    typed = [c for c in columns if not pa.types.is_null(c.type)]
    dtype = typed[0].type if typed else pa.string()
    columns = [pa.chunked_array([pa.nulls(len(c), dtype)]) if pa.types.is_null(c.type) else c
               for c in columns]
    vocabulary, n_real = _vocabulary(columns)
    codes = [np.asarray(pc.fill_null(pc.index_in(c, value_set=vocabulary), -1).to_numpy(),
                        dtype=np.int64) for c in columns]
    return EncodedColumn(name=name, kind=kind, real=codes[0], synthetic=codes[1],
                         holdout=codes[2] if len(codes) > 2 else None,
                         categories=tuple(_label(v) for v in vocabulary.to_pylist()),
                         real_categories=n_real)


def encode_columns(samples: Samples, metadata: TableMetadata) -> list[EncodedColumn]:
    """Encode every learned column (ids and pii are regenerated, never compared)."""
    tables = [t for t in (samples.real, samples.synthetic, samples.holdout) if t is not None]
    encoded = []
    for col in metadata:
        if col.kind in DISCRETE_KINDS:
            encoded.append(_encode_discrete(col.name, col.kind, [t.column(col.name) for t in tables]))
        elif col.kind in CONTINUOUS_KINDS:
            arrays = [_to_float(t.column(col.name), col.name) for t in tables]
            encoded.append(EncodedColumn(name=col.name, kind=col.kind, real=arrays[0],
                                         synthetic=arrays[1],
                                         holdout=arrays[2] if len(arrays) > 2 else None))
    return encoded
