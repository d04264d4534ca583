"""The refresh's steps as plain functions: what each Airflow task calls.

Each step takes the config and the run key (from the logical date), so it is
idempotent: a retry or a rerun of the same date reads and writes the same places with
the same seed. Paths under ``config.work_dir``:

- ``model/``: the fitted model; ``state.json``: what it was fitted on (see :mod:`refit`);
- ``staging/<run>/``: the sampled rows awaiting the gate;
- ``runs/<run>/gate.json``: the gate's result, its privacy metrics included.

The model never sees the holdout (``holdout_fraction`` of the source, chosen by a salted
hash of each row, :mod:`holdout`): the fit, the gate and the report each split the
source the same way, so the gate can tell a generator that memorized its training rows
from one that learned their distribution, before anything is published.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

from airflow_dags.config import TableConfig
from airflow_dags.holdout import HoldoutSplit, split_holdout
from airflow_dags.refit import ModelState, decide_refit, read_state, write_state
from airflow_dags.runs import derive_seed
from airflow_dags.sources import Fingerprint, read_source, source_fingerprint

__all__ = ["check_refit_step", "fingerprint_step", "fit_step", "gate_record", "holdout_split", "model_dir",
           "publish_step", "report_step", "sample_step", "staging_dir", "validate_step"]


def model_dir(config: TableConfig) -> Path:
    """Where the table's model is saved."""
    return config.work_dir / "model"


def staging_dir(config: TableConfig, run: str) -> Path:
    """Where run ``run`` stages its rows."""
    return config.work_dir / "staging" / run


def gate_record(config: TableConfig, run: str) -> Path:
    """Where run ``run`` keeps the gate's result."""
    return config.work_dir / "runs" / run / "gate.json"


def holdout_split(config: TableConfig) -> HoldoutSplit:
    """The source split into the rows the model learns and the rows it never sees (same every call)."""
    return split_holdout(read_source(config.source), fraction=config.holdout_fraction,
                         salt=f"{config.name}:{config.seed}")


def fingerprint_step(config: TableConfig) -> Fingerprint:
    """The source's fingerprint (metadata only: no rows read)."""
    return source_fingerprint(config.source)


def check_refit_step(config: TableConfig, *, run: str, fingerprint: Fingerprint) -> dict[str, Any]:
    """Apply the refit policy; when the model is kept, count this run as one it served."""
    state = read_state(config.work_dir)
    decision = decide_refit(config.refit, every=config.refit_every, state=state, fingerprint=fingerprint,
                            run=run, model_exists=(model_dir(config) / "manifest.json").is_file(),
                            holdout_fraction=config.holdout_fraction)
    if not decision.refit and state is not None and run not in state.runs:
        write_state(config.work_dir, ModelState(
            fingerprint=state.fingerprint, fitted_run=state.fitted_run, runs=(*state.runs, run),
            holdout_fraction=state.holdout_fraction))
    return {"refit": decision.refit, "reason": decision.reason}


def fit_step(config: TableConfig, *, run: str, fingerprint: Fingerprint) -> dict[str, Any]:
    """Fit on the source's training rows with the run's seed, save atomically, record the fingerprint."""
    from airflow_dags.engines import fit_model

    seed = derive_seed(config, run)
    split = holdout_split(config)
    synth = fit_model(config, split.training, seed=seed)
    path = synth.save(model_dir(config))
    write_state(config.work_dir, ModelState(fingerprint=fingerprint, fitted_run=run, runs=(run,),
                                            holdout_fraction=config.holdout_fraction))
    return {"model": str(path), "seed": seed, "rows": synth.training.rows, "holdout": split.summary()}


def sample_step(config: TableConfig, *, run: str) -> dict[str, Any]:
    """Sample ``config.rows`` rows with the run's seed into the run's staging folder."""
    from airflow_dags.engines import sample_to_staging
    from synth_ray.synthesizer import Synthesizer

    seed = derive_seed(config, run)
    synth = Synthesizer.load(model_dir(config))
    staging = staging_dir(config, run)
    rows = sample_to_staging(synth, config, staging=staging, seed=seed)
    return {"staging": str(staging), "rows": rows, "seed": seed, "engine": config.sampling_engine.value}


def validate_step(config: TableConfig, *, run: str) -> dict[str, Any]:
    """The gate, privacy check included, on the staged rows (raises GateFailedError when it fails)."""
    from airflow_dags.audit import audit_staging

    return audit_staging(config, staging=staging_dir(config, run), model_dir=model_dir(config),
                         rows=config.rows, record=gate_record(config, run), split=holdout_split(config))


def publish_step(config: TableConfig, *, run: str) -> dict[str, Any]:
    """Publish the staged rows in one step, then drop the staging folder."""
    from airflow_dags.publish import publish

    staging = staging_dir(config, run)
    result = publish(config, staging=staging, run=run, seed=derive_seed(config, run))
    shutil.rmtree(staging, ignore_errors=True)
    return {**result.to_dict(), "run": run, "table": config.target.uri}


def report_step(config: TableConfig, *, run: str, published: dict[str, Any]) -> dict[str, Any]:
    """Write the quality report of the published version beside the table.

    The published rows are evaluated against the training rows, with the holdout (when
    there is one) for the privacy verdicts; the run summary carries the gate's privacy
    metrics too.
    """
    from airflow_dags.report import read_gate_record, read_published, write_quality_report
    from synth_ray.synthesizer import Synthesizer

    model = Synthesizer.load(model_dir(config))
    synthetic = read_published(config, published.get("version"))
    split = holdout_split(config)
    gate = read_gate_record(gate_record(config, run))
    summary = {**published, "seed": derive_seed(config, run), "holdout": split.summary(),
               "gate_privacy": gate.get("privacy")}
    return write_quality_report(config, real=split.training, synthetic=synthetic,
                                metadata=model.metadata, run=summary,
                                holdout=split.holdout if split.holdout.num_rows else None,
                                training_privacy=getattr(model.generator, "privacy", None))
