"""Sampling on Spark: a DataFrame of synthetic rows, identical to local sampling.

The plan is ``spark.range(chunks, numPartitions=P).mapInArrow(ChunkSampler(...))``:
each row of the range is one chunk index, and :class:`ChunkSampler` turns it into that
chunk's rows with :func:`synth_ray.sampling.sample_chunk`, the same function local
and Ray sampling use. A chunk depends only on ``(model, seed, chunk index)``, never
on the partition, task attempt or executor, so the DataFrame equals
``sample(rows, seed)`` row for row, in order, for any ``P`` and after any retry.

The model travels as its artifact's bytes inside the function's closure (Spark ships
a large closure as a broadcast by itself; Spark Connect, which has no ``broadcast``,
ships it with the plan) and is loaded once per Python worker
(:mod:`spark_udfs.worker_cache`), never per batch.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Iterator, Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import TYPE_CHECKING, TypeVar

import pyarrow as pa

from spark_udfs.schema import spark_target, to_spark_arrow
from spark_udfs.session import import_pyspark
from spark_udfs.worker_cache import cached_model
from synth_ray.artifacts import load_model_files, model_files, read_model_files
from synth_ray.errors import ConfigError
from synth_ray.randomness import check_seed
from synth_ray.sampling import check_rows, sample_chunk

if TYPE_CHECKING:
    from pyspark.sql import DataFrame, SparkSession
    from pyspark.sql.types import StructType

    from synth_ray.synthesizer import Synthesizer

__all__ = ["PREFETCH_CHUNKS", "ChunkSampler", "chunk_indices", "prefetched", "sample_dataframe"]

T = TypeVar("T")

_MAX_DEFAULT_PARTITIONS = 200
PREFETCH_CHUNKS = 1  # chunks made ahead of the one Spark is taking, per task


def chunk_indices(batches: Iterator[pa.RecordBatch]) -> Iterator[int]:
    """The chunk indices in Spark's input batches (one ``spark.range`` column), in order."""
    return (chunk for batch in batches for chunk in batch.column(0).to_pylist())


def prefetched(make: Callable[[int], T], chunks: Iterator[int]) -> Iterator[T]:
    """``make(chunk)`` for each chunk in order, computed :data:`PREFETCH_CHUNKS` ahead on a thread.

    A Python worker would otherwise sit idle while its last batch crosses the socket to
    the JVM (about an eighth of the time with the Gaussian copula, measured in
    benchmarks/RESULTS.md), or while a Parquet writer encodes it. A task holds at most
    ``PREFETCH_CHUNKS + 1`` results whatever its share; when the consumer stops early the
    thread finishes its current chunk and is joined.
    """
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="synth-ray-spark") as pool:
        window: deque[Future[T]] = deque()
        for chunk in chunks:
            window.append(pool.submit(make, chunk))
            if len(window) > PREFETCH_CHUNKS:
                yield window.popleft().result()
        while window:
            yield window.popleft().result()


class ChunkSampler:
    """The ``mapInArrow`` function: batches of chunk indices in, those chunks' rows out.

    Args:
        files: the model's artifact (:func:`synth_ray.artifacts.model_files`).
        seed: the sampling seed.
        rows: rows of the whole sample (the last chunk is cut there).
        arrow_schema: the exact Arrow schema of the batches Spark expects.
    """

    def __init__(self, *, files: Mapping[str, bytes], seed: int, rows: int,
                 arrow_schema: pa.Schema) -> None:
        self.files = dict(files)
        self.seed = seed
        self.rows = rows
        self.arrow_schema = arrow_schema

    def __call__(self, batches: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
        """The chunks' rows in order, the next chunk made while Spark takes the current one."""
        synth = cached_model(self.files)
        for table in prefetched(lambda chunk: self._chunk(synth, chunk), chunk_indices(batches)):
            yield from table.to_batches()

    def _chunk(self, synth: Synthesizer, chunk: int) -> pa.Table:
        """Chunk ``chunk``'s rows (cut at the sample's end) in the Arrow types Spark expects."""
        keep = min(synth.chunk_rows, self.rows - chunk * synth.chunk_rows)
        rows = sample_chunk(synth, seed=self.seed, chunk_index=chunk).slice(0, keep)
        return to_spark_arrow(rows, self.arrow_schema)


def model_and_files(model: Synthesizer | str | Path) -> tuple[Synthesizer, dict[str, bytes]]:
    if isinstance(model, str | Path):
        files = read_model_files(model)
        return load_model_files(files, where=repr(str(model))), files
    return model, model_files(model)


def sampling_partitions(spark: SparkSession, partitions: int | None, chunks: int) -> int:
    if partitions is not None:
        if isinstance(partitions, bool) or not isinstance(partitions, int) or partitions < 1:
            raise ConfigError(f"partitions must be a positive integer, got {partitions!r}")
        return partitions
    try:
        parallelism = int(spark.sparkContext.defaultParallelism)
    except Exception:  # Spark Connect has no SparkContext on the client
        parallelism = _MAX_DEFAULT_PARTITIONS
    return max(1, min(chunks, parallelism, _MAX_DEFAULT_PARTITIONS))


def _requested(schema: StructType | str | None) -> StructType | None:
    if schema is None or not isinstance(schema, str):
        return schema
    from pyspark.sql.types import DataType, StructType

    parsed = DataType.fromDDL(schema)
    if not isinstance(parsed, StructType):
        raise ConfigError(f"schema {schema!r} is not a list of columns; write it as 'a int, b string'")
    return parsed


def sample_dataframe(spark: SparkSession, model: Synthesizer | str | Path, *, rows: int,
                     seed: int = 0, partitions: int | None = None,
                     schema: StructType | str | None = None) -> DataFrame:
    """``rows`` synthetic rows as a Spark DataFrame, equal row for row to ``sample(rows, seed)``.

    Nothing runs until an action (``write``, ``count``, ``toArrow``...) asks for the rows.

    Args:
        spark: the session to plan on (classic or Spark Connect).
        model: a fitted :class:`~synth_ray.Synthesizer`, or the directory of a saved one
            (read on the driver; executors get its bytes, so they need no access to it).
        rows: number of rows.
        seed: sampling seed: the same seed gives the same rows for any ``partitions``.
        partitions: Spark partitions sharing the chunks (default: the default parallelism,
            at most one per chunk of ``model.chunk_rows`` rows, at most 200).
        schema: a Spark schema (``StructType`` or DDL such as ``"id bigint, price double"``)
            the rows must have instead of the model's own (see :func:`spark_udfs.spark_target`).

    Raises:
        SamplingError: a negative row count or seed.
        SchemaError: the model's rows do not fit ``schema``.
        ArtifactError: ``model`` is not a loadable model directory.
    """
    import_pyspark("Spark sampling")
    rows, seed = check_rows(rows), check_seed(seed)
    synth, files = model_and_files(model)
    chunks = -(-rows // synth.chunk_rows)
    large = str(spark.conf.get("spark.sql.execution.arrow.useLargeVarTypes", "false")).lower() == "true"
    target = spark_target(synth.metadata, requested=_requested(schema), large_strings=large)
    sampler = ChunkSampler(files=files, seed=seed, rows=rows, arrow_schema=target.arrow_schema)
    plan = spark.range(0, chunks, 1, numPartitions=sampling_partitions(spark, partitions, chunks))
    return plan.mapInArrow(sampler, target.spark_schema)
