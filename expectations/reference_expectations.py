"""Custom GX expectations that compare a synthetic batch with the real table's reference.

GX lacks three checks a synthetic table needs; each is a real GX expectation class
(registered under its snake_case name when this module is imported, saved in and loaded
from suite JSON like any other) backed by the ``synth_ray.reference_summary`` metric:

* :class:`ExpectColumnDistributionToMatchReference`: KS (numerical, datetime) or total
  variation (categorical, boolean) distance to the real distribution at most ``threshold``;
* :class:`ExpectColumnPairAssociationToMatchReference`: Pearson's r (two continuous
  columns) or Cramér's V (otherwise) within ``threshold`` of the real value;
* :class:`ExpectNoRowsCopiedFromTraining`: at most ``max_copy_rate`` of the rows equal a
  training row (salted hashes from the artifact; no real data at validation time).

Each names its reference by digest (``reference_digest``); thresholds and real values are
plain keys of the suite JSON, so a reviewer can read and edit them.
"""

from __future__ import annotations

import math
from typing import Any, ClassVar, Literal

from great_expectations.expectations.expectation import (  # noqa: TID253
    BatchExpectation,
    ColumnAggregateExpectation,
)

from expectations.metrics import SUMMARY_METRIC, get_reference
from expectations.statistics import BatchSummary, association, ks_distance, tv_distance

__all__ = [
    "ExpectColumnDistributionToMatchReference",
    "ExpectColumnPairAssociationToMatchReference",
    "ExpectNoRowsCopiedFromTraining",
]


def _column_error(summary: BatchSummary, *names: str) -> dict[str, Any] | None:
    for name in names:
        if name in summary.errors:
            return {"success": False, "result": {"observed_value": None,
                                                 "details": {"error": f"{name}: {summary.errors[name]}"}}}
    return None


def _round(value: float) -> float | None:
    return None if math.isnan(value) else round(value, 6)


class ExpectColumnDistributionToMatchReference(ColumnAggregateExpectation):
    """The column's distribution is within ``threshold`` of the real one.

    ``statistic`` is ``ks`` (numerical, datetime: the largest gap between the two CDFs at
    the reference's quantile points) or ``tv`` (categorical, boolean: half the sum of the
    share differences, unseen categories included). A column without values fails.
    """

    reference_digest: str
    statistic: Literal["ks", "tv"]
    threshold: float

    metric_dependencies: ClassVar[tuple[str, ...]] = (SUMMARY_METRIC,)
    success_keys: ClassVar[tuple[str, ...]] = ("reference_digest", "statistic", "threshold")

    def _validate(self, metrics: dict, runtime_configuration: dict | None = None,
                  execution_engine: Any = None) -> dict[str, Any]:
        summary: BatchSummary = metrics[SUMMARY_METRIC]
        if (error := _column_error(summary, self.column)) is not None:
            return error
        profile = get_reference(self.reference_digest)
        measure = ks_distance if self.statistic == "ks" else tv_distance
        distance = measure(summary, self.column, profile)
        return {"success": not math.isnan(distance) and distance <= self.threshold,
                "result": {"observed_value": _round(distance),
                           "details": {"statistic": self.statistic, "threshold": self.threshold}}}


class ExpectColumnPairAssociationToMatchReference(BatchExpectation):
    """The pair's Pearson's r or Cramér's V is within ``threshold`` of ``real_value``."""

    column_A: str
    column_B: str
    reference_digest: str
    metric: Literal["pearson", "cramers_v"]
    real_value: float
    threshold: float

    metric_dependencies: ClassVar[tuple[str, ...]] = (SUMMARY_METRIC,)
    success_keys: ClassVar[tuple[str, ...]] = (
        "column_A", "column_B", "reference_digest", "metric", "real_value", "threshold")

    def _validate(self, metrics: dict, runtime_configuration: dict | None = None,
                  execution_engine: Any = None) -> dict[str, Any]:
        summary: BatchSummary = metrics[SUMMARY_METRIC]
        if (error := _column_error(summary, self.column_A, self.column_B)) is not None:
            return error
        value = association(summary, self.column_A, self.column_B, self.metric)
        synthetic = 0.0 if math.isnan(value) else value
        delta = abs(synthetic - self.real_value)
        return {"success": delta <= self.threshold,
                "result": {"observed_value": _round(value),
                           "details": {"metric": self.metric, "real_value": self.real_value,
                                       "delta": round(delta, 6), "threshold": self.threshold}}}


class ExpectNoRowsCopiedFromTraining(BatchExpectation):
    """At most ``max_copy_rate`` of the rows equal a real training row on every learned column."""

    reference_digest: str
    max_copy_rate: float

    metric_dependencies: ClassVar[tuple[str, ...]] = (SUMMARY_METRIC,)
    success_keys: ClassVar[tuple[str, ...]] = ("reference_digest", "max_copy_rate")

    def _validate(self, metrics: dict, runtime_configuration: dict | None = None,
                  execution_engine: Any = None) -> dict[str, Any]:
        summary: BatchSummary = metrics[SUMMARY_METRIC]
        hashed = get_reference(self.reference_digest).row_hashes
        if hashed is not None and (error := _column_error(summary, *hashed.columns)) is not None:
            return error
        rate = summary.copies / summary.rows if summary.rows else 0.0
        return {"success": rate <= self.max_copy_rate,
                "result": {"observed_value": round(rate, 6),
                           "details": {"copied_rows": summary.copies, "rows": summary.rows,
                                       "max_copy_rate": self.max_copy_rate,
                                       "training_rows_hashed_share":
                                           None if hashed is None else hashed.coverage}}}
