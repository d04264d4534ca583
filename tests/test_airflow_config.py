"""Table configs, seeds, the refit policy and publishing, without a scheduler (fast, pure)."""

from __future__ import annotations

import datetime as dt
import os
import shutil
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import yaml

from airflow_dags.config import Engine, RefitPolicy, SeedPolicy, TargetFormat, load_table_config
from airflow_dags.factory import BUNDLED_CONFIGS
from airflow_dags.publish import publish
from airflow_dags.refit import ModelState, decide_refit
from airflow_dags.runs import derive_seed, run_key
from synth_ray.errors import ConfigError

BASE = {
    "name": "orders",
    "source": {"format": "parquet", "path": "lake/orders.parquet"},
    "target": {"format": "delta", "path": "lake/orders_synth"},
    "rows": 100,
}


def write(tmp_path: Path, data: object, name: str = "orders.yaml") -> Path:
    path = tmp_path / name
    path.write_text(data if isinstance(data, str) else yaml.safe_dump(data), encoding="utf-8")
    return path


def config_error(tmp_path: Path, **changes: object) -> str:
    data = {**BASE, **changes}
    with pytest.raises(ConfigError) as info:
        load_table_config(write(tmp_path, {k: v for k, v in data.items() if v is not None}))
    return str(info.value)


def test_bundled_configs_load():
    configs = sorted(BUNDLED_CONFIGS.glob("*.yaml"))
    assert configs
    diamonds = load_table_config(BUNDLED_CONFIGS / "diamonds.yaml")
    assert diamonds.dag_id == "synthetic_diamonds"
    assert diamonds.target.format is TargetFormat.DELTA and diamonds.sampling_engine is Engine.RAY
    assert diamonds.seed_policy is SeedPolicy.LOGICAL_DATE and diamonds.refit is RefitPolicy.ON_CHANGE
    for config in configs:
        load_table_config(config)


def test_defaults_and_relative_paths(tmp_path, monkeypatch):
    monkeypatch.setenv("SYNTH_RAY_HOME", str(tmp_path / "home"))
    config = load_table_config(write(tmp_path, BASE))
    assert config.source.path == tmp_path / "home" / "lake" / "orders.parquet"
    assert config.work_dir == tmp_path / "home" / "lake" / "_synth_ray" / "orders"
    assert config.target.report_dir == tmp_path / "home" / "lake" / "orders_synth.quality"
    assert (config.mode, config.sampling_engine, config.refit, config.schedule) == (
        "overwrite", Engine.LOCAL, RefitPolicy.ON_CHANGE, None)
    assert config.start_date == dt.datetime(2025, 1, 1, tzinfo=dt.UTC)


