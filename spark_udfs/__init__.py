"""synth-ray on Apache Spark: sample, fit and publish synthetic tables from Spark.

Needs the ``spark`` extra (``pip install 'synth-ray[spark]'``); ``import spark_udfs``
itself stays cheap and imports no Spark until a function that needs it is called.

Example:
    >>> import spark_udfs
    >>> df = spark_udfs.sample_dataframe(spark, "models/orders", rows=10_000_000, seed=42)  # doctest: +SKIP
    >>> spark_udfs.write_synthetic_table(df, path="lake/orders_synth", format="delta")      # doctest: +SKIP
    >>> model = spark_udfs.fit_dataframe(spark.table("sales.orders"), max_rows=100_000)     # doctest: +SKIP
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from spark_udfs.fitting import SPARK_FIT_DEFAULT_ROWS, fit_dataframe
    from spark_udfs.sample_files import write_sample
    from spark_udfs.sampling import ChunkSampler, sample_dataframe
    from spark_udfs.schema import SparkTarget, spark_target
    from spark_udfs.session import get_spark
    from spark_udfs.writing import write_synthetic_table

_EXPORTS = {
    "sample_dataframe": "spark_udfs.sampling", "ChunkSampler": "spark_udfs.sampling",
    "spark_target": "spark_udfs.schema", "SparkTarget": "spark_udfs.schema",
    "write_synthetic_table": "spark_udfs.writing", "write_sample": "spark_udfs.sample_files",
    "fit_dataframe": "spark_udfs.fitting", "SPARK_FIT_DEFAULT_ROWS": "spark_udfs.fitting",
    "get_spark": "spark_udfs.session",
}

__all__ = [
    "SPARK_FIT_DEFAULT_ROWS", "ChunkSampler", "SparkTarget", "fit_dataframe", "get_spark",
    "sample_dataframe", "spark_target", "write_sample", "write_synthetic_table",
]


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'spark_udfs' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return __all__
