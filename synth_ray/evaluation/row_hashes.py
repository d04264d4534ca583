"""64-bit hashes of whole rows: exact copies and duplicates without comparing rows.

Two rows hash equal when all their compared values are equal, whatever the table's
physical layout: dictionary columns hash like their decoded values, integers like the
same floats (a CSV round trip turns one into the other), nulls alike in every type.
Hashes are computed a batch of rows at a time, so a 100-million-row training table
costs 8 bytes a row, not a copy of the table.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

__all__ = ["duplicate_rate", "match_rate", "row_hashes"]

_BATCH_ROWS = 1_000_000
_NULL = np.uint64(0x9E3779B97F4A7C15)
_MIX = np.uint64(0x100000001B3)


def _value_hashes(values: pa.Array) -> np.ndarray:
    """Hashes of an array's values (nulls get ``_NULL``); equal values, equal hashes."""
    import pandas as pd

    dtype = values.type
    if pa.types.is_dictionary(dtype):
        codes = pc.fill_null(values.indices, len(values.dictionary)).to_numpy(zero_copy_only=False)
        hashed = np.append(_value_hashes(values.dictionary), _NULL)[codes]  # nulls: the last slot
    else:
        if pa.types.is_integer(dtype) or pa.types.is_floating(dtype) or pa.types.is_decimal(dtype):
            array = pc.fill_null(pc.cast(values, pa.float64(), safe=False), 0.0).to_numpy()
        elif pa.types.is_temporal(dtype):
            as_int = pa.int32() if dtype.bit_width == 32 else pa.int64()  # date32, time32
            array = pc.fill_null(pc.cast(values, as_int), 0).to_numpy().astype(np.int64)
        elif pa.types.is_boolean(dtype):
            array = pc.fill_null(values, False).to_numpy(zero_copy_only=False).astype(np.uint8)
        elif pa.types.is_null(dtype):
            return np.full(len(values), _NULL, dtype=np.uint64)
        else:
            array = values.to_numpy(zero_copy_only=False).astype(object)
        hashed = pd.util.hash_array(np.asarray(array))
    if values.null_count:
        valid = values.is_valid().to_numpy(zero_copy_only=False)
        hashed = np.where(valid, hashed, _NULL)
    return np.asarray(hashed, dtype=np.uint64)


def row_hashes(table: pa.Table, columns: list[str]) -> np.ndarray:
    """One uint64 per row of ``table``, over the values of ``columns``."""
    out = np.zeros(table.num_rows, dtype=np.uint64)
    for start in range(0, table.num_rows, _BATCH_ROWS):
        part = table.slice(start, _BATCH_ROWS)
        acc = np.zeros(part.num_rows, dtype=np.uint64)
        for name in columns:
            acc = (acc * _MIX) ^ _value_hashes(part.column(name).combine_chunks())
        out[start:start + part.num_rows] = acc
    return out


def match_rate(query: np.ndarray, reference: np.ndarray) -> float:
    """Share of ``query`` rows (hashes) that equal some ``reference`` row."""
    return float(np.isin(query, reference).mean()) if len(query) else float("nan")


def duplicate_rate(hashes: np.ndarray) -> float:
    """Share of rows that repeat an earlier row of the same table."""
    return 1.0 - len(np.unique(hashes)) / len(hashes) if len(hashes) else float("nan")
