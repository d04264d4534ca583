"""The GX metric behind every reference expectation: one summary pass over the batch.

``synth_ray.reference_summary`` is a table metric whose only value key is the digest of a
reference profile. GX resolves a metric once per distinct configuration, so all the
distribution, pair and copy expectations of a suite share one pass over the data:

* pandas: the DataFrame is converted to Arrow and summarized a million rows at a time;
* Spark: each partition is summarized where it lives (``mapInArrow``); only the small
  summaries travel to the driver, so memory stays bounded whatever the table's size.

Profiles are looked up by digest in a per-process table that the gate fills from the
model artifact (:func:`register_reference`): the suite names the reference, the artifact
holds it, and the real data is never needed.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterator
from typing import Any

from great_expectations.core.metric_domain_types import MetricDomainTypes  # noqa: TID253
from great_expectations.execution_engine.pandas_execution_engine import (  # noqa: TID253
    PandasExecutionEngine,
)
from great_expectations.execution_engine.sparkdf_execution_engine import (  # noqa: TID253
    SparkDFExecutionEngine,
)
from great_expectations.expectations.metrics.metric_provider import metric_value  # noqa: TID253
from great_expectations.expectations.metrics.table_metric_provider import (  # noqa: TID253
    TableMetricProvider,
)

from expectations.statistics import BatchSummary, summarize, summarized_columns
from synth_ray.errors import ArtifactError
from synth_ray.reference_profile import ReferenceProfile

__all__ = ["SUMMARY_METRIC", "ReferenceSummary", "get_reference", "register_reference"]

SUMMARY_METRIC = "synth_ray.reference_summary"
ARROW_BATCH_ROWS = 200_000  # rows per Arrow batch sent to the summary (Spark's default: 10,000)
_ARROW_BATCH_CONF = "spark.sql.execution.arrow.maxRecordsPerBatch"
_LOG = logging.getLogger(__name__)
_REFERENCES: dict[str, ReferenceProfile] = {}


def register_reference(profile: ReferenceProfile) -> str:
    """Make ``profile`` available to the reference expectations; returns its digest."""
    digest = profile.digest
    _REFERENCES[digest] = profile
    return digest


def get_reference(digest: str) -> ReferenceProfile:
    """The registered profile with this digest.

    Raises:
        ArtifactError: no model with this reference was loaded in this process.
    """
    try:
        return _REFERENCES[digest]
    except KeyError:
        raise ArtifactError(
            f"reference profile {digest[:12]}... is not loaded: validate through "
            "expectations.validate_synthetic(..., model_dir=MODEL_DIR) (or call "
            "expectations.metrics.register_reference(model.reference)) with the model whose "
            "suite this is") from None


def _arrow_batches(spark: Any, rows: int) -> contextlib.AbstractContextManager[None]:
    """Spark sends Arrow batches of at least ``rows`` rows to Python inside the block.

    Each batch costs a fixed overhead on both sides of the Spark-to-Python pipe; at Spark's
    default of 10,000 rows that overhead doubled the summary's time. 200,000 rows of the
    summarized columns are a few tens of MiB: memory stays bounded. The session's setting
    is restored afterwards (a larger one is kept).
    """
    from spark_udfs.session import temporary_conf

    before = spark.conf.get(_ARROW_BATCH_CONF, None)
    if before is not None and int(before) >= rows:
        return contextlib.nullcontext()
    return temporary_conf(spark, _ARROW_BATCH_CONF, str(rows))


def _spark_summary(df: Any, profile: ReferenceProfile) -> BatchSummary:
    """Summarize a Spark DataFrame partition by partition; merge on the driver.

    Only the columns the summary reads (:func:`summarized_columns`) cross from the JVM to
    Python, in large Arrow batches: that crossing, not the summary itself, is most of the
    cost on a big table.
    """
    import pyarrow as pa

    needed = [c for c in summarized_columns(profile) if c in df.columns]
    if not needed:
        return summarize(pa.table({"_": pa.nulls(0)}), profile) + BatchSummary(rows=df.count())

    def summarize_partition(batches: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
        total = BatchSummary()
        for batch in batches:
            total = total + summarize(pa.Table.from_batches([batch]), profile)
        yield pa.RecordBatch.from_pydict({"summary": [total.to_json()]})

    total = _parquet_scan_summary(df, needed, profile)
    if total is None:
        total = BatchSummary()
        with _arrow_batches(df.sparkSession, ARROW_BATCH_ROWS):
            rows = df.select(*needed).mapInArrow(summarize_partition, "summary string").collect()
        for row in rows:
            total = total + BatchSummary.from_json(row["summary"])
    if total.rows == 0:  # no partition saw a batch: the missing columns are still missing
        total = total + summarize(df.select(*needed).limit(0).toArrow(), profile)
    return total


def _parquet_scan_summary(df: Any, needed: list[str], profile: ReferenceProfile) -> BatchSummary | None:
    """The summary read straight from the Parquet files behind ``df``; ``None`` if it cannot be."""
    from expectations.parquet_scan import local_parquet_files, summarize_parquet_scan

    files = local_parquet_files(df)
    if files is None:
        return None
    try:
        return summarize_parquet_scan(df, files, needed, profile)
    except Exception as exc:  # any failure of the shortcut: take the general path
        _LOG.warning("reading %d Parquet files directly failed (%s: %s); summarizing through "
                     "mapInArrow instead", len(files), type(exc).__name__, exc)
        return None


class ReferenceSummary(TableMetricProvider):
    """Sufficient statistics of the batch against a registered reference profile."""

    metric_name = SUMMARY_METRIC
    value_keys = ("reference_digest",)

    @metric_value(engine=PandasExecutionEngine)
    def _pandas(cls, execution_engine: PandasExecutionEngine, metric_domain_kwargs: dict,
                metric_value_kwargs: dict, metrics: dict[str, Any],
                runtime_configuration: dict) -> BatchSummary:
        from synth_ray.table_input import to_arrow

        df, profile = _domain(execution_engine, metric_domain_kwargs, metric_value_kwargs)
        return summarize(to_arrow(df), profile)

    @metric_value(engine=SparkDFExecutionEngine)
    def _spark(cls, execution_engine: SparkDFExecutionEngine, metric_domain_kwargs: dict,
               metric_value_kwargs: dict, metrics: dict[str, Any],
               runtime_configuration: dict) -> BatchSummary:
        return _spark_summary(*_domain(execution_engine, metric_domain_kwargs, metric_value_kwargs))


def _domain(engine: Any, domain_kwargs: dict, value_kwargs: dict) -> tuple[Any, ReferenceProfile]:
    """The batch's table (pandas or Spark DataFrame) and the profile the metric names."""
    profile = get_reference(value_kwargs["reference_digest"])
    df, _, _ = engine.get_compute_domain(domain_kwargs, domain_type=MetricDomainTypes.TABLE)
    return df, profile
