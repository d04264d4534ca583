"""The audit step: the staged table must pass the Great Expectations gate before it is published."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from airflow_dags.config import TableConfig
from airflow_dags.errors import GateFailedError

__all__ = ["audit_staging"]


def audit_staging(config: TableConfig, *, staging: Path, model_dir: Path, rows: int,
                  record: Path) -> dict[str, Any]:
    """Validate the staged rows with the gate; write its result to ``record``.

    Raises:
        GateFailedError: the gate failed (its summary and failures are in the message
            and in ``record``); nothing is published.
    """
    from expectations.gate import GateThresholds, validate_synthetic

    thresholds = GateThresholds.from_mapping(config.expectations) if config.expectations else None
    result = validate_synthetic(str(staging), model_dir=model_dir, expected_rows=rows,
                                thresholds=thresholds)
    outcome = result.to_dict()
    record.parent.mkdir(parents=True, exist_ok=True)
    record.write_text(json.dumps(outcome, indent=2, default=str) + "\n", encoding="utf-8")
    if not result.success:
        raise GateFailedError(f"{config.name}: the staged synthetic table failed the Great Expectations "
                              f"gate, so nothing was published. {result.summary}\nDetails: {record}")
    return {"success": True, "summary": result.summary, "record": str(record)}