@pytest.mark.parametrize(("changes", "expected"), [
    ({"sampling_engin": "ray"}, "config: unknown key 'sampling_engin': did you mean 'sampling_engine'?"),
    ({"source": {"format": "parquet", "pth": "x"}}, "source: unknown key 'pth': did you mean 'path'?"),
    ({"target": {"format": "deltaa", "path": "x"}}, "target.format: unknown value 'deltaa': did you mean 'delta'?"),
    ({"rows": None}, "rows: is required"),
    ({"rows": -5}, "rows: must be an integer >= 0, got -5"),
    ({"mode": "upsert"}, "mode: must be 'overwrite' or 'append'"),
    ({"schedule": "0 3 * *"}, "schedule: '0 3 * *' has 4 field(s); a cron expression has 5: minute hour"),
    ({"schedule": "0 3 * * * *"}, "schedule: '0 3 * * * *' has 6 field(s)"),
    ({"schedule": "0 25 * * *"}, "schedule: '0 25 * * *': the hour field '25' is not valid; hour takes 0-23"),
    ({"schedule": "61 * * * *"}, "the minute field '61' is not valid; minute takes 0-59"),
    ({"schedule": "0 3 32 * *"}, "the day-of-month field '32' is not valid; day-of-month takes 1-31"),
    ({"schedule": "0 3 * 13 *"}, "the month field '13' is not valid; month takes 1-12 or jan-dec"),
    ({"schedule": "0 3 * * 8"}, "the day-of-week field '8' is not valid; day-of-week takes 0-6 or sun-sat"),
    ({"schedule": "@dayly"}, "schedule: unknown preset '@dayly': did you mean '@daily'?"),
    ({"schedule": "@dailly"}, "schedule: unknown preset '@dailly': did you mean '@daily'?"),
    ({"schedule": "daily"}, "schedule: 'daily' is not a cron expression; did you mean the preset '@daily'?"),
    ({"schedule": 5}, "schedule: must be a cron expression, a preset like '@daily', 'source' or null"),
    ({"source": None}, "source: is required: where the source table is, e.g. {format: delta, path:"),
    ({"target": None}, "target: is required: where the target table is"),
    ({"source": {"format": "parquet"}}, "source.path: is required for a parquet source"),
    ({"source": {"format": "iceberg", "path": "x"}}, "source.table: is required for a iceberg source"),
    ({"source": "lake/orders.parquet"}, "source: must be a mapping, got str"),
    ({"rows": "100"}, "rows: must be an integer >= 0, got '100' (write the number without quotes)"),
    ({"rows": True}, "rows: must be an integer >= 0, got True"),
    ({"seed": "abc"}, "seed: must be an integer >= 0, 'logical_date', or {policy: fixed or logical_date"),
    ({"seed": {"policy": "fixd"}}, "seed.policy: unknown value 'fixd': did you mean 'fixed'?"),
    ({"tags": "demo"}, "tags: must be a list of strings, got 'demo'"),
    ({"model": 3}, "model: must be a mapping, got int"),
    ({"model": {"kind": "ctgan", "epochs": 1.5}}, "model.epochs: must be an integer >= 1, got 1.5"),
    ({"model": {"kind": "ctgan", "options": [1]}}, "model.options: must be a mapping, got list"),
    ({"retries": -1}, "retries: must be an integer >= 0, got -1"),
    ({"start_date": "yesterday"}, "start_date: must be a date like 2025-01-01, got 'yesterday'"),
    ({"work_dir": 5}, "work_dir: must be a non-empty string, got 5"),
    ({"target": {"format": "delta", "path": "x", "table": "a.b"}}, "target.table: is only for Iceberg"),
    ({"refit": "every_n_runs"}, "refit: every_n_runs needs n"),
    ({"refit": {"policy": "every_n_runs", "n": 0}}, "refit.n: must be an integer >= 1"),
    ({"model": {"kind": "ctgam"}}, "model.kind: unknown model 'ctgam': did you mean 'ctgan'?"),
    ({"model": {"kind": "copula", "epochs": 3}}, "model.epochs: the copula model has no epochs"),
    ({"model": {"kind": "copula", "engine": "ray"}}, "model.engine: Ray Train fits the neural models"),
    ({"expectations": {"max_kss": 0.1}}, "expectations: gate thresholds: unknown key 'max_kss'"),
    ({"expectations": {"max_ks": 3}}, "expectations: gate threshold 'max_ks' must be in [0, 1]"),
    ({"target": {"format": "iceberg", "table": "nonamespace", "catalog": {}}}, "target.table: must be"),
    ({"name": "has space"}, "name: must be a letter then letters"),
])
def test_errors_name_the_file_and_the_key(tmp_path, changes, expected):
    message = config_error(tmp_path, **changes)
    assert message.startswith(f"{tmp_path / 'orders.yaml'}: ")
    assert expected in message


def test_yaml_is_loaded_safely(tmp_path):
    marker = tmp_path / "pwned"
    text = f"!!python/object/apply:os.system ['touch {marker}']\n"
    with pytest.raises(ConfigError, match="not valid YAML"):
        load_table_config(write(tmp_path, text))
    assert not marker.exists()
    with pytest.raises(ConfigError, match="cannot read the table config"):
        load_table_config(tmp_path / "missing.yaml")


def test_run_key_and_seed_policy(tmp_path):
    assert run_key(dt.datetime(2025, 3, 1, 4, 5, 6, tzinfo=dt.UTC)) == "20250301T040506Z"
    assert run_key(dt.datetime(2025, 3, 1, 5, tzinfo=dt.timezone(dt.timedelta(hours=1)))) == "20250301T040000Z"
    fixed = load_table_config(write(tmp_path, {**BASE, "seed": 7}))
    dated = load_table_config(write(tmp_path, {**BASE, "seed": {"policy": "logical_date", "value": 7}}, "d.yaml"))
    assert derive_seed(fixed, "20250301T000000Z") == derive_seed(fixed, "20250302T000000Z") == 7
    first, second = derive_seed(dated, "20250301T000000Z"), derive_seed(dated, "20250302T000000Z")
    assert first != second and 0 <= first < 2**63
    assert first == 4646602425122880077  # golden: sha256("7:20250301T000000Z")[:8]


FP = {"content": "c1", "schema": "s1"}


