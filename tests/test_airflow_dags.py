"""The refresh DAGs under real Airflow (SQLite metadata DB, ``dag.test()``), no mocks.

One Airflow per session (``airflow_session``); each test adds its table config to the
session's config folder, parses the project's DAG file with a DagBag and runs the DAG
for a logical date. Sources are a few hundred rows of the bundled diamonds table.
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

import pyarrow as pa
import yaml
from deltalake import DeltaTable

from synth_ray.lakehouse.writers import write_table

D1 = dt.datetime(2025, 3, 1, tzinfo=dt.UTC)
D2 = dt.datetime(2025, 3, 2, tzinfo=dt.UTC)


def publish_source(diamonds, path: Path, rows: slice) -> pa.Table:
    real = pa.Table.from_pandas(diamonds.iloc[rows], preserve_index=False)
    write_table([real], schema=real.schema, path=path, format="delta")
    return real


def add_config(session, tmp_path: Path, name: str, **changes: Any) -> Path:
    config = {
        "name": name,
        "source": {"format": "delta", "path": str(tmp_path / "real")},
        "target": {"format": "delta", "path": str(tmp_path / "synthetic")},
        "rows": 1000, "seed": {"policy": "logical_date", "value": 0},
        "sampling_engine": "local", "schedule": None, "retries": 1, "retry_delay_s": 1,
        **changes,
    }
    path = session.configs / f"{name}.yaml"
    path.write_text(yaml.safe_dump(config), encoding="utf-8")
    return path


def run_dag(session, dag_id: str, when: dt.datetime) -> tuple[str, dict[str, tuple[str, int]]]:
    from airflow_dags.compat import dag_bag

    bag = dag_bag(str(session.dags_folder))
    assert not bag.import_errors, bag.import_errors
    run = bag.dags[dag_id].test(logical_date=when)
    return run.state, {ti.task_id: (ti.state, ti.try_number) for ti in run.get_task_instances()}


def asset_events(uri: str) -> list[dict[str, Any]]:
    from airflow.models.asset import AssetEvent, AssetModel
    from airflow.utils.session import create_session

    with create_session() as session:
        rows = (session.query(AssetEvent).join(AssetModel, AssetEvent.asset_id == AssetModel.id)
                .filter(AssetModel.uri == uri).order_by(AssetEvent.id).all())
        return [dict(e.extra or {}) for e in rows]


def test_every_dag_file_imports(airflow_session, monkeypatch):
    from airflow_dags.compat import dag_bag
    from airflow_dags.factory import BUNDLED_CONFIGS

    monkeypatch.setenv("SYNTH_RAY_DAG_CONFIGS", str(BUNDLED_CONFIGS))
    bag = dag_bag(str(airflow_session.dags_folder))
    assert bag.import_errors == {}
    dag = bag.dags["synthetic_diamonds"]
    assert {t.task_id for t in dag.tasks} == {
        "fingerprint_source", "check_refit", "fit", "sample", "validate", "publish", "report"}
    assert dag.max_active_runs == 1 and not dag.catchup
    publish = dag.get_task("publish")
    assert [a.uri for a in publish.outlets] == [dag.get_task("fingerprint_source").inlets[0].uri.replace(
        "real", "synthetic")]
    assert dag.get_task("sample").trigger_rule == "none_failed_min_one_success"
    assert dag.get_task("validate").retries == 2
    assert dag.timetable.expression == "0 0 * * *"  # @daily
    triggered = bag.dags["synthetic_diamonds_iceberg"]  # schedule: source -> runs on the source's Asset
    assert type(triggered.timetable).__name__ == "AssetTriggeredTimetable"
    assert [a.uri for a in triggered.timetable.asset_condition.objects] == [publish.outlets[0].uri.replace(
        "synthetic", "real")]


def test_refresh_is_idempotent_across_engines_and_refits_when_the_source_changes(
        airflow_session, ray_cluster, diamonds, tmp_path):
    import duckdb

    publish_source(diamonds, tmp_path / "real", slice(0, 2000))
    config = add_config(airflow_session, tmp_path, "ray_delta", sampling_engine="ray", sampling_workers=1)
    state, tasks = run_dag(airflow_session, "synthetic_ray_delta", D1)
    assert state == "success", tasks
    table = DeltaTable(str(tmp_path / "synthetic"))
    first = table.to_pyarrow_table()
    assert table.version() == 0 and first.num_rows == 1000
    assert first.schema.names == list(diamonds.columns)
    files = ", ".join(f"'{f}'" for f in table.file_uris())
    assert duckdb.connect().sql(f"select count(*) from read_parquet([{files}])").fetchall() == [(1000,)]
    report = tmp_path / "synthetic.quality"
    assert (report / "report.html").read_text().startswith("<!DOCTYPE html>")
    summary = yaml.safe_load((report / "run.json").read_text())
    assert summary["version"] == 0 and summary["rows"] == 1000 and summary["quality"] > 0.8
    assert asset_events(f"file://{tmp_path / 'synthetic'}")[-1]["version"] == 0

    # The same logical date again, sampled by the local engine this time: the same rows (a new
    # version), and the model is not refitted.
    config.write_text(config.read_text().replace("sampling_engine: ray", "sampling_engine: local"))
    state, tasks = run_dag(airflow_session, "synthetic_ray_delta", D1)
    assert state == "success" and tasks["fit"][0] == "skipped", tasks
    again = DeltaTable(str(tmp_path / "synthetic"))
    assert again.version() == 1 and again.to_pyarrow_table().equals(first)

    # New source rows: the fingerprint changes, the model is refitted and a new version published.
    publish_source(diamonds, tmp_path / "real", slice(2000, 4000))
    state, tasks = run_dag(airflow_session, "synthetic_ray_delta", D2)
    assert state == "success" and tasks["fit"][0] == "success", tasks
    latest = DeltaTable(str(tmp_path / "synthetic"))
    assert latest.version() == 2 and not latest.to_pyarrow_table().equals(first)
    assert [e["version"] for e in asset_events(f"file://{tmp_path / 'synthetic'}")] == [0, 1, 2]


def test_a_failed_gate_leaves_the_published_table_as_it_was(airflow_session, diamonds, tmp_path):
    publish_source(diamonds, tmp_path / "real", slice(0, 2000))
    config = add_config(airflow_session, tmp_path, "gated")
    state, tasks = run_dag(airflow_session, "synthetic_gated", D1)
    assert state == "success", tasks
    before = DeltaTable(str(tmp_path / "synthetic"))
    version, content = before.version(), before.to_pyarrow_table()

    # Thresholds no sample can meet (a KS distance of exactly 0): the gate must stop the run.
    data = yaml.safe_load(config.read_text())
    config.write_text(yaml.safe_dump({**data, "expectations": {"max_ks": 0.0}}), encoding="utf-8")
    state, tasks = run_dag(airflow_session, "synthetic_gated", D2)
    assert state == "failed"
    assert tasks["validate"] == ("failed", 1), tasks  # not retried: a gate failure is final
    assert tasks["publish"][0] == "upstream_failed" and tasks["report"][0] == "upstream_failed"
    after = DeltaTable(str(tmp_path / "synthetic"))
    assert after.version() == version and after.to_pyarrow_table().equals(content)
    gate = yaml.safe_load((tmp_path / "synthetic" / ".." / "_synth_ray" / "gated" / "runs" /
                           "20250302T000000Z" / "gate.json").resolve().read_text())
    assert gate["success"] is False and any("max_ks" in f or "ks" in f.lower() for f in gate["failures"])


def test_the_gate_judges_privacy_against_a_holdout_the_model_never_saw(airflow_session, diamonds, tmp_path):
    import synth_ray
    from airflow_dags.holdout import split_holdout

    real = publish_source(diamonds, tmp_path / "real", slice(0, 2000))
    config = add_config(airflow_session, tmp_path, "private")
    state, tasks = run_dag(airflow_session, "synthetic_private", D1)
    assert state == "success", tasks
    work = tmp_path / "_synth_ray" / "private"
    gate = json.loads((work / "runs" / "20250301T000000Z" / "gate.json").read_text())
    privacy, holdout = gate["privacy"], gate["holdout"]
    assert privacy["judged"] is True and privacy["max_dcr_share"] == 0.6
    assert 0.4 < privacy["dcr_share"] <= 0.6, privacy
    assert holdout["fraction"] == 0.2 and holdout["training_rows"] + holdout["holdout_rows"] == 2000
    split = split_holdout(real, fraction=0.2, salt="private:0")  # the refresh's split, recomputed
    assert (split.training.num_rows, split.holdout.num_rows) == (holdout["training_rows"], holdout["holdout_rows"])
    assert 300 < split.holdout.num_rows < 500
    assert synth_ray.load(work / "model").training.rows == split.training.num_rows  # the holdout was never fitted
    assert privacy["holdout_rows_searched"] == split.holdout.num_rows
    summary = json.loads((tmp_path / "synthetic.quality" / "run.json").read_text())
    assert summary["holdout"] == holdout and summary["gate_privacy"] == privacy
    assert summary["privacy"]["verdicts"]["privacy.dcr_share"] in ("pass", "warn"), summary["privacy"]
    metrics = json.loads((tmp_path / "synthetic.quality" / "metrics.json").read_text())
    assert metrics["sampling"]["holdout_rows"] == split.holdout.num_rows
    assert metrics["privacy"]["holdout_distance_rows"] == split.holdout.num_rows
    assert "Closer to training than to holdout" in (tmp_path / "synthetic.quality" / "report.html").read_text()
    before = DeltaTable(str(tmp_path / "synthetic"))
    version, content = before.version(), before.to_pyarrow_table()

    # The table's own threshold, below what this sample scores: the gate stops the run on the
    # DCR share alone, names it, and nothing is published.
    data = yaml.safe_load(config.read_text())
    config.write_text(yaml.safe_dump({**data, "expectations": {"max_dcr_share": 0.3}}), encoding="utf-8")
    state, tasks = run_dag(airflow_session, "synthetic_private", D2)
    assert state == "failed" and tasks["validate"] == ("failed", 1), tasks
    assert tasks["publish"][0] == "upstream_failed"
    after = DeltaTable(str(tmp_path / "synthetic"))
    assert after.version() == version and after.to_pyarrow_table().equals(content)
    failed = json.loads((work / "runs" / "20250302T000000Z" / "gate.json").read_text())
    assert failed["success"] is False and len(failed["failures"]) == 1, failed["failures"]
    assert failed["failures"][0].startswith("table: privacy_dcr_share: observed dcr_share 0.")
    assert failed["failures"][0].endswith("vs allowed max_dcr_share=0.3")


def test_transient_failures_are_retried(airflow_session, tmp_path):
    # No source table yet (an upstream load still running, a storage hiccup): an OSError, retried.
    add_config(airflow_session, tmp_path, "retried", retries=1, retry_delay_s=1)
    state, tasks = run_dag(airflow_session, "synthetic_retried", D1)
    assert state == "failed"
    assert tasks["fingerprint_source"] == ("failed", 2), tasks  # the first try and one retry
    assert not (tmp_path / "synthetic").exists()


def test_append_never_appends_a_date_twice(airflow_session, diamonds, tmp_path):
    publish_source(diamonds, tmp_path / "real", slice(0, 2000))
    add_config(airflow_session, tmp_path, "appended", mode="append", rows=500)
    for when in (D1, D1, D2):
        state, tasks = run_dag(airflow_session, "synthetic_appended", when)
        assert state == "success", tasks
    table = DeltaTable(str(tmp_path / "synthetic"))
    assert table.to_pyarrow_table().num_rows == 1000  # D1 once, D2 once
    assert table.version() == 1
    assert table.transaction_version("synth-ray:appended:20250301T000000Z") == 1


def test_spark_table_to_spark_sampling_to_one_iceberg_snapshot(airflow_session, spark, diamonds, tmp_path):
    frame = diamonds.iloc[:2000].astype({c: "string" for c in ("cut", "color", "clarity")})
    spark.createDataFrame(frame).write.mode("overwrite").saveAsTable("default.diamonds_source")
    catalog = {"name": "lake", "database": str(tmp_path / "catalog.db"), "warehouse": str(tmp_path / "wh")}
    add_config(airflow_session, tmp_path, "spark_iceberg", sampling_engine="spark", sampling_workers=2,
               source={"format": "spark", "table": "default.diamonds_source"},
               target={"format": "iceberg", "table": "synthetic.diamonds", "catalog": catalog})
    state, tasks = run_dag(airflow_session, "synthetic_spark_iceberg", D1)
    assert state == "success", tasks
    from airflow_dags.config import CatalogConfig
    from airflow_dags.iceberg import load_catalog

    table = load_catalog(CatalogConfig(name="lake", database=tmp_path / "catalog.db",
                                       warehouse=tmp_path / "wh")).load_table("synthetic.diamonds")
    assert len(table.snapshots()) == 1
    assert table.current_snapshot().summary["synth-ray.run-key"] == "20250301T000000Z"
    rows = table.scan().to_arrow()
    assert rows.num_rows == 1000 and rows.schema.names == list(diamonds.columns)
    assert (tmp_path / "wh" / "synthetic" / "diamonds.quality" / "report.html").is_file()
    assert asset_events("iceberg://lake/synthetic.diamonds")[-1]["version"] == table.current_snapshot().snapshot_id


def test_main_job_runs_airflow_dags_test_and_shows_the_table(tmp_path):
    """The README's first command: ``airflow db migrate`` + ``airflow dags test``, as subprocesses."""
    import subprocess
    import sys

    config = tmp_path / "configs" / "wage.yaml"
    config.parent.mkdir()
    config.write_text(yaml.safe_dump({
        "name": "wage_demo", "source": {"format": "delta", "path": "lakehouse/real/wage"},
        "target": {"format": "delta", "path": "lakehouse/synthetic/wage"}, "rows": 500,
        "expectations": {"max_copy_rate": 0.05, "max_association_delta": 0.3},
    }), encoding="utf-8")
    done = subprocess.run([sys.executable, "-m", "airflow_dags.main_job", "--workdir", str(tmp_path / "work"),
                           "--config", str(config), "--dataset", "wage", "--date", "2025-03-01"],
                          capture_output=True, text=True, timeout=400, env={
                              k: v for k, v in __import__("os").environ.items() if not k.startswith("AIRFLOW")})
    assert done.returncode == 0, done.stdout + done.stderr
    out = done.stdout
    assert f"synthetic table   {tmp_path}/work/lakehouse/synthetic/wage (Delta, version 0, 500 rows" in out
    assert "gate              synth-ray gate PASSED" in out
    assert f"quality report    {tmp_path}/work/lakehouse/synthetic/wage.quality/report.html" in out
    assert "first synthetic rows:" in out
    assert DeltaTable(str(tmp_path / "work" / "lakehouse" / "synthetic" / "wage")).version() == 0
