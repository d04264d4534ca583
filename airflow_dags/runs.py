"""A run's identity and seed: the same logical date always gives the same key and seed.

Everything a run writes (staging folder, gate result, the Delta/Iceberg idempotency
marker) is keyed by the run key, which comes from the logical date, not from the run
id: rerunning a date (a cleared task, a second ``dags test``) lands on the same key,
the same seed and therefore the same rows.
"""

from __future__ import annotations

import datetime as dt
import hashlib

from airflow_dags.config import SeedPolicy, TableConfig

__all__ = ["derive_seed", "run_key"]


def run_key(when: dt.datetime) -> str:
    """The run key of a logical date: ``20250301T000000Z`` (UTC, safe in file names)."""
    if when.tzinfo is None:
        when = when.replace(tzinfo=dt.UTC)
    return when.astimezone(dt.UTC).strftime("%Y%m%dT%H%M%SZ")


def derive_seed(config: TableConfig, key: str) -> int:
    """The sampling (and fitting) seed of run ``key`` under the config's seed policy.

    ``fixed``: ``seed.value`` for every run. ``logical_date``: the first 8 bytes of
    ``sha256("<value>:<run key>")`` as a non-negative 63-bit integer, so dates get
    independent seeds and a date always gets the same one.
    """
    if config.seed_policy is SeedPolicy.FIXED:
        return config.seed
    digest = hashlib.sha256(f"{config.seed}:{key}".encode()).digest()
    return int.from_bytes(digest[:8], "big") & ((1 << 63) - 1)
