"""The DAG factory: one refresh DAG per table config.

Parsing a DAG file only reads the small YAML configs (no data, no engines, no model):
the tasks load their config again when they run, by path, so a scheduler parses fast
and a config edit takes effect on the next run. Each DAG::

    fingerprint_source >> check_refit >> [fit] >> sample >> validate >> publish >> report

``check_refit`` branches: ``fit`` is *skipped* when the refit policy says the model
is current. ``publish`` has the synthetic table as its Asset outlet (the event carries
the version and row count); a DAG whose ``schedule`` is ``source`` runs when the source
table's Asset is updated. Failures that a retry cannot fix (a failed gate, a bad config)
fail at once; anything else is retried ``retries`` times.
"""

from __future__ import annotations

import datetime as dt
import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

from airflow_dags.config import TableConfig, load_table_config
from airflow_dags.errors import NOT_RETRYABLE

if TYPE_CHECKING:
    from airflow.sdk import DAG

__all__ = ["BUNDLED_CONFIGS", "build_dag", "build_dags", "config_files"]

BUNDLED_CONFIGS = Path(__file__).parent / "configs"


def config_files(folder: str | Path | None = None) -> list[Path]:
    """The YAML files of ``folder`` (default: ``SYNTH_RAY_DAG_CONFIGS``, else the bundled configs)."""
    root = Path(folder or os.environ.get("SYNTH_RAY_DAG_CONFIGS") or BUNDLED_CONFIGS)
    return sorted(p for p in root.glob("*.y*ml") if p.suffix in (".yaml", ".yml"))


def _run() -> str:
    from airflow.sdk import get_current_context

    from airflow_dags.compat import run_date
    from airflow_dags.runs import run_key

    return run_key(run_date(get_current_context()))


def _default_args(config: TableConfig) -> dict[str, Any]:
    from airflow.sdk import ExceptionRetryPolicy, RetryAction, RetryRule

    policy = ExceptionRetryPolicy(rules=[RetryRule(
        exception=list(NOT_RETRYABLE), action=RetryAction.FAIL,
        reason="a failed gate or a bad config or input fails the same way on every try")])
    return {"owner": "synth-ray", "retries": config.retries,
            "retry_delay": dt.timedelta(seconds=config.retry_delay_s), "retry_policy": policy}


def _tasks(config: TableConfig) -> None:
    from airflow.sdk import Asset, Metadata, task

    from airflow_dags import steps

    path, source, table = str(config.file), Asset(uri=config.source.uri), Asset(uri=config.target.uri)

    @task(inlets=[source])
    def fingerprint_source(config_path: str) -> dict[str, str]:
        return steps.fingerprint_step(load_table_config(config_path))

    @task.branch
    def check_refit(config_path: str, fingerprint: dict[str, str]) -> list[str]:
        decision = steps.check_refit_step(load_table_config(config_path), run=_run(), fingerprint=fingerprint)
        print(f"refit: {decision['refit']} ({decision['reason']})")
        return ["fit", "sample"] if decision["refit"] else ["sample"]

    @task
    def fit(config_path: str, fingerprint: dict[str, str]) -> dict[str, Any]:
        return steps.fit_step(load_table_config(config_path), run=_run(), fingerprint=fingerprint)

    @task(trigger_rule="none_failed_min_one_success")
    def sample(config_path: str) -> dict[str, Any]:
        return steps.sample_step(load_table_config(config_path), run=_run())

    @task
    def validate(config_path: str) -> dict[str, Any]:
        return steps.validate_step(load_table_config(config_path), run=_run())

    @task(outlets=[table])
    def publish(config_path: str) -> Any:
        result = steps.publish_step(load_table_config(config_path), run=_run())
        yield Metadata(table, extra={k: v for k, v in result.items() if k != "table"})
        return result

    @task
    def report(config_path: str, published: dict[str, Any]) -> dict[str, Any]:
        return steps.report_step(load_table_config(config_path), run=_run(), published=published)

    fingerprint: Any = fingerprint_source(path)
    branch, fitted, sampled = check_refit(path, fingerprint), fit(path, fingerprint), sample(path)
    branch >> [fitted, sampled]
    fitted >> sampled
    published: Any = publish(path)
    sampled >> validate(path) >> published
    report(path, published)


def build_dag(config: TableConfig) -> DAG:
    """The refresh DAG of one table config."""
    from airflow.sdk import DAG, Asset

    schedule: Any = [Asset(uri=config.source.uri)] if config.schedule == "source" else config.schedule
    doc = (f"Refreshes the synthetic table `{config.target.uri}` from `{config.source.uri}`"
           f" (config `{config.file}`). {config.description}")
    with DAG(dag_id=config.dag_id, schedule=schedule, start_date=config.start_date, catchup=False,
             max_active_runs=1, default_args=_default_args(config), description=config.description or None,
             doc_md=doc, tags=["synth-ray", *config.tags]) as dag:
        _tasks(config)
    return dag


def build_dags(folder: str | Path | None = None) -> dict[str, DAG]:
    """One DAG per config file in ``folder``, by DAG id.

    Raises:
        ConfigError: a config is invalid (the message names the file and the key), or two
            configs have the same name.
    """
    from synth_ray.errors import ConfigError

    dags: dict[str, DAG] = {}
    for file in config_files(folder):
        config = load_table_config(file)
        if config.dag_id in dags:
            raise ConfigError(f"{file}: name: {config.name!r} is already used by another config in "
                              f"{file.parent}; table names must be unique")
        dags[config.dag_id] = build_dag(config)
    return dags
