"""The main job: what ``make demo`` runs. A refresh DAG, end to end, under real Airflow.

1. Publishes the bundled ``ggplot2/diamonds`` table as the local Delta "source" table
   (once: it stands in for a real lakehouse table, so reruns do not change it).
2. Prepares an Airflow home under the work folder (SQLite metadata DB: ``airflow db migrate``).
3. Runs ``airflow dags test synthetic_diamonds <today>``: fingerprint, fit, Ray sampling
   to staging, the Great Expectations gate, one Delta commit, the Asset event, the report.
4. Prints where the table is, its version and row count, a few rows, the gate's verdict
   and the quality report.

Everything is local: a Ray started by the task, Airflow's SQLite DB, Delta via ``deltalake``.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import subprocess
import sys
import time
from pathlib import Path

from airflow_dags.config import SourceFormat, TableConfig, TargetFormat, load_table_config
from airflow_dags.factory import BUNDLED_CONFIGS

__all__ = ["airflow_environment", "main", "run_refresh"]

DAGS_FOLDER = Path(__file__).parent / "dags"


def airflow_environment(workdir: Path, configs: Path = BUNDLED_CONFIGS) -> dict[str, str]:
    """The environment of an Airflow whose home, DB and tables live under ``workdir``."""
    return {
        **os.environ,
        "AIRFLOW_HOME": str(workdir / "airflow"),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "AIRFLOW__CORE__PARALLELISM": "2",
        "AIRFLOW__API__HOST": "127.0.0.1",
        "AIRFLOW__CORE__DAGS_FOLDER": str(DAGS_FOLDER),
        "SYNTH_RAY_DAG_CONFIGS": str(configs),
        "SYNTH_RAY_HOME": str(workdir),
    }


def _airflow(args: list[str], env: dict[str, str], log: Path) -> None:
    """Run the ``airflow`` CLI of this environment; its (long) output goes to ``log``."""
    airflow = Path(sys.executable).parent / "airflow"
    with log.open("a", encoding="utf-8") as out:
        out.write(f"\n$ airflow {' '.join(args)}\n")
        out.flush()
        done = subprocess.run([str(airflow), *args], env=env, stdout=out, stderr=subprocess.STDOUT,
                              check=False)
    if done.returncode != 0:
        tail = log.read_text(encoding="utf-8", errors="replace").splitlines()[-40:]
        raise SystemExit(f"`airflow {' '.join(args)}` failed (exit {done.returncode}); the end of "
                         f"{log}:\n" + "\n".join(tail))


def _publish_source(config: TableConfig, dataset: str) -> Path:
    """Publish the bundled ``dataset`` as the config's Delta source, unless it exists already."""
    from synth_ray.main_job import publish_source

    path = config.source.path
    if config.source.format is not SourceFormat.DELTA or path is None:
        raise SystemExit(f"{config.file}: the main job publishes a bundled table as a Delta source; "
                         f"this config's source is {config.source.format.value}")
    if config.target.format is not TargetFormat.DELTA:
        raise SystemExit(f"{config.file}: the main job shows a Delta target; this config's target is "
                         f"{config.target.format.value}")
    if not (path / "_delta_log").is_dir():
        publish_source(dataset, path)
    return path


def run_refresh(*, workdir: Path, config: TableConfig, when: dt.date, log: Path) -> None:
    """``airflow db migrate`` then ``airflow dags test <dag id> <when>``, with the config's folder."""
    env = airflow_environment(workdir, config.file.parent)
    (workdir / "airflow").mkdir(parents=True, exist_ok=True)
    _airflow(["db", "migrate"], env, log)
    _airflow(["dags", "test", config.dag_id, when.isoformat()], env, log)


def _print_result(config: TableConfig, log: Path) -> None:
    from deltalake import DeltaTable

    table = DeltaTable(str(config.target.path))
    summary = json.loads((config.target.report_dir / "run.json").read_text(encoding="utf-8"))
    gate = json.loads((config.work_dir / "runs" / summary["run"] / "gate.json").read_text(encoding="utf-8"))
    print(f"  real table        {config.source.path} (Delta)")
    print(f"  synthetic table   {config.target.path} (Delta, version {table.version()}, "
          f"{table.to_pyarrow_dataset().count_rows():,} rows, seed {summary['seed']})")
    print(f"  sampling          {config.sampling_engine.value} ({config.sampling_workers} workers), "
          f"model {config.model.kind} in {config.work_dir / 'model'}")
    print(f"  gate              {gate['summary'].splitlines()[0]}")
    print(f"  quality           {summary['quality']:.3f} (SDMetrics QualityReport definition), verdicts "
          + ", ".join(f"{k} {v}" for k, v in summary["sections"].items()))
    print(f"  quality report    {summary['report']}")
    print(f"  Airflow log       {log}")
    print("first synthetic rows:")
    print(table.to_pyarrow_dataset().head(5).to_pandas().to_string(index=False))


def main(argv: list[str] | None = None) -> int:
    """``python -m airflow_dags.main_job [--workdir work] [--config YAML] [--date YYYY-MM-DD]``."""
    parser = argparse.ArgumentParser(prog="python -m airflow_dags.main_job", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--workdir", default="work", help="where tables, models and Airflow live")
    parser.add_argument("--config", type=Path, default=BUNDLED_CONFIGS / "diamonds.yaml",
                        help="the table config to run (default: the bundled diamonds.yaml)")
    parser.add_argument("--dataset", default="diamonds",
                        help="bundled table published as the source when it does not exist yet")
    parser.add_argument("--date", type=dt.date.fromisoformat, default=dt.datetime.now(dt.UTC).date(),
                        help="the run's logical date (default: today, UTC); a rerun gives the same table")
    args = parser.parse_args(argv)
    workdir = Path(args.workdir).absolute()
    workdir.mkdir(parents=True, exist_ok=True)
    log = workdir / "airflow" / "demo.log"
    log.parent.mkdir(parents=True, exist_ok=True)
    log.write_text("", encoding="utf-8")
    started = time.perf_counter()
    os.environ["SYNTH_RAY_HOME"] = str(workdir)  # the config's relative paths are under the workdir
    config = load_table_config(args.config)
    source = _publish_source(config, args.dataset)
    print(f"synth-ray main job: Airflow DAG {config.dag_id} for {args.date} (source {source})", flush=True)
    run_refresh(workdir=workdir, config=config, when=args.date, log=log)
    print(f"DAG run succeeded in {time.perf_counter() - started:.0f} s:")
    _print_result(config, log)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
