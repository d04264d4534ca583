"""Arrow -> pandas with the real DataFrame's dtypes, not just pandas' defaults.

pandas 3 turns Arrow strings into its ``str`` dtype; a real frame that held Python
objects (as CSV readers and older code produce) should come back as ``object``. The
pandas metadata kept in the real table's schema says which dtype each column had.
"""

from __future__ import annotations

import json

import pandas as pd
import pyarrow as pa

__all__ = ["to_pandas"]


def _object_columns(schema: pa.Schema) -> list[str]:
    raw = (schema.metadata or {}).get(b"pandas")
    if not raw:
        return []
    try:
        columns = json.loads(raw)["columns"]
    except (ValueError, KeyError, TypeError):
        return []
    return [c["name"] for c in columns
            if c.get("numpy_type") == "object" and c.get("pandas_type") in ("unicode", "bytes")
            and c.get("name") in schema.names]


def to_pandas(table: pa.Table) -> pd.DataFrame:
    """``table`` as a DataFrame, with the dtypes its pandas metadata records."""
    frame = table.to_pandas()
    for name in _object_columns(table.schema):
        frame[name] = frame[name].astype(object)
    return frame
