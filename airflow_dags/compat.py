"""Airflow version differences, in one place, each explained.

The DAGs target Airflow 3 (``airflow.sdk``); these helpers cover what moved or changed
meaning between 3.x releases so that the rest of the package does not care.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

__all__ = ["dag_bag", "run_date"]


def run_date(context: Mapping[str, Any]) -> dt.datetime:
    """The date a run stands for.

    Airflow 3 runs may have no logical date (manual and asset-triggered runs, whose
    ``logical_date`` is None); such a run stands for its ``run_after`` time, which a
    rerun (cleared task) keeps.
    """
    run = context["dag_run"]
    when = getattr(run, "logical_date", None) or context.get("logical_date") or run.run_after
    return when


def dag_bag(folder: str) -> Any:
    """A ``DagBag`` of ``folder``: ``airflow.dag_processing.dagbag`` since 3.1, ``airflow.models`` before."""
    try:
        from airflow.dag_processing.dagbag import DagBag
    except ImportError:  # Airflow 3.0
        from airflow.models import DagBag
    return DagBag(folder)
