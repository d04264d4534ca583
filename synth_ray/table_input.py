"""Turning what users hand us (pandas, Arrow) into one Arrow table, or a clear error.

Everything downstream works on ``pyarrow.Table``: it keeps exact types (tz-aware
timestamps, dictionaries, nullable ints) that a pandas round trip can lose.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from synth_ray.errors import DataError, SchemaError

__all__ = ["TableLike", "check_supported_types", "to_arrow"]

TableLike = Any  # pandas.DataFrame | pyarrow.Table | pyarrow.RecordBatch


def to_arrow(data: TableLike) -> pa.Table:
    """Return ``data`` as an Arrow table with unique string column names and float NaN as null.

    Raises:
        SchemaError: duplicate or non-string column names, or a column mixing types.
    """
    if isinstance(data, pa.RecordBatch):
        data = pa.Table.from_batches([data])
    if isinstance(data, pa.Table):
        _check_names(list(data.column_names))
        return _nan_to_null(data)
    import pandas as pd

    if isinstance(data, pd.DataFrame):
        return _nan_to_null(_from_pandas(data))
    raise SchemaError(
        f"expected a pandas DataFrame or a pyarrow Table, got {type(data).__name__}; "
        "for a Spark DataFrame use spark_udfs, for a file use synth_ray.read_table(path)"
    )


def _check_names(names: list[Any]) -> None:
    for name in names:
        if not isinstance(name, str):
            raise SchemaError(
                f"column name {name!r} is a {type(name).__name__}, not a string; "
                "rename the columns, e.g. df.columns = df.columns.astype(str)"
            )
    dupes = [n for n, count in Counter(names).items() if count > 1]
    if dupes:
        raise SchemaError(
            f"duplicate column name {dupes[0]!r} appears {names.count(dupes[0])} times; "
            "column names must be unique: rename or drop the copies"
        )


def _from_pandas(df: Any) -> pa.Table:
    _check_names(list(df.columns))
    try:
        return pa.Table.from_pandas(df, preserve_index=False)
    except (pa.ArrowInvalid, pa.ArrowTypeError, pa.ArrowNotImplementedError):
        pass
    for name in df.columns:  # find the culprit to name it
        try:
            pa.array(df[name], from_pandas=True)
        except (pa.ArrowInvalid, pa.ArrowTypeError, pa.ArrowNotImplementedError):
            types = sorted({type(v).__name__ for v in df[name].dropna().head(10_000)})
            raise SchemaError(
                f"column {name!r} mixes value types ({', '.join(types)}); cast it to one type "
                f"first, e.g. df[{name!r}] = df[{name!r}].astype(str) to treat it as categorical"
            ) from None
    raise SchemaError("the DataFrame could not be converted to Arrow")  # pragma: no cover


def _nan_to_null(table: pa.Table) -> pa.Table:
    """Float NaN means 'missing' to pandas users: make it a proper null (in dictionaries too)."""
    for i, f in enumerate(table.schema):
        if pa.types.is_dictionary(f.type) and pa.types.is_floating(f.type.value_type):
            table = table.set_column(i, f, _dictionary_nan_to_null(table.column(i).combine_chunks()))
        elif pa.types.is_floating(f.type):
            col = table.column(i)
            if pc.any(pc.is_nan(col)).as_py():
                mask = pc.fill_null(pc.is_nan(col), False)
                table = table.set_column(i, f, pc.if_else(mask, pa.scalar(None, f.type), col))
    return table


def check_supported_types(table: pa.Table) -> None:
    """Refuse nested and binary columns, and infinite floats, naming the column.

    Raises:
        SchemaError: a column of a type synth-ray cannot learn.
        DataError: a float column with +/-inf values.
    """
    for f in table.schema:
        t = f.type
        if pa.types.is_dictionary(t):
            t = t.value_type
        hint = _unsupported_hint(t)
        if hint:
            raise SchemaError(f"column {f.name!r} has Arrow type {t}, which synth-ray cannot learn: {hint}")
        if pa.types.is_floating(t):
            values = table.column(f.name).cast(t)  # a dictionary decoded (numpy fails on an empty one)
            bad = pc.fill_null(pc.is_inf(values), False).to_numpy(zero_copy_only=False)
            if bad.any():
                row = int(np.argmax(bad))
                raise DataError(
                    f"column {f.name!r} has {int(bad.sum())} infinite value(s) "
                    f"(first: {values[row].as_py()} at row {row}); replace them with null or a "
                    "finite value before fitting"
                )


def _supported(t: pa.DataType) -> bool:
    return (pa.types.is_boolean(t) or pa.types.is_integer(t) or pa.types.is_null(t)
            or t in (pa.float32(), pa.float64(), pa.string(), pa.large_string())
            or pa.types.is_timestamp(t) or pa.types.is_date(t))


def _unsupported_hint(t: pa.DataType) -> str | None:
    """What to do with a column of type ``t`` (``None``: synth-ray learns it as it is)."""
    if _supported(t):
        return None
    if pa.types.is_decimal(t) or t == pa.float16():
        return "cast it to float64"
    if pa.types.is_time(t) or pa.types.is_duration(t) or pa.types.is_interval(t):
        return "cast it to int64 (e.g. seconds), or to a string to learn it as a category"
    if pa.types.is_string_view(t):
        return "cast it to string"
    return "drop it, or flatten it into scalar columns (strings, numbers) before fitting"


def _dictionary_nan_to_null(array: pa.DictionaryArray) -> pa.DictionaryArray:
    """Entries pointing at a NaN of the dictionary become null (the dictionary is kept)."""
    nan_codes = pc.indices_nonzero(pc.fill_null(pc.is_nan(array.dictionary), False))
    if len(nan_codes) == 0:
        return array
    hit = pc.fill_null(pc.is_in(array.indices, value_set=nan_codes.cast(array.indices.type)), False)
    indices = pc.if_else(hit, pa.scalar(None, array.indices.type), array.indices)
    return pa.DictionaryArray.from_arrays(indices, array.dictionary, ordered=array.type.ordered)
