"""Writing a Ray Dataset of synthetic rows to a Parquet folder or a Delta table, atomically.

Ray workers stream their blocks into Parquet files (bounded memory); the driver then
publishes once, as Ray's own datasinks do: a Parquet folder is staged beside the target
(under the table's lock) and swapped into place atomically; Delta data files are staged
inside the table's folder and committed in one transaction. On failure the staged files are removed and the
published table is left as it was.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pyarrow as pa

from synth_ray.errors import InputFormatError
from synth_ray.lakehouse.delta_commit import delta_staging
from synth_ray.lakehouse.folder_swap import staged_folder
from synth_ray.lakehouse.table_format import TableFormat
from synth_ray.lakehouse.write_errors import write_errors
from synth_ray.lakehouse.writers import WriteResult, delta_schema, parquet_rows, publish_folder

__all__ = ["write_dataset"]

# Writer tasks reserve no CPU: the sampling actors may hold every CPU of the cluster (2 actors
# on 2 cores), and a writer that waits for a CPU they never release would deadlock the
# stream once the object store fills (Ray Data keeps an actor pool's CPUs until its input
# is done). They still take their share of the cores from the OS; ``concurrency`` bounds them.
_WRITE_ARGS: dict[str, Any] = {"ray_remote_args": {"num_cpus": 0}, "concurrency": 2}


def _write_delta(dataset: Any, schema: pa.Schema, target: Path, mode: str) -> WriteResult:
    stored = delta_schema(schema)
    with delta_staging(target) as staging:  # referenced by the commit, or removed
        dataset.map_batches(lambda t: t.cast(stored), batch_format="pyarrow", batch_size=None,
                            num_cpus=0, concurrency=2).write_parquet(str(staging.folder),
                                                                     **_WRITE_ARGS)
        files = sorted(staging.folder.glob("*.parquet"))
        version = staging.commit(files, schema=stored, mode=mode)
    return WriteResult(path=target, format=TableFormat.DELTA, rows=parquet_rows(files), version=version)


def _write_parquet(dataset: Any, target: Path, mode: str) -> WriteResult:
    with write_errors(target), staged_folder(target) as staging:
        dataset.write_parquet(str(staging), **_WRITE_ARGS)
        rows = parquet_rows(staging.glob("*.parquet"))
        publish_folder(staging, target, mode=mode)
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
        return _write_delta(dataset, schema, target, mode)
    return _write_parquet(dataset, target, mode)
