"""The audit step: the staged table must pass the gate before it is published.

The gate is the Great Expectations suite of the model plus, when the refresh holds
rows out of the fit (``holdout_fraction`` > 0), the privacy check: the staged table
fails when its share of rows nearer to training rows than to holdout rows (the DCR
share) exceeds ``max_dcr_share`` (:mod:`expectations.privacy`).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

from airflow_dags.config import TableConfig
from airflow_dags.errors import GateFailedError

if TYPE_CHECKING:
    from airflow_dags.holdout import HoldoutSplit

__all__ = ["audit_staging"]


def audit_staging(config: TableConfig, *, staging: Path, model_dir: Path, rows: int,
                  record: Path, split: HoldoutSplit | None = None) -> dict[str, Any]:
    """Validate the staged rows with the gate; write its result to ``record``.

    Args:
        config: the table's config (its ``expectations`` are the gate's thresholds).
        staging: the staged Parquet folder.
        model_dir: the model the rows were sampled from.
        rows: the requested row count.
        record: where the gate's result is written (JSON, privacy metrics included).
        split: the source's training and holdout rows; the privacy check runs when it
            holds rows out.

    Raises:
        GateFailedError: the gate failed (its summary and failures are in the message
            and in ``record``); nothing is published.
    """
    from expectations.gate import GateThresholds, validate_synthetic

    thresholds = GateThresholds.from_mapping(config.expectations) if config.expectations else None
    real = ({"training": split.training, "holdout": split.holdout}
            if split is not None and split.fraction > 0 else {})
    result = validate_synthetic(str(staging), model_dir=model_dir, expected_rows=rows,
                                thresholds=thresholds, **real)
    privacy = result.privacy if real else {"judged": False, "reason": "holdout_fraction is 0: no real "
                                           "rows were held out of the fit to judge privacy against"}
    holdout = split.summary() if split is not None else None
    outcome = {**result.to_dict(), "privacy": privacy, "holdout": holdout}
    record.parent.mkdir(parents=True, exist_ok=True)
    record.write_text(json.dumps(outcome, indent=2, default=str) + "\n", encoding="utf-8")
    if not result.success:
        raise GateFailedError(f"{config.name}: the staged synthetic table failed the gate, so nothing "
                              f"was published. {result.summary}\nDetails: {record}")
    return {"success": True, "summary": result.summary, "record": str(record), "privacy": privacy,
            "holdout": holdout}
