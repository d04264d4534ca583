"""Writing synthetic rows through Ray to a Parquet folder or a Delta table, atomically.

:func:`write_sample` has the sampling actors write their chunks to Parquet files
themselves (:mod:`synth_ray.on_ray.chunk_files`): no row crosses Ray's object store or the
driver. :func:`write_dataset` writes any Ray Dataset of synthetic rows: Ray workers stream
its blocks into Parquet files. Memory is bounded either way; the driver then publishes
once, as Ray's own datasinks do: a Parquet folder is staged beside the target
(under the table's lock) and swapped into place atomically; Delta data files are staged
inside the table's folder and committed in one transaction. On failure the staged files are removed and the
published table is left as it was.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pyarrow as pa

from synth_ray.conditions import Conditions, Distribution
from synth_ray.errors import InputFormatError
from synth_ray.lakehouse.delta_commit import delta_staging
from synth_ray.lakehouse.folder_swap import staged_folder
from synth_ray.lakehouse.table_format import TableFormat
from synth_ray.lakehouse.write_errors import write_errors
from synth_ray.lakehouse.writers import WriteResult, delta_schema, parquet_rows, publish_folder

if TYPE_CHECKING:
    from synth_ray.synthesizer import Synthesizer

__all__ = ["write_dataset", "write_sample"]

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


def _target(path: str | Path, format: TableFormat | str, mode: str) -> tuple[TableFormat, Path]:
    fmt, target = TableFormat(format), Path(path)
    if mode not in ("overwrite", "append"):
        raise InputFormatError(f"write mode must be 'overwrite' or 'append', got {mode!r}")
    if fmt is TableFormat.CSV:
        raise InputFormatError("Ray writes Delta tables and Parquet folders; for CSV use the local engine")
    target.parent.mkdir(parents=True, exist_ok=True)
    return fmt, target


def write_dataset(dataset: Any, *, schema: pa.Schema, path: str | Path,
                  format: TableFormat | str = TableFormat.DELTA, mode: str = "overwrite") -> WriteResult:
    """Stream ``dataset`` (blocks of ``schema``) into a Delta table or Parquet folder at ``path``."""
    fmt, target = _target(path, format, mode)
    if fmt is TableFormat.DELTA:
        return _write_delta(dataset, schema, target, mode)
    return _write_parquet(dataset, target, mode)


def _write_files(write: Callable[[Path, pa.Schema], int], folder: Path, schema: pa.Schema) -> int:
    """Run ``write(folder, schema)`` (it returns the rows written); drop a killed attempt's debris."""
    folder.mkdir(parents=True, exist_ok=True)
    rows = write(folder, schema)
    from synth_ray.on_ray.chunk_files import TEMPORARY_GLOB

    for debris in folder.glob(TEMPORARY_GLOB):
        debris.unlink(missing_ok=True)
    if rows == 0:  # still leave a readable, typed, empty table
        import pyarrow.parquet as pq

        pq.write_table(schema.empty_table(), folder / "part-empty.parquet")
    return rows


def write_sample(synth: Synthesizer, *, rows: int, path: str | Path, seed: int = 0,
                 format: TableFormat | str = TableFormat.DELTA, mode: str = "overwrite",
                 blocks: int | None = None, actors: int = 1, num_cpus: float = 1.0,
                 address: str | None = None, conditions: Conditions | None = None,
                 distribution: Distribution | None = None) -> WriteResult:
    """Sample ``rows`` rows on Ray's sampling actors, which write them as Parquet files; publish.

    The table holds exactly ``sample(rows, seed)``: its files, in name order, are its rows
    in order. Each input block becomes one file (``blocks``: as ``sample_dataset``, about 8
    chunks a block by default). The arguments are those of
    :func:`~synth_ray.on_ray.sampling.sample_dataset` and :func:`write_dataset`.
    """
    from synth_ray.on_ray.chunk_files import ChunkFileWriter
    from synth_ray.on_ray.sampling import map_chunks

    fmt, target = _target(path, format, mode)
    schema = synth.metadata.arrow_schema

    def write(folder: Path, stored: pa.Schema) -> int:
        written = map_chunks(synth, ChunkFileWriter, rows=rows, seed=seed, blocks=blocks,
                             actors=actors, num_cpus=num_cpus, address=address,
                             conditions=conditions, distribution=distribution, batch_size=None,
                             fn_kwargs={"folder": str(folder), "schema": stored})
        return 0 if written is None else int(sum(r["rows"] for r in written.take_all()))

    if fmt is TableFormat.DELTA:
        stored = delta_schema(schema)
        with delta_staging(target) as staging:
            count = _write_files(write, staging.folder, stored)
            version = staging.commit(sorted(staging.folder.glob("*.parquet")), schema=stored,
                                     mode=mode)
        return WriteResult(path=target, format=fmt, rows=count, version=version)
    with write_errors(target), staged_folder(target) as staging_folder:
        count = _write_files(write, staging_folder, schema)
        publish_folder(staging_folder, target, mode=mode)
    return WriteResult(path=target, format=fmt, rows=count)
