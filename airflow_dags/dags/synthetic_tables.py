"""Airflow DAG file: one synthetic-table refresh DAG per YAML config.

Point Airflow's ``dags_folder`` here (or copy this file into yours); the configs are
read from ``SYNTH_RAY_DAG_CONFIGS`` (default: the bundled ``airflow_dags/configs``).
"""

from __future__ import annotations

from airflow_dags.factory import build_dags

globals().update(build_dags())
