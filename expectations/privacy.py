"""The gate's privacy check: are the synthetic rows nearer to the training rows than to the holdout.

The GX suite needs no real data (the reference profile stands in for it); this check
does: real rows the generator learned from and real rows it never saw (a holdout).
A generator that learned the distribution puts a synthetic row as near to a fresh real
row as to a training row; one that memorized puts it nearer to training rows. So the
gate measures the evaluation's privacy metrics (:func:`synth_ray.evaluation.privacy.privacy_of`:
DCR share, exact matches, DCR and NNDR tails) on bounded samples (``rows`` of each
table, seeded) and fails the table when the DCR share exceeds ``max_dcr_share``
(:class:`~expectations.thresholds.GateThresholds`). The other metrics are reported
with the evaluation's verdicts; exact copies are already gated by the suite's
``expect_no_rows_copied_from_training``.

A holdout of fewer than ``MIN_HOLDOUT_ROWS`` rows cannot tell memorization from chance:
the check is then reported as not judged (with the reason), never silently passed.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pyarrow as pa

from expectations.thresholds import GateThresholds
from synth_ray.metadata import TableMetadata

__all__ = ["MIN_HOLDOUT_ROWS", "PRIVACY_CHECK", "PRIVACY_ROWS", "PrivacyGate", "check_privacy"]

PRIVACY_CHECK = "privacy_dcr_share"
PRIVACY_ROWS = 10_000  # synthetic rows queried, training and holdout rows searched (each, at most)
MIN_HOLDOUT_ROWS = 50


@dataclass(frozen=True)
class PrivacyGate:
    """What the privacy check measured and decided.

    Attributes:
        success: the DCR share is within ``max_dcr_share`` (or the check was not judged).
        metrics: the measured values (JSON-ready), the threshold and the evaluation's verdicts.
        failure: the failure line (metric, value, threshold), when it failed.
        line: a one-line summary for people.
    """

    success: bool
    metrics: dict[str, Any]
    failure: str | None
    line: str


def _metrics(result: Any, threshold: float, training: int, holdout: int) -> dict[str, Any]:
    from synth_ray.evaluation.privacy import privacy_checks, tail_ratio

    def r(value: float | None) -> float | None:
        return None if value is None else round(float(value), 6)

    return {
        "judged": True, "dcr_share": r(result.dcr_share), "max_dcr_share": threshold,
        "exact_match_rate": r(result.exact_match_rate),
        "holdout_exact_match_rate": r(result.holdout_exact_match_rate),
        "dcr_tail_ratio": r(tail_ratio(result.dcr_synthetic_q05 or 0.0, result.dcr_holdout_q05 or 0.0)),
        "nndr_tail_ratio": r(tail_ratio(result.nndr_synthetic_q05 or 0.0, result.nndr_holdout_q05 or 0.0)),
        "dcr_synthetic_q05": r(result.dcr_synthetic_q05), "dcr_holdout_q05": r(result.dcr_holdout_q05),
        "training_rows": training, "holdout_rows": holdout,
        "training_rows_searched": result.distance_rows,
        "holdout_rows_searched": result.holdout_distance_rows,
        "synthetic_rows_queried": result.distance_queries,
        "verdicts": {c.key: c.verdict.value for c in privacy_checks(result)},
    }


def check_privacy(synthetic: pa.Table, *, training: pa.Table, holdout: pa.Table,
                  metadata: TableMetadata, thresholds: GateThresholds, rows: int = PRIVACY_ROWS,
                  seed: int = 0) -> PrivacyGate:
    """Measure the privacy metrics of ``synthetic`` and judge its DCR share.

    Args:
        synthetic: the synthetic rows (or a uniform sample of them).
        training: the real rows the model was fitted on.
        holdout: real rows the model never saw.
        metadata: the model's metadata.
        thresholds: the gate's thresholds (``max_dcr_share``).
        rows: rows of each table used at most (seeded uniform samples).
        seed: seed of the samples.

    Raises:
        SchemaError: the tables do not have the model's columns, or incompatible types.
    """
    threshold = thresholds.max_dcr_share
    if holdout.num_rows < MIN_HOLDOUT_ROWS:
        reason = (f"only {holdout.num_rows} holdout rows (at least {MIN_HOLDOUT_ROWS} are needed to "
                  "tell memorization from chance): hold out more rows or use a larger source")
        return PrivacyGate(success=True, failure=None, line=f"privacy: not judged, {reason}",
                           metrics={"judged": False, "reason": reason, "max_dcr_share": threshold,
                                    "training_rows": training.num_rows, "holdout_rows": holdout.num_rows})
    from synth_ray.evaluation.privacy import privacy_of

    result = privacy_of(training, synthetic, holdout, metadata=metadata, rows=rows, seed=seed)
    metrics = _metrics(result, threshold, training.num_rows, holdout.num_rows)
    share = float(result.dcr_share or 0.0)
    detail = (f"{share:.1%} of {result.distance_queries:,} synthetic rows are nearer to "
              f"{result.distance_rows:,} training rows than to {result.holdout_distance_rows:,} "
              "holdout rows, counted as if equally many; 0.5 = no memorization")
    line = (f"privacy: dcr_share {share:.3f} (max {threshold:g}), exact matches "
            f"{result.exact_match_rate:.2%} vs holdout {result.holdout_exact_match_rate or 0.0:.2%}, "
            f"DCR tail ratio {metrics['dcr_tail_ratio']:.2f}, NNDR tail ratio "
            f"{metrics['nndr_tail_ratio']:.2f}")
    if share <= threshold:
        return PrivacyGate(success=True, metrics=metrics, failure=None, line=line)
    failure = (f"table: {PRIVACY_CHECK}: observed dcr_share {share:.3f} ({detail}) vs allowed "
               f"max_dcr_share={threshold:g}")
    return PrivacyGate(success=False, metrics=metrics, failure=failure, line=line)
