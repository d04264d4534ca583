"""Fixtures of the Great Expectations gate tests: the mixed model saved once, and its sample."""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pytest

import synth_ray

GATE_ROWS = 2_000


@pytest.fixture(scope="session")
def gate_model_dir(tmp_path_factory, mixed_model) -> Path:
    """The session's mixed model, saved (with its reference profile) as ``orders``."""
    return synth_ray.save(mixed_model, tmp_path_factory.mktemp("gate") / "orders")


@pytest.fixture(scope="session")
def gate_fake(mixed_model) -> pa.Table:
    """A good synthetic table: 2,000 rows of the mixed model."""
    return mixed_model.sample_arrow(GATE_ROWS, seed=1)
