"""The tables an evaluation compares: checked against each other, sampled, harmonized.

Every metric downstream may assume that the real, synthetic and holdout samples have
the same columns with the same Arrow types, in random row order (so any prefix is a
uniform sample too), and that none is empty. This module is where that becomes true,
or where the user learns which column breaks it and how to fix it.

Types are compared by family, not exactly: a synthetic table read back from CSV has
``int64`` where the real one had ``int32``, or ``string`` where it had a dictionary,
and that is still the same column. Families: numbers, booleans, text, naive datetimes
(timestamps and dates), time-zone-aware timestamps. A column that is all null with
Arrow's ``null`` type (CSV does that) fits any family.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from synth_ray.errors import DataError, SchemaError
from synth_ray.evaluation.settings import rng_for
from synth_ray.metadata import ColumnKind, TableMetadata

__all__ = ["Samples", "SamplingInfo", "check_not_empty", "check_tables", "draw_samples", "family"]

_CONTINUOUS = (ColumnKind.NUMERICAL, ColumnKind.DATETIME)


def family(dtype: pa.DataType) -> str:
    """The family of an Arrow type, in words (two columns of one family are comparable)."""
    if pa.types.is_dictionary(dtype):
        dtype = dtype.value_type
    if pa.types.is_null(dtype):
        return "null"
    if pa.types.is_integer(dtype) or pa.types.is_floating(dtype) or pa.types.is_decimal(dtype):
        return "number"
    if pa.types.is_boolean(dtype):
        return "boolean"
    if pa.types.is_string(dtype) or pa.types.is_large_string(dtype) or pa.types.is_string_view(dtype):
        return "text"
    if pa.types.is_timestamp(dtype) and dtype.tz is not None:
        return "time-zone-aware datetime"
    if pa.types.is_timestamp(dtype) or pa.types.is_date(dtype):
        return "datetime"
    return str(dtype)


def _check_rows(table: pa.Table, role: str) -> None:
    if table.num_columns == 0:
        raise SchemaError(f"the {role} table has no columns: check the path or the column selection")
    if table.num_rows == 0:
        fix = ("sample some rows first, e.g. synth-ray sample MODEL_DIR --rows 10000 --out FILE"
               if role == "synthetic" else "check the path or filter that produced it")
        raise DataError(f"the {role} table has 0 rows: there is nothing to compare; {fix}")


def _check_same_columns(real: pa.Schema, other: pa.Schema, role: str) -> None:
    missing = [n for n in real.names if n not in other.names]
    extra = [n for n in other.names if n not in real.names]
    if missing:
        raise SchemaError(
            f"the {role} table lacks column(s) {', '.join(map(repr, missing))} of the real table; "
            "evaluate tables with the same columns (drop them from the real table too, or "
            "sample from a model fitted on the real table)")
    if extra:
        raise SchemaError(
            f"the {role} table has column(s) {', '.join(map(repr, extra))} that the real table "
            f"lacks; drop them from the {role} table (e.g. table.drop_columns({extra!r}))")
    for field in real:
        theirs = other.field(field.name).type
        a, b = family(field.type), family(theirs)
        if a != b and "null" not in (a, b):
            raise SchemaError(
                f"column {field.name!r} holds {a} values ({field.type}) in the real table but "
                f"{b} values ({theirs}) in the {role} table; cast the {role} column to "
                f"{field.type} before evaluating")


def check_not_empty(real: pa.Table, synthetic: pa.Table, holdout: pa.Table | None) -> None:
    """Refuse a table without columns or rows, naming which one.

    Raises:
        SchemaError: a table without columns.
        DataError: a table without rows.
    """
    for role, table in (("real", real), ("synthetic", synthetic), ("holdout", holdout)):
        if table is not None:
            _check_rows(table, role)


def check_tables(real: pa.Table, synthetic: pa.Table, holdout: pa.Table | None,
                 metadata: TableMetadata) -> None:
    """Refuse tables that cannot be compared, naming the table, the column and the fix.

    Raises:
        SchemaError: different columns, incompatible types, or metadata of another table.
        DataError: a table without rows.
    """
    check_not_empty(real, synthetic, holdout)
    others = {"synthetic": synthetic, **({"holdout": holdout} if holdout is not None else {})}
    if sorted(metadata.names) != sorted(real.column_names):
        missing = sorted(set(real.column_names) - set(metadata.names))
        extra = sorted(set(metadata.names) - set(real.column_names))
        raise SchemaError(
            "the metadata does not describe the real table (columns only in the table: "
            f"{missing or 'none'}; only in the metadata: {extra or 'none'}); pass the metadata "
            "of the model fitted on this table, or none to infer it from the real table")
    for role, table in others.items():
        _check_same_columns(real.schema, table.schema, role)


@dataclass(frozen=True)
class SamplingInfo:
    """Which rows the evaluation looked at.

    Attributes:
        seed: seed the samples were drawn with.
        real_rows: rows of the real table given.
        synthetic_rows: rows of the synthetic table given.
        holdout_rows: rows of the holdout table given (``None`` without one).
        real_sampled: rows of the real table in the sample (all of them when small).
        synthetic_sampled: rows of the synthetic table in the sample.
        holdout_sampled: rows of the holdout table in the sample.
    """

    seed: int
    real_rows: int
    synthetic_rows: int
    holdout_rows: int | None
    real_sampled: int
    synthetic_sampled: int
    holdout_sampled: int | None

    @property
    def sampled(self) -> bool:
        """Whether any table was larger than its sample."""
        return (self.real_sampled < self.real_rows or self.synthetic_sampled < self.synthetic_rows
                or (self.holdout_rows or 0) > (self.holdout_sampled or 0))

    def describe(self) -> str:
        """One sentence for the report, e.g. ``100,000 of 10,000,000 synthetic rows...``."""
        def part(taken: int, total: int, name: str) -> str:
            return f"all {total:,} {name} rows" if taken == total else f"{taken:,} of {total:,} {name} rows"

        parts = [part(self.synthetic_sampled, self.synthetic_rows, "synthetic"),
                 part(self.real_sampled, self.real_rows, "real")]
        if self.holdout_rows is not None and self.holdout_sampled is not None:
            parts.append(part(self.holdout_sampled, self.holdout_rows, "holdout"))
        if not self.sampled:
            return ", ".join(parts) + f" (no sampling needed; seed {self.seed})"
        return f"uniform random samples drawn with seed {self.seed}: " + ", ".join(parts)


@dataclass(frozen=True)
class Samples:
    """The harmonized samples every metric reads (random row order, same types).

    Attributes:
        real: sample of the real (training) table.
        synthetic: sample of the synthetic table.
        holdout: sample of the holdout table, if one was given.
        info: the sizes and the seed.
    """

    real: pa.Table
    synthetic: pa.Table
    holdout: pa.Table | None
    info: SamplingInfo


def _canonical_type(dtype: pa.DataType, kind: ColumnKind) -> pa.DataType:
    """The type all three tables' column is cast to before it is compared."""
    if pa.types.is_dictionary(dtype):
        dtype = dtype.value_type
    if family(dtype) == "number" and kind in _CONTINUOUS:
        return pa.float64()
    if family(dtype) == "text":
        return pa.string()
    return dtype


