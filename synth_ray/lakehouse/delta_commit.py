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
from typing import Any

import pyarrow as pa

from synth_ray.errors import SchemaError

__all__ = ["commit_parquet_files"]


def _add_action(table: Path, file: Path) -> object:
    import pyarrow.parquet as pq
    from deltalake.transaction import AddAction

    stat = file.stat()
    rows = pq.ParquetFile(file).metadata.num_rows
    return AddAction(path=file.relative_to(table).as_posix(), size=stat.st_size,
                     partition_values={}, modification_time=int(stat.st_mtime * 1000),
                     data_change=True, stats=json.dumps({"numRecords": rows}))


def _check_append_schema(table: Any, rows: Any, root: Path) -> None:
    """Refuse an append whose columns differ: deltalake would silently adopt the new schema."""
    have = {f.name: f for f in table.fields}
    new = {f.name: f for f in rows.fields}
    problems = [f"{name!r} is missing from the new rows" for name in have if name not in new]
    problems += [f"{name!r} is not in the table" for name in new if name not in have]
    for name in have.keys() & new.keys():
        if have[name].type != new[name].type:
            problems.append(f"{name!r} is {have[name].type} in the table, {new[name].type} in the new rows")
        elif new[name].nullable and not have[name].nullable:
            problems.append(f"{name!r} is non-nullable in the table but nullable in the new rows")
    if problems:
        raise SchemaError(
            f"cannot append to the Delta table at {str(root)!r}: column "
            f"{'; column '.join(sorted(problems))}; append rows of the table's schema, overwrite the "
            "table, or write to a new path"
        )


def commit_parquet_files(table: str | Path, files: Sequence[Path], *, schema: pa.Schema,
                         mode: str = "overwrite", commit_properties: Any = None) -> int:
    """Commit ``files`` (already inside ``table``) as one Delta transaction; return the version.

    Args:
        table: the Delta table's folder (created if it is not a Delta table yet).
        files: Parquet files inside ``table`` whose schema is ``schema``.
        schema: a Delta-compatible Arrow schema (see :func:`writers.delta_schema`).
        mode: ``overwrite`` (the files become the whole table) or ``append``.
        commit_properties: a ``deltalake.CommitProperties`` recorded in the commit (custom
            metadata, application transactions that make a retried append idempotent).

    Raises:
        SchemaError: an append whose columns, types or nullability differ from the table's.
    """
    from deltalake import DeltaTable, Schema
    from deltalake.transaction import create_table_with_add_actions

    root = Path(table)
    actions = [_add_action(root, Path(f)) for f in files]
    delta = Schema.from_arrow(schema)
    if DeltaTable.is_deltatable(str(root)):
        existing = DeltaTable(str(root))
        if mode == "append":
            _check_append_schema(existing.schema(), delta, root)
        existing.create_write_transaction(actions, mode=mode,  # type: ignore[arg-type]
                                          schema=delta, commit_properties=commit_properties)
    else:
        create_table_with_add_actions(str(root), delta, actions, mode="error",  # type: ignore[arg-type]
                                      commit_properties=commit_properties)
    return DeltaTable(str(root)).version()
