"""A Spark DataFrame's column statistics, computed by Spark: nothing is collected but numbers.

One aggregation job counts rows, nulls (float NaN counts as null, as everywhere in
synth-ray) and infinities, and finds each column's range, approximate median
(``percentile_approx``) and approximate distinct count (HyperLogLog++). Two bounded
follow-ups run only where they are needed: exact category counts of a column with few
distinct values, and an exact uniqueness check of a column that looks like a key.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from synth_ray.errors import DataError, SchemaError

if TYPE_CHECKING:
    from pyspark.sql import Column, DataFrame
    from pyspark.sql.types import DataType, StructField

__all__ = ["ColumnProfile", "TableProfile", "category_counts", "check_source_types", "has_duplicates",
           "profile_dataframe"]

_MEDIAN_ACCURACY = 10_000  # percentile_approx: relative error about 1/10,000 of the rank
_DISTINCT_RSD = 0.02


@dataclass(frozen=True)
class ColumnProfile:
    """One column's statistics over the whole DataFrame.

    Attributes:
        nulls: null values, plus NaN in a float column.
        minimum: smallest non-null value (numbers, dates, timestamps), else ``None``.
        maximum: largest, like ``minimum``.
        median: approximate median of a number, date or timestamp column with nulls (the
            value a null is imputed with), else ``None``.
        distinct: approximate number of distinct non-null values (columns that may be
            categories: strings, booleans, integers), else 0.
    """

    nulls: int
    minimum: Any = None
    maximum: Any = None
    median: Any = None
    distinct: int = 0


@dataclass(frozen=True)
class TableProfile:
    """A DataFrame's row count and each column's :class:`ColumnProfile`."""

    rows: int
    columns: Mapping[str, ColumnProfile]


def _unsupported(t: DataType) -> str | None:
    """What to do with a Spark type synth-ray cannot learn, or ``None`` if it can."""
    name = t.typeName()
    if name in ("struct", "map", "array", "variant"):
        return ("drop it, flatten a struct with select('col.*'), or turn it into text with "
                "to_json(col) and declare it categorical")
    if name == "binary":
        return "drop it, or encode it as text (base64(col)) if it is a small set of values"
    if name == "decimal":
        return "cast it: df.withColumn(name, col(name).cast('double'))"
    if name in ("interval", "calendarinterval", "daytimeinterval", "yearmonthinterval", "time",
                "timetype", "null", "void", "geometry", "geography"):
        return "drop it or cast it to a number or a string"
    return None


def check_source_types(df: DataFrame) -> None:
    """Refuse columns of Spark types synth-ray cannot learn, naming the column and the fix.

    Raises:
        SchemaError: a map, struct, array, binary, decimal, interval or other unsupported column.
    """
    names = df.columns
    dupes = sorted({n for n in names if names.count(n) > 1})
    if dupes:
        raise SchemaError(f"duplicate column name {dupes[0]!r}: rename or drop the copies")
    for field in df.schema.fields:
        fix = _unsupported(field.dataType)
        if fix is not None:
            raise SchemaError(
                f"column {field.name!r} has Spark type {field.dataType.simpleString()}, which "
                f"synth-ray cannot learn: {fix.replace('name', repr(field.name))}"
            )


def _is_float(t: DataType) -> bool:
    return t.typeName() in ("float", "double")


def _ordered(t: DataType) -> bool:
    return t.typeName() in ("byte", "short", "integer", "long", "float", "double", "date", "timestamp",
                            "timestamp_ntz")


def _column(field: StructField) -> Column:
    """The column with float NaN turned into null (synth-ray's meaning of NaN)."""
    from pyspark.sql import functions as F

    c = F.col(f"`{field.name}`")
    return F.when(~F.isnan(c), c) if _is_float(field.dataType) else c


def _aggregate(df: DataFrame, exprs: list[Column]) -> dict[str, Any]:
    """One aggregation job; through Arrow, so timestamps keep their exact instant and zone."""
    if not exprs:
        return {}
    row: dict[str, Any] = df.agg(*exprs).toArrow().to_pylist()[0]
    return row


def _basics(df: DataFrame) -> dict[str, Any]:
    from pyspark.sql import functions as F

    exprs: list[Column] = [F.count(F.lit(1)).alias("rows")]
    for i, field in enumerate(df.schema.fields):
        c = _column(field)
        exprs.append(F.sum(F.when(c.isNull(), 1).otherwise(0)).alias(f"n{i}"))
        if _is_float(field.dataType):
            exprs.append(F.sum(F.when(F.abs(c) == float("inf"), 1).otherwise(0)).alias(f"inf{i}"))
        if _ordered(field.dataType):
            exprs += [F.min(c).alias(f"lo{i}"), F.max(c).alias(f"hi{i}")]
    return _aggregate(df, exprs)


def profile_dataframe(df: DataFrame) -> TableProfile:
    """Every column's statistics, from at most three Spark aggregation jobs.

    Counts and ranges first (a plain hash aggregate); then distinct counts of the
    columns that may be categories, and medians of the ordered columns with nulls (the
    only ones that impute a median), each kept apart because sketches make the
    aggregate slow to compile when they are all in one.

    Raises:
        DataError: a float column holds +/-inf (named, with the fix).
    """
    from pyspark.sql import functions as F

    fields = list(enumerate(df.schema.fields))
    basics = _basics(df)
    for i, field in fields:
        if basics.get(f"inf{i}"):
            raise DataError(
                f"column {field.name!r} has {basics[f'inf{i}']} infinite value(s); replace them with null "
                f"or a finite value before fitting, e.g. F.when(~F.isinf(col), col)"
            )
    distinct = _aggregate(df, [F.approx_count_distinct(_column(f), _DISTINCT_RSD).alias(f"d{i}")
                               for i, f in fields if not _ordered(f.dataType)
                               or f.dataType.typeName() in ("byte", "short", "integer", "long")])
    medians = _aggregate(df, [F.percentile_approx(_column(f), 0.5, _MEDIAN_ACCURACY).alias(f"med{i}")
                              for i, f in fields if _ordered(f.dataType) and basics[f"n{i}"]])
    columns = {f.name: ColumnProfile(
        nulls=int(basics[f"n{i}"] or 0), minimum=basics.get(f"lo{i}"), maximum=basics.get(f"hi{i}"),
        median=medians.get(f"med{i}"), distinct=int(distinct.get(f"d{i}") or 0)) for i, f in fields}
    return TableProfile(rows=int(basics["rows"]), columns=columns)


def category_counts(df: DataFrame, name: str, *, limit: int) -> list[tuple[Any, int]] | None:
    """Each non-null value of column ``name`` with its count, or ``None`` if there are over ``limit``."""
    from pyspark.sql import functions as F

    c = F.col(f"`{name}`")
    kept = df.where(c.isNotNull() & (~F.isnan(c) if _is_float(df.schema[name].dataType) else F.lit(True)))
    counts = kept.groupBy(c.alias("value")).count().limit(limit + 1).collect()
    if len(counts) > limit:
        return None
    return [(r["value"], int(r["count"])) for r in counts]


def has_duplicates(df: DataFrame, name: str) -> bool:
    """Whether any non-null value of column ``name`` appears twice (exact; one shuffle)."""
    from pyspark.sql import functions as F

    c = F.col(f"`{name}`")
    return bool(df.where(c.isNotNull()).groupBy(c).count().where(F.col("count") > 1).limit(1).count())
