"""Sampling straight into a published table: Spark's Python workers write the Parquet files.

``write_synthetic_table(sample_dataframe(...))`` hands every row to the JVM, which turns it
into a Spark row and encodes it into Parquet: with the Gaussian copula that costs the JVM
about 2-3 us a row, five times what the Python worker spends making it (measured in
benchmarks/RESULTS.md). :func:`write_sample` keeps the rows in the Python workers: each task
(one ``mapInArrow`` over ``spark.range(chunks)``) makes its chunks, writes them with
pyarrow into one Parquet file in the table's staging folder and hands the JVM only the
file's name and row count; the driver then publishes the files once, as
:func:`spark_udfs.write_synthetic_table` does (one Delta commit, or one folder exchange).

A task's file is named after the write and the task's first chunk, so the files sort in
row order and a retried task (its worker killed, its executor lost) writes the same file
again: each attempt writes a hidden temporary file and renames it into place, and the
debris of a killed attempt is removed before the publish. The driver and the executors
must share the table's file system (one machine, or a mounted volume).
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import TYPE_CHECKING

import pyarrow as pa
import pyarrow.compute as pc

from spark_udfs.sampling import chunk_indices, model_and_files, prefetched, sampling_partitions
from spark_udfs.session import import_pyspark
from spark_udfs.worker_cache import cached_model
from spark_udfs.writing import local_path
from synth_ray.errors import InputFormatError
from synth_ray.lakehouse.delta_commit import delta_staging
from synth_ray.lakehouse.folder_swap import staged_folder
from synth_ray.lakehouse.table_format import TableFormat
from synth_ray.lakehouse.write_errors import write_errors
from synth_ray.lakehouse.writers import WriteResult, delta_schema, publish_folder
from synth_ray.randomness import check_seed
from synth_ray.sampling import check_rows, sample_chunk

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

    from synth_ray.synthesizer import Synthesizer

__all__ = ["ChunkFileWriter", "write_sample"]

_DEBRIS_GLOB = ".part-*.tmp"
_ROW_GROUP_ROWS = 1 << 20
_CHUNKS_PER_FILE = 64  # 4,194,304 rows a file at the default chunk size
_RESULT_DDL = "file string, rows bigint"


class ChunkFileWriter:
    """The ``mapInArrow`` function: a task's chunks into one Parquet file; (file, rows) out.

    Args:
        files: the model's artifact (:func:`synth_ray.artifacts.model_files`).
        seed: the sampling seed.
        rows: rows of the whole sample (the last chunk is cut there).
        folder: where the files go (the staging folder the driver publishes).
        schema: the files' Arrow schema (the model's own, or Delta's closest).
        write_id: names this write's files apart from files already in the table.
    """

    def __init__(self, *, files: Mapping[str, bytes], seed: int, rows: int, folder: str,
                 schema: pa.Schema, write_id: str) -> None:
        self.files = dict(files)
        self.seed, self.rows, self.folder = seed, rows, Path(folder)
        self.schema, self.write_id = schema, write_id

    def __call__(self, batches: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
        """Write this task's chunks (the next one made while the last is encoded)."""
        import pyarrow.parquet as pq

        synth = cached_model(self.files)
        chunks = chunk_indices(batches)
        first = next(chunks, None)
        if first is None:
            return
        name = f"part-{self.write_id}-{first:010d}.parquet"
        partial = self.folder / f".{name}.{uuid.uuid4().hex[:8]}.tmp"
        written = 0
        try:
            with pq.ParquetWriter(partial, self.schema) as writer:
                for table in prefetched(lambda c: self._chunk(synth, c), _chain(first, chunks)):
                    writer.write_table(table, row_group_size=_ROW_GROUP_ROWS)
                    written += table.num_rows
            os.replace(partial, self.folder / name)
        finally:
            partial.unlink(missing_ok=True)
        yield pa.record_batch([pa.array([name]), pa.array([written], pa.int64())], names=["file", "rows"])

    def _chunk(self, synth: Synthesizer, chunk: int) -> pa.Table:
        keep = min(synth.chunk_rows, self.rows - chunk * synth.chunk_rows)
        table = sample_chunk(synth, seed=self.seed, chunk_index=chunk).slice(0, keep)
        return table if table.schema.equals(self.schema) else table.cast(self.schema)


