"""The quality report written beside the published table: HTML, metrics JSON and a run summary."""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pyarrow as pa

from airflow_dags.config import TableConfig, TargetFormat

__all__ = ["REPORT_ROWS", "read_gate_record", "read_published", "write_quality_report"]

REPORT_ROWS = 100_000  # synthetic rows compared at most: they are i.i.d., so the first N are a fair sample


def read_published(config: TableConfig, version: int | None, *, limit: int = REPORT_ROWS) -> pa.Table:
    """Up to ``limit`` rows of the published table (at ``version``: Delta version, Iceberg snapshot)."""
    target = config.target
    if target.format is TargetFormat.DELTA:
        from deltalake import DeltaTable

        return DeltaTable(str(target.path), version=version).to_pyarrow_dataset().head(limit)
    if target.format is TargetFormat.ICEBERG:
        from airflow_dags.iceberg import load_catalog

        assert target.catalog is not None
        table = load_catalog(target.catalog).load_table(target.table)
        return table.scan(snapshot_id=version, limit=limit).to_arrow()
    import pyarrow.dataset as ds

    return ds.dataset(target.path, format="parquet").head(limit)


def read_gate_record(path: Path) -> dict[str, Any]:
    """The gate's saved result (``{}`` when there is none, e.g. a run validated before the record existed)."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def _write_text(path: Path, text: str) -> None:
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            out.write(text)
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _aligned(synthetic: pa.Table, schema: pa.Schema) -> pa.Table:
    """The synthetic rows in the real table's types (Delta stored dictionaries as strings...)."""
    if synthetic.schema.names != schema.names:
        return synthetic
    try:
        return synthetic.cast(schema)
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        return synthetic


def _privacy_summary(result: Any) -> dict[str, Any]:
    """The evaluation's privacy metrics and verdicts, for the run summary."""
    p = result.privacy
    verdicts = {c.key: c.verdict.value for c in result.checks if c.section == "privacy"}
    return {"dcr_share": p.dcr_share, "exact_match_rate": p.exact_match_rate,
            "holdout_exact_match_rate": p.holdout_exact_match_rate,
            "dcr_synthetic_q05": p.dcr_synthetic_q05, "dcr_holdout_q05": p.dcr_holdout_q05,
            "nndr_synthetic_q05": p.nndr_synthetic_q05, "nndr_holdout_q05": p.nndr_holdout_q05,
            "verdicts": verdicts}


def write_quality_report(config: TableConfig, *, real: pa.Table, synthetic: pa.Table, metadata: Any,
                         run: Mapping[str, Any], holdout: pa.Table | None = None,
                         training_privacy: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """Evaluate ``synthetic`` against ``real``; write ``report.html``, ``metrics.json``, ``run.json``.

    Args:
        config: the table's config (where the report goes).
        real: the real rows the model was fitted on.
        synthetic: the published synthetic rows (a bounded prefix of them).
        metadata: the model's metadata.
        run: what the run published (version, rows, seed, holdout, gate privacy...).
        holdout: real rows the model never saw: the report's privacy verdicts need them.
        training_privacy: the differential-privacy record of the fit (budget spent,
            settings), shown in the report; None when the model was not fitted with DP.

    Returns the summary also written to ``run.json`` (paths, verdict, quality score, privacy).
    """
    from synth_ray.evaluation.evaluate import evaluate
    from synth_ray.evaluation.report_html import write_html

    folder = config.target.report_dir
    folder.mkdir(parents=True, exist_ok=True)
    result = evaluate(real, _aligned(synthetic, real.schema), metadata, holdout=holdout,
                      settings={"seed": 0, "fidelity_rows": REPORT_ROWS})
    html = write_html(result, folder / "report.html", real_name=config.source.uri,
                      synthetic_name=config.target.uri, training_privacy=training_privacy)
    _write_text(folder / "metrics.json", result.to_json() + "\n")
    summary = {**run, "report": str(html), "metrics": str(folder / "metrics.json"),
               "verdict": result.verdict.value, "quality": round(float(result.quality.score), 4),
               "sections": {k: v.value for k, v in result.section_verdicts().items()},
               "privacy": _privacy_summary(result),
               **({"differential_privacy": dict(training_privacy)} if training_privacy else {})}
    _write_text(folder / "run.json", json.dumps(summary, indent=2, default=str) + "\n")
    return summary
