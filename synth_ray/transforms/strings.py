"""Casting generated strings to the real column's exact string-like Arrow type."""

from __future__ import annotations

import pyarrow as pa
import pyarrow.compute as pc

__all__ = ["cast_strings"]


def cast_strings(values: pa.Array, arrow_type: pa.DataType) -> pa.Array:
    """``values`` (Arrow strings) as ``arrow_type``: string, large_string or a dictionary."""
    if pa.types.is_dictionary(arrow_type):
        encoded = pc.dictionary_encode(values.cast(arrow_type.value_type))
        return encoded.cast(arrow_type)
    return values if values.type == arrow_type else values.cast(arrow_type)
