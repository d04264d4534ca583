"""Publishing a Spark DataFrame of synthetic rows as a Parquet folder or a Delta table.

The write has the lifecycle of Ray's datasinks: executors write Parquet files (each
task through Spark's commit protocol, so a retried task leaves no duplicate), then the
driver publishes once:

- Parquet folder: Spark writes into a hidden staging folder beside the target (under the
  table's lock), which then takes the target's place in one atomic exchange
  (:mod:`synth_ray.lakehouse.folder_swap`); ``append`` links the old files in beside the
  new ones first, so it is one exchange too.
- Delta, where delta-spark is not on the cluster (as on machines that reach no Maven
  repository): Spark writes the data files into a fresh ``write-<id>/`` folder inside
  the table, and the embedded ``deltalake`` library commits exactly those files in one
  transaction (:func:`synth_ray.lakehouse.delta_commit.commit_parquet_files`). Readers
  see the old version until the commit; a failed job or commit removes the staged
  files and leaves the table as it was.
- Delta through delta-spark (``format("delta")``, one transaction by Delta's own
  protocol) when the session has Delta's SQL extension configured.

Both local paths need a file system the driver and the executors share (one machine,
or a mounted volume); a cluster writing to object storage uses delta-spark.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import urlparse

import pyarrow as pa

from synth_ray.errors import InputFormatError
from synth_ray.lakehouse.delta_commit import delta_staging
from synth_ray.lakehouse.folder_swap import staged_folder
from synth_ray.lakehouse.table_format import TableFormat
from synth_ray.lakehouse.write_errors import write_errors
from synth_ray.lakehouse.writers import WriteResult, delta_schema, parquet_rows, publish_folder

if TYPE_CHECKING:
    from pyspark.sql import DataFrame, SparkSession

__all__ = ["write_synthetic_table"]

_TIMESTAMP_TYPE = "spark.sql.parquet.outputTimestampType"
_DELTA_EXTENSION = "io.delta.sql.DeltaSparkSessionExtension"


def local_path(path: str | Path) -> Path:
    text = str(path)
    parsed = urlparse(text)
    if parsed.scheme == "file":
        return Path(parsed.path)
    if parsed.scheme and len(parsed.scheme) > 1:  # not a Windows drive letter
        raise InputFormatError(
            f"{text!r} is not a local path: publishing commits from the driver's file system; "
            "use a path the driver and executors share (a mounted volume), or write with "
            "delta-spark (df.write.format('delta')) to object storage"
        )
    return Path(text).absolute()


@contextmanager
def _microsecond_timestamps(spark: SparkSession) -> Iterator[None]:
    """Parquet timestamps as INT64 microseconds (Spark's default, INT96, is legacy in Delta)."""
    from spark_udfs.session import temporary_conf

    with temporary_conf(spark, _TIMESTAMP_TYPE, "TIMESTAMP_MICROS"):
        yield


def _spark_write_parquet(df: DataFrame, folder: Path) -> list[Path]:
    """Spark writes ``df`` into ``folder``; return its data files (Spark's markers removed)."""
    with _microsecond_timestamps(df.sparkSession):
        (df.write.mode("overwrite")
           .option("mapreduce.fileoutputcommitter.marksuccessfuljobs", "false")
           .parquet(folder.as_uri()))
    for extra in [*folder.glob("_*"), *folder.glob(".*.crc")]:
        extra.unlink(missing_ok=True)
    return sorted(folder.glob("part-*.parquet"))


def _arrow_schema(df: DataFrame) -> pa.Schema:
    from pyspark.sql.pandas.types import to_arrow_schema

    return to_arrow_schema(df.schema, timezone="UTC")


def _write_delta_commit(df: DataFrame, target: Path, mode: str) -> WriteResult:
    stored = delta_schema(_arrow_schema(df))
    with delta_staging(target) as staging:  # referenced by the commit, or removed
        files = _spark_write_parquet(df, staging.folder)
        version = staging.commit(files, schema=stored, mode=mode)
    return WriteResult(path=target, format=TableFormat.DELTA, rows=parquet_rows(files), version=version)


def _write_delta_spark(df: DataFrame, target: str, mode: str) -> WriteResult:
    from deltalake import DeltaTable

    df.write.format("delta").mode(mode).save(target)
    table = DeltaTable(target)
    metrics = (table.history(1)[0].get("operationMetrics") or {})
    return WriteResult(path=Path(target), format=TableFormat.DELTA,
                       rows=int(metrics.get("numOutputRows", 0)), version=table.version())


def _write_parquet(df: DataFrame, target: Path, mode: str) -> WriteResult:
    with write_errors(target), staged_folder(target) as staging:
        rows = parquet_rows(_spark_write_parquet(df, staging))
        publish_folder(staging, target, mode=mode)
    return WriteResult(path=target, format=TableFormat.PARQUET, rows=rows)


def _delta_spark_configured(spark: SparkSession) -> bool:
    return _DELTA_EXTENSION in str(spark.conf.get("spark.sql.extensions", "") or "")


def write_synthetic_table(df: DataFrame, *, path: str | Path, format: TableFormat | str = TableFormat.DELTA,
                          mode: str = "overwrite", delta_writer: str = "auto") -> WriteResult:
    """Write ``df`` (e.g. from :func:`spark_udfs.sample_dataframe`) as one published table.

    Args:
        df: the rows.
        path: the table's folder.
        format: ``delta`` (default) or ``parquet``.
        mode: ``overwrite`` (the rows become the whole table) or ``append``; either is one
            Delta transaction.
        delta_writer: ``auto`` (delta-spark when the session has Delta's SQL extension,
            else the ``deltalake`` commit), ``spark`` or ``deltalake``.

    Returns:
        Where the table is, its format, the rows written and (Delta) the committed version.

    Raises:
        InputFormatError: an unknown format, mode or writer, or a path the driver cannot
            commit to. Errors of the Spark job itself propagate after the cleanup.
    """
    fmt = TableFormat(format) if format in ("delta", "parquet") else None
    if fmt is None:
        name = str(getattr(format, "value", format))
        raise InputFormatError(f"Spark writes 'delta' or 'parquet' tables, not {name!r}; for CSV "
                               "use df.write.csv(...) or `synth-ray sample --engine local`")
    if mode not in ("overwrite", "append"):
        raise InputFormatError(f"write mode must be 'overwrite' or 'append', got {mode!r}")
    if delta_writer not in ("auto", "spark", "deltalake"):
        raise InputFormatError(f"delta_writer must be 'auto', 'spark' or 'deltalake', got {delta_writer!r}")
    if fmt is TableFormat.PARQUET:
        return _write_parquet(df, local_path(path), mode)
    use_spark = delta_writer == "spark" or (delta_writer == "auto"
                                            and _delta_spark_configured(df.sparkSession))
    if use_spark:
        return _write_delta_spark(df, str(path), mode)
    return _write_delta_commit(df, local_path(path), mode)
