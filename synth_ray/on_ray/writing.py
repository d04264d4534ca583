"""Writing a Ray Dataset of synthetic rows to a Parquet folder or a Delta table, atomically.

Ray workers stream their blocks into Parquet files (bounded memory); the driver then
publishes once, as Ray's own datasinks do: a Parquet folder is staged beside the target
and renamed into place; Delta data files are staged inside the table's folder and
committed in one transaction. On failure the staged files are removed and the
published table is left as it was.
"""

from __future__ import annotations

import shutil
import tempfile
import uuid
from pathlib import Path
from typing import Any

import pyarrow as pa

from synth_ray.errors import InputFormatError
from synth_ray.lakehouse.delta_commit import commit_parquet_files
from synth_ray.lakehouse.table_format import TableFormat
from synth_ray.lakehouse.writers import WriteResult, delta_schema, parquet_rows, publish_folder

__all__ = ["write_dataset"]


def _write_delta(dataset: Any, schema: pa.Schema, target: Path, mode: str) -> WriteResult:
    stored = delta_schema(schema)
    staging = target / f"write-{uuid.uuid4().hex[:12]}"  # referenced by the commit, or removed
    try:
        dataset.map_batches(lambda t: t.cast(stored), batch_format="pyarrow",
                            batch_size=None).write_parquet(str(staging))
        files = sorted(staging.glob("*.parquet"))
        version = commit_parquet_files(target, files, schema=stored, mode=mode)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return WriteResult(path=target, format=TableFormat.DELTA, rows=parquet_rows(files), version=version)


def _write_parquet(dataset: Any, target: Path, mode: str) -> WriteResult:
    staging = Path(tempfile.mkdtemp(prefix=f".{target.name}.staging-", dir=target.parent))
    try:
        dataset.write_parquet(str(staging))
        rows = parquet_rows(staging.glob("*.parquet"))
        publish_folder(staging, target, mode=mode)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return WriteResult(path=target, format=TableFormat.PARQUET, rows=rows)


def write_dataset(dataset: Any, *, schema: pa.Schema, path: str | Path,
                  format: TableFormat | str = TableFormat.DELTA, mode: str = "overwrite") -> WriteResult:
    """Stream ``dataset`` (blocks of ``schema``) into a Delta table or Parquet folder at ``path``."""
    fmt, target = TableFormat(format), Path(path)
    if mode not in ("overwrite", "append"):
        raise InputFormatError(f"write mode must be 'overwrite' or 'append', got {mode!r}")
    if fmt is TableFormat.CSV:
        raise InputFormatError("Ray writes Delta tables and Parquet folders; for CSV use the local engine")
    target.parent.mkdir(parents=True, exist_ok=True)
    if fmt is TableFormat.DELTA:
        target.mkdir(exist_ok=True)
        return _write_delta(dataset, schema, target, mode)
    return _write_parquet(dataset, target, mode)
