"""The refit policy, and the small state file that remembers what the model was fitted on.

``work_dir/state.json`` records the source fingerprint the current model was fitted
on, the share of source rows held out of that fit (:mod:`airflow_dags.holdout`) and the
run keys that sampled from it since. It is written atomically (temporary
file + rename), and rerunning a run key does not count it twice.
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from airflow_dags.config import RefitPolicy

__all__ = ["ModelState", "RefitDecision", "decide_refit", "read_state", "write_state"]


@dataclass(frozen=True, kw_only=True)
class ModelState:
    """What the current model was fitted on, and which runs used it since."""

    fingerprint: Mapping[str, str] = field(default_factory=dict)
    fitted_run: str | None = None
    runs: tuple[str, ...] = ()
    holdout_fraction: float | None = None

    def to_dict(self) -> dict[str, Any]:
        """JSON form."""
        return {"fingerprint": dict(self.fingerprint), "fitted_run": self.fitted_run, "runs": list(self.runs),
                "holdout_fraction": self.holdout_fraction}


@dataclass(frozen=True)
class RefitDecision:
    """Whether to fit, and why (shown in the task log and returned to XCom)."""

    refit: bool
    reason: str


def decide_refit(policy: RefitPolicy, *, every: int | None, state: ModelState | None,
                 fingerprint: Mapping[str, str], run: str, model_exists: bool,
                 holdout_fraction: float | None = None) -> RefitDecision:
    """Apply the refit policy.

    Args:
        policy: always, on_change (of the content fingerprint) or every_n_runs.
        every: N for every_n_runs: refit when N distinct runs have used the model.
        state: the saved state (None before the first fit).
        fingerprint: the source's fingerprint now (``content`` and ``schema``).
        run: this run's key; a rerun of the run that fitted the model does not refit.
        model_exists: whether a model is saved.
        holdout_fraction: the share of rows the config holds out; a model fitted with
            another split may have learned rows that are now holdout rows, so it is refitted.
    """
    if not model_exists or state is None:
        return RefitDecision(True, "no model yet")
    if state.holdout_fraction != holdout_fraction:
        return RefitDecision(True, f"the holdout changed (the model held out {state.holdout_fraction}, "
                                   f"the config holds out {holdout_fraction})")
    if policy is RefitPolicy.ALWAYS:
        if state.fitted_run == run and state.fingerprint.get("content") == fingerprint.get("content"):
            return RefitDecision(False, "refit: always, but this run already fitted on this source")
        return RefitDecision(True, "refit: always")
    if state.fingerprint.get("schema") != fingerprint.get("schema"):
        return RefitDecision(True, "the source's columns or types changed")
    if policy is RefitPolicy.ON_CHANGE:
        if state.fingerprint.get("content") != fingerprint.get("content"):
            return RefitDecision(True, "the source's data changed")
        return RefitDecision(False, "the source is unchanged since the model was fitted")
    used = [r for r in state.runs if r != run]
    if every is not None and len(used) >= every:
        return RefitDecision(True, f"the model has served {len(used)} runs (refit every {every})")
    return RefitDecision(False, f"the model has served {len(used)} of {every} runs")


def read_state(work_dir: Path) -> ModelState | None:
    """The saved state, or None when there is none (a damaged file counts as none: refit)."""
    try:
        data = json.loads((work_dir / "state.json").read_text(encoding="utf-8"))
        return ModelState(fingerprint=dict(data["fingerprint"]), fitted_run=data.get("fitted_run"),
                          runs=tuple(data.get("runs", ())), holdout_fraction=data.get("holdout_fraction"))
    except (OSError, ValueError, KeyError, TypeError):
        return None


def write_state(work_dir: Path, state: ModelState) -> None:
    """Replace the state file atomically."""
    work_dir.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=".state.", suffix=".json", dir=work_dir)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            json.dump(state.to_dict(), out, indent=2, sort_keys=True)
        os.replace(tmp, work_dir / "state.json")
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
