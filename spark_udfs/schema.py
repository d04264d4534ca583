"""The Spark schema of a model's rows, derived exactly from its metadata.

Every Arrow type a model can produce has one Spark type that holds it without loss,
except where Spark has no such type (noted below):

=====================================  ===========================================
model's Arrow type                     Spark type
=====================================  ===========================================
bool                                   boolean
int8, int16, int32, int64              byte, short, int, bigint
uint8, uint16, uint32                  short, int, bigint (the next wider signed)
uint64                                 decimal(20,0)
float16, float32, float64              float, float, double
string, large_string, dictionary       string (a dictionary's values)
date32, date64                         date
timestamp with a time zone             timestamp (an instant; Spark shows it in the
                                       session time zone)
timestamp without a time zone          timestamp_ntz
timestamp of nanoseconds               microseconds: Spark's precision (truncated)
null                                   void
=====================================  ===========================================

A column is nullable in Spark exactly when the model can emit a null in it: the real
column had nulls (its metadata's ``null_fraction`` is above 0) and its Arrow field is
nullable. Spark does not check the Arrow batches a Python function returns (a wrong
type or a null in a non-nullable column fails deep in the JVM, or worse), so every
batch is converted here to exactly the Arrow schema Spark expects.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import pyarrow as pa
import pyarrow.compute as pc

from synth_ray.errors import SamplingError, SchemaError

if TYPE_CHECKING:
    from pyspark.sql.types import DataType, StructType

    from synth_ray.metadata import TableMetadata

__all__ = ["SparkTarget", "spark_target", "to_spark_arrow"]

_UNSIGNED_WIDER = {8: pa.int16(), 16: pa.int32(), 32: pa.int64()}
# Requested Spark types a model's column may be widened to without loss.
_WIDENINGS = {
    "byte": {"short", "integer", "long", "double"},
    "short": {"integer", "long", "double"},
    "integer": {"long", "double"},
    "float": {"double"},
}


def _arrow_for_spark(t: pa.DataType, large_strings: bool) -> pa.DataType:
    """The Arrow type Spark's Arrow bridge uses for the Spark type that holds ``t``."""
    if pa.types.is_dictionary(t):
        return _arrow_for_spark(t.value_type, large_strings)
    if pa.types.is_string(t) or pa.types.is_large_string(t):
        return pa.large_string() if large_strings else pa.string()
    if pa.types.is_unsigned_integer(t):
        return _UNSIGNED_WIDER.get(t.bit_width, pa.decimal128(20, 0))
    if pa.types.is_float16(t):
        return pa.float32()
    if pa.types.is_date(t):
        return pa.date32()
    if pa.types.is_timestamp(t):
        return pa.timestamp("us", tz="UTC" if t.tz else None)
    if (pa.types.is_boolean(t) or pa.types.is_integer(t) or pa.types.is_floating(t)
            or pa.types.is_null(t)):
        return t
    raise SchemaError(f"no Spark type holds Arrow type {t} without loss")


class SparkTarget:
    """The Spark schema of a sample and the Arrow schema its batches must have.

    Attributes:
        spark_schema: the DataFrame's ``StructType``.
        arrow_schema: the exact Arrow schema of every batch handed to Spark.
    """

    def __init__(self, *, spark_schema: StructType, arrow_schema: pa.Schema) -> None:
        self.spark_schema = spark_schema
        self.arrow_schema = arrow_schema


def _derived(metadata: TableMetadata, large_strings: bool) -> pa.Schema:
    fields = []
    for field in metadata.arrow_schema:
        try:
            arrow = _arrow_for_spark(field.type, large_strings)
        except SchemaError as exc:
            raise SchemaError(f"column {field.name!r}: {exc}; refit the model on a cast column") from None
        nullable = field.nullable and metadata[field.name].null_fraction > 0
        fields.append(pa.field(field.name, arrow, nullable=nullable))
    return pa.schema(fields)


def _spark_type(arrow: pa.DataType) -> DataType:
    from pyspark.sql.pandas.types import from_arrow_type

    if pa.types.is_timestamp(arrow) and arrow.tz is None:
        from pyspark.sql.types import TimestampNTZType

        return TimestampNTZType()
    return from_arrow_type(arrow)


def spark_target(metadata: TableMetadata, *, requested: StructType | None = None,
                 large_strings: bool = False) -> SparkTarget:
    """The schema a sample of a model with ``metadata`` has in Spark.

    Args:
        metadata: the model's metadata.
        requested: a schema the caller needs instead (e.g. an existing table's): the same
            column names, in any order; each type the model's own or a lossless widening of
            it (byte/short/int to a wider integer or double, float to double); non-nullable
            only where the model never emits nulls.
        large_strings: Spark's ``spark.sql.execution.arrow.useLargeVarTypes``.

    Raises:
        SchemaError: the model's rows do not fit ``requested`` (the message names the
            column, both types and what to do).
    """
    from pyspark.sql.types import StructField, StructType

    arrow = _derived(metadata, large_strings)
    derived = StructType([StructField(f.name, _spark_type(f.type), f.nullable) for f in arrow])
    if requested is None:
        return SparkTarget(spark_schema=derived, arrow_schema=arrow)
    _check_requested(derived, requested)
    from pyspark.sql.pandas.types import to_arrow_type

    fields = [pa.field(f.name, to_arrow_type(f.dataType, timezone="UTC",
                                             prefers_large_types=large_strings), f.nullable)
              for f in requested]
    return SparkTarget(spark_schema=requested, arrow_schema=pa.schema(fields))


def _check_requested(derived: StructType, requested: StructType) -> None:
    have, want = set(derived.names), set(requested.names)
    if have != want:
        missing, extra = sorted(want - have), sorted(have - want)
        raise SchemaError(
            f"the requested Spark schema does not fit the model: columns {missing} are not in the "
            f"model and the model's columns {extra} are not requested; request exactly the "
            f"model's columns {derived.names} (select or add the others after sampling)"
        )
    for field in requested:
        own = derived[field.name]
        model_type, wanted = own.dataType.typeName(), field.dataType.typeName()
        if own.dataType != field.dataType and wanted not in _WIDENINGS.get(model_type, set()):
            raise SchemaError(
                f"column {field.name!r}: the model makes {own.dataType.simpleString()} values, "
                f"which do not fit the requested {field.dataType.simpleString()} without loss; "
                f"request {own.dataType.simpleString()} and cast after sampling, or refit the "
                "model on a table of the requested type"
            )
        if own.nullable and not field.nullable:
            raise SchemaError(
                f"column {field.name!r} is requested non-nullable but the model emits nulls in it "
                "(the real column had nulls); request it nullable, or fill the nulls after sampling"
            )


def to_spark_arrow(table: pa.Table, schema: pa.Schema) -> pa.Table:
    """``table`` (a model's rows) converted to ``schema`` (see :func:`spark_target`).

    Raises:
        SamplingError: a null in a column ``schema`` declares non-nullable.
    """
    columns = []
    for field in schema:
        column = table.column(field.name)
        if not field.nullable and column.null_count:
            raise SamplingError(
                f"column {field.name!r} holds {column.null_count} null(s) but its Spark type is "
                "non-nullable; the model does not match its metadata: refit it"
            )
        # Spark keeps microseconds: nanosecond timestamps are truncated, as Spark itself does.
        columns.append(pc.cast(column, field.type, safe=not pa.types.is_timestamp(field.type)))
    return pa.Table.from_arrays(columns, schema=schema)