def _chain(first: int, rest: Iterator[int]) -> Iterator[int]:
    yield first
    yield from rest


def _write_files(spark: SparkSession, writer: ChunkFileWriter, chunks: int,
                 partitions: int) -> tuple[list[Path], int]:
    """Run the writer on Spark; return its files in row order (debris removed) and their rows."""
    writer.folder.mkdir(parents=True, exist_ok=True)
    plan = spark.range(0, chunks, 1, numPartitions=partitions)
    result = plan.mapInArrow(writer, _RESULT_DDL).toArrow()
    for debris in writer.folder.glob(_DEBRIS_GLOB):
        debris.unlink(missing_ok=True)
    files = [writer.folder / name for name in sorted(result.column("file").to_pylist())]
    if not files:  # still a readable, typed, empty table
        import pyarrow.parquet as pq

        files = [writer.folder / f"part-{writer.write_id}-empty.parquet"]
        pq.write_table(writer.schema.empty_table(), files[0])
    return files, int(pc.sum(result.column("rows")).as_py() or 0)


def _file_partitions(spark: SparkSession, partitions: int | None, chunks: int) -> int:
    if partitions is not None:
        return sampling_partitions(spark, partitions, chunks)
    return max(sampling_partitions(spark, None, chunks), min(chunks, -(-chunks // _CHUNKS_PER_FILE)), 1)


def write_sample(spark: SparkSession, model: Synthesizer | str | Path, *, rows: int, path: str | Path,
                 seed: int = 0, format: TableFormat | str = TableFormat.DELTA, mode: str = "overwrite",
                 partitions: int | None = None) -> WriteResult:
    """Sample ``rows`` rows on Spark's Python workers, which write them as Parquet; publish once.

    The table holds exactly ``sample(rows, seed)`` in the model's own Arrow schema (Delta's
    closest for a Delta table); its files, in name order, are its rows in order.

    Args:
        spark: the session (classic; the executors must share ``path``'s file system).
        model: a fitted :class:`~synth_ray.Synthesizer`, or a saved model's directory.
        rows: number of rows.
        path: the table's folder.
        seed: sampling seed.
        format: ``delta`` (default) or ``parquet``.
        mode: ``overwrite`` or ``append``; either is one Delta transaction or one exchange.
        partitions: Spark tasks, one file each (default: the default parallelism, or one
            per 64 chunks when that is more).

    Raises:
        SamplingError: a negative row count or seed.
        InputFormatError: an unknown format or mode, or a path that is not local.
    """
    import_pyspark("Spark sampling")
    rows, seed = check_rows(rows), check_seed(seed)
    if mode not in ("overwrite", "append"):
        raise InputFormatError(f"write mode must be 'overwrite' or 'append', got {mode!r}")
    if str(getattr(format, "value", format)) not in ("delta", "parquet"):
        raise InputFormatError(f"write_sample writes 'delta' or 'parquet' tables, not {format!r}")
    fmt, target = TableFormat(format), local_path(path)
    synth, files = model_and_files(model)
    chunks = -(-rows // synth.chunk_rows)
    parts = _file_partitions(spark, partitions, chunks)
    schema = synth.metadata.arrow_schema

    def writer(folder: Path, stored: pa.Schema) -> ChunkFileWriter:
        return ChunkFileWriter(files=files, seed=seed, rows=rows, folder=str(folder), schema=stored,
                               write_id=uuid.uuid4().hex[:12])

    if fmt is TableFormat.DELTA:
        stored = delta_schema(schema)
        with delta_staging(target) as staging:
            written, count = _write_files(spark, writer(staging.folder, stored), chunks, parts)
            version = staging.commit(written, schema=stored, mode=mode)
        return WriteResult(path=target, format=fmt, rows=count, version=version)
    target.parent.mkdir(parents=True, exist_ok=True)
    with write_errors(target), staged_folder(target) as folder:
        _, count = _write_files(spark, writer(folder, schema), chunks, parts)
        publish_folder(folder, target, mode=mode)
    return WriteResult(path=target, format=fmt, rows=count)