def _first_typed(tables: list[pa.Table], name: str) -> pa.DataType:
    """The real column's type, or the first non-null one when the real column is all null."""
    for table in tables:
        dtype = table.schema.field(name).type
        if not pa.types.is_null(dtype):
            return dtype
    return pa.null()


def _harmonize(table: pa.Table, types: Mapping[str, pa.DataType], role: str) -> pa.Table:
    columns = []
    for name, dtype in types.items():
        column = table.column(name)
        if pa.types.is_dictionary(column.type):
            column = pc.cast(column, column.type.value_type)
        try:
            columns.append(column if pa.types.is_null(dtype) else pc.cast(column, dtype))
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError) as exc:
            raise SchemaError(
                f"column {name!r} of the {role} table cannot be read as {dtype} like the real "
                f"table's ({exc}); cast it to {dtype} before evaluating") from None
    return pa.table(dict(zip(types, columns, strict=True)))


def _sample(table: pa.Table, rows: int, rng: np.random.Generator) -> pa.Table:
    """``rows`` uniformly drawn rows (or all), in random order: any prefix is uniform too."""
    n = table.num_rows
    order = rng.permutation(n) if n <= rows else rng.choice(n, size=rows, replace=False)
    return table.take(pa.array(order))


def draw_samples(real: pa.Table, synthetic: pa.Table, holdout: pa.Table | None, *,
                 metadata: TableMetadata, rows: int, seed: int) -> Samples:
    """Sample each table (independent seeded streams), then cast all to the real types."""
    tables = [t for t in (real, synthetic, holdout) if t is not None]
    types = {c.name: _canonical_type(_first_typed(tables, c.name), c.kind) for c in metadata}
    taken = {role: _sample(table, rows, rng_for(seed, role))
             for role, table in (("real", real), ("synthetic", synthetic), ("holdout", holdout))
             if table is not None}
    harmonized = {role: _harmonize(table, types, role) for role, table in taken.items()}
    info = SamplingInfo(
        seed=seed, real_rows=real.num_rows, synthetic_rows=synthetic.num_rows,
        holdout_rows=None if holdout is None else holdout.num_rows,
        real_sampled=taken["real"].num_rows, synthetic_sampled=taken["synthetic"].num_rows,
        holdout_sampled=taken["holdout"].num_rows if "holdout" in taken else None)
    return Samples(real=harmonized["real"], synthetic=harmonized["synthetic"],
                   holdout=harmonized.get("holdout"), info=info)
