"""Delta file statistics (row count, per-column min, max and null count) from a Parquet footer.

A Delta ``add`` action may carry statistics that engines use to skip files (Spark, Trino,
DuckDB, deltalake itself). synth-ray's writers produce the Parquet files first and commit
them afterwards, so the statistics are read back from each file's footer (row-group
statistics the Parquet writer already computed: no data is re-read).

A bound is recorded only when it is exact and safe for skipping: numbers (finite),
dates, and strings of at most :data:`MAX_STRING_STAT` characters. Timestamps are left out
(the protocol's statistics have millisecond precision; a truncated maximum would be
smaller than the true one and make readers skip files that hold matching rows), as are
booleans, decimals and binary columns. A missing bound only means no skipping on that
column; the null count is recorded for every column whose row groups all carry one.
"""

from __future__ import annotations

import datetime as dt
import json
import math
from pathlib import Path
from typing import Any

__all__ = ["MAX_STRING_STAT", "file_stats"]

MAX_STRING_STAT = 32  # Delta's default prefix length for string statistics


def _json_bound(value: Any) -> Any:
    """``value`` as a Delta statistics value, or None when it has no exact, safe form."""
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dt.datetime):
        return None
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, str):
        return value if len(value) <= MAX_STRING_STAT else None
    return None


def file_stats(file: Path) -> str:
    """The ``stats`` JSON of a Delta add action for the Parquet ``file``."""
    import pyarrow.parquet as pq

    meta = pq.ParquetFile(file).metadata
    mins: dict[str, Any] = {}
    maxs: dict[str, Any] = {}
    nulls: dict[str, int] = {}
    for j in range(meta.num_columns):
        name = meta.schema.column(j).path
        if "." in name:  # nested columns are not written by synth-ray
            continue
        groups = [meta.row_group(i).column(j).statistics for i in range(meta.num_row_groups)]
        if groups and all(s is not None and s.has_null_count for s in groups):
            nulls[name] = sum(int(s.null_count) for s in groups)
        if not groups or not all(s is not None and s.has_min_max for s in groups):
            continue
        low = [_json_bound(s.min) for s in groups]
        high = [_json_bound(s.max) for s in groups]
        if any(v is None for v in low + high):
            continue
        mins[name], maxs[name] = min(low), max(high)
    stats: dict[str, Any] = {"numRecords": meta.num_rows}
    if mins:
        stats["minValues"], stats["maxValues"] = mins, maxs
    if nulls:
        stats["nullCount"] = nulls
    return json.dumps(stats)