@pytest.mark.parametrize(("policy", "every", "state", "fingerprint", "run", "refit"), [
    (RefitPolicy.ON_CHANGE, None, None, FP, "r1", True),
    (RefitPolicy.ON_CHANGE, None, ModelState(fingerprint=FP, fitted_run="r0"), FP, "r1", False),
    (RefitPolicy.ON_CHANGE, None, ModelState(fingerprint=FP), {**FP, "content": "c2"}, "r1", True),
    (RefitPolicy.ALWAYS, None, ModelState(fingerprint=FP, fitted_run="r0"), FP, "r1", True),
    (RefitPolicy.ALWAYS, None, ModelState(fingerprint=FP, fitted_run="r1"), FP, "r1", False),  # rerun
    (RefitPolicy.EVERY_N_RUNS, 2, ModelState(fingerprint=FP, runs=("r0",)), {**FP, "content": "c2"}, "r1", False),
    (RefitPolicy.EVERY_N_RUNS, 2, ModelState(fingerprint=FP, runs=("r0", "r1")), FP, "r1", False),  # rerun
    (RefitPolicy.EVERY_N_RUNS, 2, ModelState(fingerprint=FP, runs=("r0", "r1")), FP, "r2", True),
    (RefitPolicy.EVERY_N_RUNS, 9, ModelState(fingerprint=FP), {**FP, "schema": "s2"}, "r1", True),
])
def test_refit_policy(policy, every, state, fingerprint, run, refit):
    decision = decide_refit(policy, every=every, state=state, fingerprint=fingerprint, run=run, model_exists=True)
    assert decision.refit is refit, decision.reason
    assert decide_refit(policy, every=every, state=state, fingerprint=fingerprint, run=run,
                        model_exists=False).refit


def stage(folder: Path, values: list[int]) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    pq.write_table(pa.table({"x": pa.array(values, pa.int64())}), folder / "part-0.parquet")
    return folder


def test_parquet_publish_overwrite_and_idempotent_append(tmp_path):
    def config(mode: str):
        return load_table_config(write(tmp_path, {**BASE, "mode": mode, "target": {
            "format": "parquet", "path": str(tmp_path / "out")}}, f"{mode}.yaml"))

    first = publish(config("overwrite"), staging=stage(tmp_path / "s1", [1, 2]), run="r1", seed=0)
    assert (first.rows, first.already_published) == (2, False)
    assert list((tmp_path / "s1").glob("*.parquet"))  # linked, not moved: a killed publish can be retried
    append = config("append")
    publish(append, staging=stage(tmp_path / "s2", [3]), run="r2", seed=0)
    again = publish(append, staging=stage(tmp_path / "s3", [3]), run="r2", seed=0)
    assert again.already_published
    assert sorted(pq.read_table(tmp_path / "out")["x"].to_pylist()) == [1, 2, 3]


def test_iceberg_publish_is_one_snapshot_and_idempotent(tmp_path):
    target = {"format": "iceberg", "table": "synthetic.orders",
              "catalog": {"database": str(tmp_path / "catalog.db"), "warehouse": str(tmp_path / "wh")}}
    config = load_table_config(write(tmp_path, {**BASE, "mode": "append", "target": target}))
    one = publish(config, staging=stage(tmp_path / "s1", [1, 2]), run="r1", seed=0)
    same = publish(config, staging=stage(tmp_path / "s2", [1, 2]), run="r1", seed=0)
    two = publish(config, staging=stage(tmp_path / "s3", [3]), run="r2", seed=0)
    assert same.already_published and same.version == one.version and two.version != one.version
    from airflow_dags.iceberg import load_catalog

    table = load_catalog(config.target.catalog).load_table("synthetic.orders")
    assert len(table.snapshots()) == 2
    assert sorted(table.scan().to_arrow()["x"].to_pylist()) == [1, 2, 3]
    assert table.current_snapshot().summary["synth-ray.run-key"] == "r2"


def test_a_retry_after_a_successful_publish_reports_the_table(tmp_path):
    from deltalake import DeltaTable

    config = load_table_config(write(tmp_path, {**BASE, "target": {"format": "delta", "path": str(tmp_path / "t")}}))
    done = publish(config, staging=stage(tmp_path / "s", [1, 2]), run="r1", seed=0)
    assert (done.version, done.rows) == (0, 2) and list((tmp_path / "s").glob("*.parquet"))  # linked
    shutil.rmtree(tmp_path / "s")  # what publish_step does after a publish that succeeded
    (tmp_path / "s").mkdir()
    retry = publish(config, staging=tmp_path / "s", run="r1", seed=0)  # the staged files are in the table
    assert retry.already_published and retry.version == 0
    assert DeltaTable(str(tmp_path / "t")).transaction_version("synth-ray:orders:r1") == 1
    with pytest.raises(OSError, match="no staged Parquet files"):
        publish(config, staging=tmp_path / "s", run="r2", seed=0)


