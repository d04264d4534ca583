"""The pipeline verbs as plain functions: ``fit``, ``sample``, ``save``, ``load``.

Example:
    >>> import synth_ray
    >>> model = synth_ray.fit(df, seed=0)                      # doctest: +SKIP
    >>> synth_ray.save(model, "models/orders")                 # doctest: +SKIP
    >>> fake = synth_ray.sample(synth_ray.load("models/orders"), rows=1_000, seed=7)  # doctest: +SKIP
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa

from synth_ray.conditions import Conditions, Distribution
from synth_ray.synthesizer import Synthesizer, fit_synthesizer
from synth_ray.table_input import TableLike
from synth_ray.table_spec import TableSpec

__all__ = ["fit", "load", "sample", "sample_arrow", "save"]


def fit(data: TableLike | str | Path, *, model: str = "copula",
        spec: TableSpec | Mapping[str, Any] | str | Path | None = None, seed: int = 0,
        options: Mapping[str, Any] | None = None) -> Synthesizer:
    """Learn a generator of a table.

    Args:
        data: a pandas DataFrame, an Arrow table, or the path of a Parquet/CSV/Delta table.
        model: generator kind (``copula``).
        spec: table spec overriding inferred metadata (path to YAML/JSON, dict, TableSpec).
        seed: seed for every random choice of the fit.
        options: generator settings.
    """
    if isinstance(data, str | Path):
        from synth_ray.lakehouse.readers import read_table

        data = read_table(data)
    return fit_synthesizer(data, model=model, spec=spec, seed=seed, options=options)


def sample(synthesizer: Synthesizer, *, rows: int, seed: int = 0,
           conditions: Conditions | None = None,
           distribution: Distribution | None = None) -> pd.DataFrame:
    """``rows`` synthetic rows as a pandas DataFrame; same seed, same rows.

    ``conditions`` fixes categorical/boolean columns (``{"cut": "Ideal"}``, or a
    DataFrame of per-row conditions); ``distribution`` gives one column exact counts
    (``{"cut": {"Ideal": 0.5, "Fair": 0.5}}``). See :meth:`Synthesizer.sample`.
    """
    return synthesizer.sample(rows, seed=seed, conditions=conditions, distribution=distribution)


def sample_arrow(synthesizer: Synthesizer, *, rows: int, seed: int = 0,
                 conditions: Conditions | None = None,
                 distribution: Distribution | None = None) -> pa.Table:
    """``rows`` synthetic rows as an Arrow table with the real table's exact schema."""
    return synthesizer.sample_arrow(rows, seed=seed, conditions=conditions,
                                    distribution=distribution)


def save(synthesizer: Synthesizer, path: str | Path) -> Path:
    """Write the model directory (safetensors + JSON + checksummed manifest)."""
    return synthesizer.save(path)


def load(path: str | Path) -> Synthesizer:
    """Read a model directory; never unpickles."""
    return Synthesizer.load(path)
