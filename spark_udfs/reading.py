"""Opening the real table a Spark fit learns from: a catalog table, or a path Spark reads."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from synth_ray.errors import InputFormatError
from synth_ray.lakehouse.table_format import TableFormat, detect_format

if TYPE_CHECKING:
    from pyspark.sql import DataFrame, SparkSession

__all__ = ["CATALOG_PREFIX", "read_spark_table"]

CATALOG_PREFIX = "spark:"  # spark:sales.orders names a table of the session's catalog


def read_spark_table(spark: SparkSession, source: str, *, format: str | None = None) -> DataFrame:
    """``spark:DB.TABLE`` from the catalog, or a Parquet, CSV or (with delta-spark) Delta path.

    Raises:
        InputFormatError: a path that does not exist or whose format Spark cannot read here.
    """
    if source.startswith(CATALOG_PREFIX):
        return spark.table(source.removeprefix(CATALOG_PREFIX))
    fmt = TableFormat(format) if format else detect_format(Path(source))
    if fmt is TableFormat.PARQUET:
        return spark.read.parquet(source)
    if fmt is TableFormat.CSV:
        return spark.read.csv(source, header=True, inferSchema=True)
    extensions = str(spark.conf.get("spark.sql.extensions", "") or "")
    if "DeltaSparkSessionExtension" not in extensions:
        raise InputFormatError(
            f"{source!r} is a Delta table, which this Spark session cannot read (delta-spark is not "
            "configured); fit it with --engine local (the embedded deltalake reader), or register it "
            "in the catalog and pass spark:NAME"
        )
    return spark.read.format("delta").load(source)
