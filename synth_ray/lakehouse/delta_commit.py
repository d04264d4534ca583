"""Committing Parquet files written elsewhere (Ray workers, Spark executors) to a Delta table.

Distributed writers put data files inside the table's folder, where no reader sees
them until the driver commits them: one transaction, so the table moves from its old
version to the new one at once, and a failed job leaves only unreferenced files
(removed here on failure) and the old version intact.
"""

from __future__ import annotations

import shutil
import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pyarrow as pa

from synth_ray.errors import SchemaError
from synth_ray.lakehouse.delta_stats import file_stats
from synth_ray.lakehouse.write_errors import write_errors

__all__ = ["DeltaStaging", "commit_parquet_files", "delta_staging"]


def _add_action(table: Path, file: Path) -> object:
    from deltalake.transaction import AddAction

    stat = file.stat()
    return AddAction(path=file.relative_to(table).as_posix(), size=stat.st_size,
                     partition_values={}, modification_time=int(stat.st_mtime * 1000),
                     data_change=True, stats=file_stats(file))


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
                         mode: str = "overwrite", commit_properties: Any = None,
                         read_version: int | None = None) -> int:
    """Commit ``files`` (already inside ``table``) as one Delta transaction; return the version.

    Args:
        table: the Delta table's folder (created if it is not a Delta table yet).
        files: Parquet files inside ``table`` whose schema is ``schema``.
        schema: a Delta-compatible Arrow schema (see :func:`writers.delta_schema`).
        mode: ``overwrite`` (the files become the whole table) or ``append``.
        commit_properties: a ``deltalake.CommitProperties`` recorded in the commit (custom
            metadata, application transactions that make a retried append idempotent).
        read_version: the version the write started from: a commit by another writer since
            then that conflicts (an overwrite, a delete) makes this commit fail (optimistic
            concurrency) instead of silently replacing rows this write never saw.

    Raises:
        SchemaError: an append whose columns, types or nullability differ from the table's.
    """
    from deltalake import DeltaTable, Schema
    from deltalake.transaction import create_table_with_add_actions

    root = Path(table)
    actions = [_add_action(root, Path(f)) for f in files]
    delta = Schema.from_arrow(schema)
    if DeltaTable.is_deltatable(str(root)):
        existing = DeltaTable(str(root), version=read_version)
        if mode == "append":
            _check_append_schema(existing.schema(), delta, root)
        existing.create_write_transaction(actions, mode=mode,  # type: ignore[arg-type]
                                          schema=delta, commit_properties=commit_properties)
    else:
        create_table_with_add_actions(str(root), delta, actions, mode="error",  # type: ignore[arg-type]
                                      commit_properties=commit_properties)
    return DeltaTable(str(root)).version()


@dataclass(frozen=True)
class DeltaStaging:
    """A write in progress to a Delta table: its private folder inside the table, and its start.

    Attributes:
        table: the Delta table's folder.
        folder: ``<table>/write-<id>/``, where this write's data files go (no reader sees
            them until :meth:`commit` references them).
        read_version: the table's version when the write started (None: no table yet).
    """

    table: Path
    folder: Path
    read_version: int | None

    def commit(self, files: Sequence[Path], *, schema: pa.Schema, mode: str,
               commit_properties: Any = None) -> int:
        """Commit ``files`` in one transaction checked against :attr:`read_version`."""
        return commit_parquet_files(self.table, files, schema=schema, mode=mode,
                                    commit_properties=commit_properties,
                                    read_version=self.read_version)


@contextmanager
def delta_staging(table: Path) -> Iterator[DeltaStaging]:
    """A staging folder inside ``table`` for one write, removed if the write fails.

    On any failure the staged files are removed (and the table's folder, when this write
    created it and nothing was committed), a full disk becomes ``StorageFullError`` and a
    lost commit race ``ConcurrentWriteError``. A write killed outright leaves only its
    ``write-<id>/`` folder, which no version references (``DeltaTable.vacuum`` removes it).
    """
    from deltalake import DeltaTable

    created = not table.exists()
    read_version = DeltaTable(str(table)).version() if DeltaTable.is_deltatable(str(table)) else None
    table.mkdir(parents=True, exist_ok=True)
    staging = DeltaStaging(table=table, folder=table / f"write-{uuid.uuid4().hex[:12]}",
                           read_version=read_version)
    try:
        with write_errors(table):
            yield staging
    except BaseException:
        shutil.rmtree(staging.folder, ignore_errors=True)
        if created and not (table / "_delta_log").exists():
            shutil.rmtree(table, ignore_errors=True)
        raise
