"""Airflow DAGs that refresh synthetic lakehouse tables, one DAG per YAML table config.

Needs the ``airflow`` extra (``pip install 'synth-ray[airflow]'``) to build DAGs; the
config schema and the steps import without Airflow. ``dags/synthetic_tables.py`` is
the DAG file to put in Airflow's ``dags_folder``.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from airflow_dags.config import TableConfig, load_table_config
    from airflow_dags.factory import build_dag, build_dags

_EXPORTS = {
    "TableConfig": "airflow_dags.config", "load_table_config": "airflow_dags.config",
    "build_dag": "airflow_dags.factory", "build_dags": "airflow_dags.factory",
}

__all__ = ["TableConfig", "build_dag", "build_dags", "load_table_config"]


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'airflow_dags' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return __all__
