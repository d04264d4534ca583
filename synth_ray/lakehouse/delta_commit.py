"""Committing Parquet files written elsewhere (Ray workers, Spark executors) to a Delta table.

Distributed writers put data files inside the table's folder, where no reader sees
them until the driver commits them: one transaction, so the table moves from its old
version to the new one at once, and a failed job leaves only unreferenced files
(removed here on failure) and the old version intact.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

import pyarrow as pa

__all__ = ["commit_parquet_files"]


def _add_action(table: Path, file: Path) -> object:
    import pyarrow.parquet as pq
    from deltalake.transaction import AddAction

    stat = file.stat()
    rows = pq.ParquetFile(file).metadata.num_rows
    return AddAction(path=file.relative_to(table).as_posix(), size=stat.st_size,
                     partition_values={}, modification_time=int(stat.st_mtime * 1000),
                     data_change=True, stats=json.dumps({"numRecords": rows}))


def commit_parquet_files(table: str | Path, files: Sequence[Path], *, schema: pa.Schema,
                         mode: str = "overwrite") -> int:
    """Commit ``files`` (already inside ``table``) as one Delta transaction; return the version.

    Args:
        table: the Delta table's folder (created if it is not a Delta table yet).
        files: Parquet files inside ``table`` whose schema is ``schema``.
        schema: a Delta-compatible Arrow schema (see :func:`writers.delta_schema`).
        mode: ``overwrite`` (the files become the whole table) or ``append``.
    """
    from deltalake import DeltaTable, Schema
    from deltalake.transaction import create_table_with_add_actions

    root = Path(table)
    actions = [_add_action(root, Path(f)) for f in files]
    delta = Schema.from_arrow(schema)
    if DeltaTable.is_deltatable(str(root)):
        DeltaTable(str(root)).create_write_transaction(actions, mode=mode,  # type: ignore[arg-type]
                                                       schema=delta)
    else:
        create_table_with_add_actions(str(root), delta, actions, mode="error")  # type: ignore[arg-type]
    return DeltaTable(str(root)).version()