def test_targets_outside_the_allowed_roots_are_refused(tmp_path, monkeypatch):
    lake, outside = tmp_path / "lake", tmp_path / "elsewhere"
    (lake / "synthetic").mkdir(parents=True)
    outside.mkdir()
    (lake / "synthetic" / "escape").symlink_to(outside, target_is_directory=True)
    monkeypatch.setenv("SYNTH_RAY_HOME", str(lake))
    monkeypatch.setenv("SYNTH_RAY_ALLOWED_ROOTS", str(lake))

    def refused(target: dict, **changes: object) -> str:
        with pytest.raises(ConfigError) as info:
            load_table_config(write(tmp_path, {**BASE, "target": target, **changes}))
        return str(info.value)

    inside = load_table_config(write(tmp_path, {**BASE, "target": {"format": "delta", "path": "synthetic/t"}}))
    assert inside.target.path == lake / "synthetic" / "t"
    message = refused({"format": "delta", "path": str(outside / "t")})
    assert f"target.path: '{outside / 't'}' resolves to '{outside / 't'}', outside the allowed root(s) {lake}" \
        in message and "$SYNTH_RAY_ALLOWED_ROOTS" in message
    assert f"resolves to '{outside / 't'}'" in refused({"format": "delta", "path": "synthetic/../../elsewhere/t"})
    assert f"resolves to '{outside / 't'}'" in refused({"format": "parquet", "path": "synthetic/escape/t"})
    assert "work_dir: " in refused({"format": "delta", "path": "synthetic/t"}, work_dir=str(outside / "w"))
    iceberg = {"format": "iceberg", "table": "synthetic.orders",
               "catalog": {"database": "catalog.db", "warehouse": str(outside)}}
    assert "target.catalog.warehouse: " in refused(iceberg)
    # The operator sets the roots, never the config: an argument overrides the environment.
    assert load_table_config(write(tmp_path, {**BASE, "target": {"format": "delta", "path": str(outside / "t")}}),
                             roots=f"{lake}{os.pathsep}{outside}").target.path == outside / "t"
    monkeypatch.delenv("SYNTH_RAY_ALLOWED_ROOTS")
    assert load_table_config(write(tmp_path, {**BASE, "target": {"format": "delta", "path": str(outside / "t")}}))


def test_refresh_report_shows_the_differential_privacy_record(tmp_path, monkeypatch):
    """A DP-fitted generator's budget reaches the refresh's HTML report and run.json."""
    import json

    import synth_ray
    from airflow_dags.report import write_quality_report

    monkeypatch.chdir(tmp_path)
    config = load_table_config(write(tmp_path, BASE))
    real = pa.table({"x": [float(i % 17) for i in range(300)], "c": ["a", "b", "c"] * 100})
    synth = synth_ray.fit(real, seed=0)
    record = {"epsilon": 2.91, "target_epsilon": 3.0, "delta": 1e-5, "noise_multiplier": 1.7,
              "max_grad_norm": 1.0, "sample_rate": 0.01, "steps": 1200, "accountant": "rdp",
              "spent_delta": 1e-5, "unit": "row", "adjacency": "add or remove one row",
              "mechanism": "DP-SGD (opacus DPOptimizer, Poisson sampling)"}
    summary = write_quality_report(config, real=real, synthetic=synth.sample_arrow(300, seed=1),
                                   metadata=synth.metadata, run={"run": "r1"},
                                   training_privacy=record)
    html = Path(summary["report"]).read_text(encoding="utf-8")
    assert "Differential privacy of the generator" in html and "2.91" in html
    stored = json.loads((config.target.report_dir / "run.json").read_text(encoding="utf-8"))
    assert stored["differential_privacy"]["epsilon"] == 2.91
    plain = write_quality_report(config, real=real, synthetic=synth.sample_arrow(300, seed=1),
                                 metadata=synth.metadata, run={"run": "r2"})
    assert "differential_privacy" not in plain
    assert "Differential privacy" not in Path(plain["report"]).read_text(encoding="utf-8")
