"""One real Airflow per test session: a SQLite metadata DB in a temporary AIRFLOW_HOME.

The DAG folder is the project's ``airflow_dags/dags``; the table configs it reads come
from a session folder (``SYNTH_RAY_DAG_CONFIGS``) that tests add their configs to.
Airflow reads its settings when first imported, so the environment is set before that.
"""

from __future__ import annotations

import importlib.util
import os
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

DAGS_FOLDER = Path(__file__).resolve().parent.parent / "airflow_dags" / "dags"


@dataclass(frozen=True)
class AirflowSession:
    """Where the session's Airflow lives and where tests put their table configs."""

    home: Path
    dags_folder: Path
    configs: Path


@pytest.fixture(scope="session")
def airflow_session(tmp_path_factory: pytest.TempPathFactory) -> Iterator[AirflowSession]:
    if importlib.util.find_spec("airflow") is None:
        pytest.skip("needs the airflow extra")
    if any(name == "airflow" or name.startswith("airflow.") for name in sys.modules):
        pytest.fail("airflow was imported before the airflow_session fixture set AIRFLOW_HOME")
    home, configs = tmp_path_factory.mktemp("airflow-home"), tmp_path_factory.mktemp("dag-configs")
    os.environ.update({
        "AIRFLOW_HOME": str(home),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "AIRFLOW__CORE__PARALLELISM": "2",  # the default 32 starts dozens of processes
        "AIRFLOW__API__HOST": "127.0.0.1",
        "AIRFLOW__CORE__DAGS_FOLDER": str(DAGS_FOLDER),
        "SYNTH_RAY_DAG_CONFIGS": str(configs),
    })
    from airflow.utils import db

    db.initdb()  # a fresh SQLite metadata DB at the current schema (what `airflow db migrate` makes)
    yield AirflowSession(home=home, dags_folder=DAGS_FOLDER, configs=configs)
