"""A column's type, checked by family against the real Arrow type, on pandas and Spark alike.

GX's own type expectations take engine-specific names (``int32`` for pandas,
``IntegerType`` for Spark) and raise on names the engine does not know, and its pandas
check cannot name pandas 3's ``str`` dtype or a time-zone-aware one. One suite must serve
both engines, so :class:`ExpectColumnTypeToMatchReference` reads GX's built-in
``table.column_types`` metric and asks whether the column is of the real column's
*family*: an integer stays an integer (width may differ: Parquet, Spark and pandas
widen), a float a float, a string a string, a timestamp a timestamp. A nullable integer
may arrive as float64 in pandas (Arrow's default conversion), a nullable boolean as object.
"""

from __future__ import annotations

from typing import Any, ClassVar, Literal

import pyarrow as pa
from great_expectations.expectations.expectation import ColumnAggregateExpectation  # noqa: TID253

__all__ = ["ExpectColumnTypeToMatchReference", "type_family"]

Family = Literal["integer", "float", "string", "boolean", "timestamp", "date", "categorical"]

_SPARK = {
    "integer": {"ByteType", "ShortType", "IntegerType", "LongType"},
    "float": {"FloatType", "DoubleType"},
    "string": {"StringType", "VarcharType", "CharType"},
    "categorical": {"StringType", "VarcharType", "CharType"},
    "boolean": {"BooleanType"},
    "timestamp": {"TimestampType", "TimestampNTZType"},
    "date": {"DateType"},
}


def type_family(arrow_type: pa.DataType) -> Family | None:
    """The family of a real Arrow type (``None``: not checked, e.g. the null type)."""
    checks: list[tuple[Any, Family]] = [
        (pa.types.is_dictionary, "categorical"), (pa.types.is_integer, "integer"),
        (pa.types.is_floating, "float"), (pa.types.is_boolean, "boolean"),
        (pa.types.is_timestamp, "timestamp"), (pa.types.is_date, "date"),
        (lambda t: pa.types.is_string(t) or pa.types.is_large_string(t), "string")]
    return next((family for check, family in checks if check(arrow_type)), None)


def _pandas_matches(dtype: Any, family: str, nullable: bool) -> bool:
    from pandas.api import types as t

    if family in ("string", "categorical"):
        categorical = isinstance(dtype, t.CategoricalDtype)
        return (t.is_string_dtype(dtype) or t.is_object_dtype(dtype)
                or (categorical and family == "categorical"))
    checks = {
        "integer": lambda: t.is_integer_dtype(dtype) or (nullable and t.is_float_dtype(dtype)),
        "float": lambda: t.is_float_dtype(dtype),
        "boolean": lambda: t.is_bool_dtype(dtype) or (nullable and t.is_object_dtype(dtype)),
        "timestamp": lambda: t.is_datetime64_any_dtype(dtype),
        "date": lambda: t.is_object_dtype(dtype) or t.is_datetime64_any_dtype(dtype)
        or str(dtype).startswith("date32"),
    }
    return bool(checks[family]())


def _is_pandas_dtype(dtype: Any) -> bool:
    return not type(dtype).__module__.startswith("pyspark")


class ExpectColumnTypeToMatchReference(ColumnAggregateExpectation):
    """The column's pandas dtype or Spark type belongs to the real column's type family.

    ``arrow_type`` (the real type, for people) is not compared; ``family`` is.
    """

    arrow_type: str
    family: Family
    nullable: bool = False

    metric_dependencies: ClassVar[tuple[str, ...]] = ("table.column_types",)
    success_keys: ClassVar[tuple[str, ...]] = ("arrow_type", "family", "nullable")

    def _validate(self, metrics: dict, runtime_configuration: dict | None = None,
                  execution_engine: Any = None) -> dict[str, Any]:
        found = [c["type"] for c in metrics["table.column_types"] if c["name"] == self.column]
        if not found:
            return {"success": False, "result": {"observed_value": None,
                                                 "details": {"error": "the column is missing"}}}
        dtype = found[0]
        if _is_pandas_dtype(dtype):
            observed = str(dtype)
            success = _pandas_matches(dtype, self.family, self.nullable)
        else:
            observed = type(dtype).__name__
            success = observed in _SPARK[self.family]
        return {"success": success, "result": {"observed_value": observed,
                                               "details": {"family": self.family}}}
