"""The quality and privacy gate: validate a synthetic table before it is published.

``validate_synthetic`` builds (or reads) the model's suite, runs it with Great
Expectations on the table (pandas, Arrow, a Spark DataFrame, or a Delta or Parquet path)
and returns a :class:`GateResult`: ``success`` and one readable line per failed
expectation. It is the audit step of write -> audit -> publish: stage the table, call
this, and commit only when ``result.success``.

Example:
    >>> result = validate_synthetic(fake, model_dir="models/orders", expected_rows=10_000)  # doctest: +SKIP
    >>> if not result.success:                                                          # doctest: +SKIP
    ...     raise RuntimeError(result.summary)
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from expectations.suite import build_suite, save_suite
from expectations.thresholds import GateThresholds

__all__ = ["GateResult", "GateThresholds", "build_suite", "save_suite", "validate_synthetic"]


@dataclass(frozen=True)
class GateResult:
    """What the gate decided.

    Attributes:
        success: whether every expectation passed (publish only then).
        failures: one line per failed expectation: column, expectation, observed vs allowed.
        summary: a multi-line summary for people (logs, the CLI, an Airflow task).
        privacy: the privacy check's metrics (DCR share and its threshold, exact matches,
            DCR and NNDR tails, rows used) when training and holdout rows were given.
    """

    success: bool
    failures: tuple[str, ...]
    summary: str
    privacy: Mapping[str, Any] | None = None

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form (e.g. an Airflow XCom)."""
        out = {"success": self.success, "failures": list(self.failures), "summary": self.summary}
        return out if self.privacy is None else {**out, "privacy": dict(self.privacy)}


def _is_spark(data: Any) -> bool:
    return type(data).__module__.startswith("pyspark.sql")


def _to_frame(data: Any) -> tuple[Any, str, Any]:
    """``data`` as (pandas or Spark DataFrame, engine name, the Arrow table when there was one)."""
    import pandas as pd
    import pyarrow as pa

    if _is_spark(data):
        return data, "spark", None
    if isinstance(data, pd.DataFrame):
        return data, "pandas", None
    if isinstance(data, str | Path):
        from synth_ray.lakehouse.readers import read_table

        data = read_table(data)
    if isinstance(data, pa.Table):
        from synth_ray.pandas_output import to_pandas

        return to_pandas(data), "pandas", data
    from synth_ray.errors import SchemaError

    raise SchemaError(f"cannot validate a {type(data).__name__}: give a pandas DataFrame, a pyarrow "
                      "Table, a Spark DataFrame, or the path of a Delta or Parquet table")


def _real_rows(data: Any) -> Any:
    """Training or holdout rows as Arrow (a path is read)."""
    if isinstance(data, str | Path):
        from synth_ray.lakehouse.readers import read_table

        return read_table(data)
    from synth_ray.table_input import to_arrow

    return to_arrow(data)


def _privacy(frame: Any, engine: str, table: Any, *, model: Any, training: Any, holdout: Any,
             thresholds: GateThresholds) -> Any:
    """The privacy check on a bounded sample of the synthetic rows (see :mod:`expectations.privacy`)."""
    from expectations.privacy import PRIVACY_ROWS, check_privacy

    if table is None and engine == "spark":  # rows are i.i.d. by construction: the first N are a sample
        table = frame.limit(PRIVACY_ROWS).toArrow()
    elif table is None:
        from synth_ray.table_input import to_arrow

        table = to_arrow(frame.sample(n=min(PRIVACY_ROWS, len(frame)), random_state=0))
    return check_privacy(table, training=_real_rows(training), holdout=_real_rows(holdout),
                         metadata=model.metadata, thresholds=thresholds)


def _suite(model: Any, *, model_dir: Path, suite_path: Path | None, expected_rows: int | None,
           thresholds: GateThresholds) -> Any:
    """The suite to run: read from ``suite_path`` when it exists, else built (and saved there)."""
    from expectations.metrics import register_reference
    from expectations.suite import (
        ROW_COUNT,
        load_suite,
        require_reference,
        row_count_expectation,
        suite_for_model,
    )
    from synth_ray.errors import ConfigError

    name = f"synth_ray.{model_dir.resolve().name}"
    if suite_path is None or not suite_path.exists():
        suite = suite_for_model(model, name=name, expected_rows=expected_rows, thresholds=thresholds)
        if suite_path is not None:
            save_suite(suite, suite_path)
        return suite
    suite = load_suite(suite_path)
    digest = register_reference(require_reference(model, where=repr(str(model_dir))))
    named = {e.configuration.kwargs.get("reference_digest") for e in suite.expectations} - {None}
    if named - {digest}:
        raise ConfigError(f"suite {str(suite_path)!r} was built for another fit of this model "
                          f"(reference {sorted(named)[0][:12]}..., the model has {digest[:12]}...): "
                          "delete it to rebuild it, or rebuild it with build_suite")
    if expected_rows is not None:  # the requested count is per run: it replaces the saved one
        suite.expectations = [e for e in suite.expectations if e.expectation_type != ROW_COUNT]
        suite.add_expectation(row_count_expectation(expected_rows, thresholds))
    return suite


def validate_synthetic(data: Any, *, model_dir: str | Path, expected_rows: int | None = None,
                       thresholds: GateThresholds | Mapping[str, Any] | None = None,
                       suite_path: str | Path | None = None,
                       gx_project_dir: str | Path | None = None,
                       training: Any = None, holdout: Any = None) -> GateResult:
    """Validate a synthetic table against its model's suite with Great Expectations.

    Args:
        data: a pandas DataFrame, a pyarrow Table, a Spark DataFrame (validated by Spark,
            partition by partition), or the path of a Delta or Parquet table.
        model_dir: the model directory the table was sampled from.
        expected_rows: the requested row count (checked within ``row_count_tolerance``).
        thresholds: tolerances (a :class:`GateThresholds` or a mapping of its fields) used
            when the suite is built; a saved suite keeps its own.
        suite_path: a suite JSON to run; if the file does not exist yet, the built suite is
            saved there for review (see :func:`expectations.suite.default_suite_path`).
        gx_project_dir: a GX file project to keep results and render Data Docs in
            (created if missing); ``None`` runs in an ephemeral context.
        training: the real rows the model was fitted on (Arrow, pandas or a path); with
            ``holdout``, the privacy check runs too (:mod:`expectations.privacy`): the table
            fails when its DCR share exceeds ``max_dcr_share``.
        holdout: real rows the model never saw (Arrow, pandas or a path).

    Raises:
        ArtifactError: ``model_dir`` is not a model, or has no reference profile.
        ConfigError: bad thresholds, a suite built for another fit of the model, or only
            one of ``training`` and ``holdout``.
        MissingExtraError: great_expectations is not installed (``pip install 'synth-ray[gx]'``).
    """
    from expectations.runner import data_docs_index, run_validation
    from expectations.suite import gx_module
    from synth_ray.artifacts import load_model

    gx_module()
    started = time.perf_counter()
    if (training is None) != (holdout is None):
        from synth_ray.errors import ConfigError

        raise ConfigError("the privacy check needs both training= (the rows the model was fitted on) "
                          "and holdout= (real rows it never saw); pass both, or neither to skip it")
    if not isinstance(thresholds, GateThresholds):
        thresholds = GateThresholds.from_mapping(thresholds)
    folder = Path(model_dir)
    model = load_model(folder)
    suite = _suite(model, model_dir=folder, suite_path=Path(suite_path) if suite_path else None,
                   expected_rows=expected_rows, thresholds=thresholds)
    frame, engine, table = _to_frame(data)
    project = Path(gx_project_dir) if gx_project_dir is not None else None
    result = run_validation(frame, suite, engine=engine, project_dir=project)
    privacy = None if training is None else _privacy(frame, engine, table, model=model, training=training,
                                                     holdout=holdout, thresholds=thresholds)
    from expectations.failures import gate_result

    docs = data_docs_index(project) if project is not None else None
    return gate_result(result, engine=engine, seconds=time.perf_counter() - started, data_docs=docs,
                       privacy=privacy)
