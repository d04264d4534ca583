"""The expectation suite of a model: what every synthetic table of it must satisfy.

Built from the model artifact alone (metadata + fit-time reference profile), never from
the real data:

* the column set (exactly the real columns) and each column's type family
  (:mod:`expectations.type_expectation`, so one suite serves pandas and Spark);
* nulls: none where the real column had none, all where it was all null, else the real
  share ± ``null_fraction_slack``;
* categorical and boolean columns: values in the real category set; numerical and
  datetime columns: values within the real min and max; id columns: unique; pii
  columns: a regular expression of their format;
* the requested row count (± ``row_count_tolerance``), when one is given;
* the reference expectations of :mod:`expectations.reference_expectations`: each learned
  column's distribution, the most associated pairs, and no copied training row.

The suite is plain GX JSON (:func:`save_suite`): review it, edit a threshold, and pass it
back with ``suite_path``.
"""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

import pyarrow as pa

from synth_ray.errors import ArtifactError, ConfigError, MissingExtraError
from synth_ray.metadata import ColumnKind, TableMetadata

if TYPE_CHECKING:
    from expectations.thresholds import GateThresholds
    from synth_ray.reference_profile import ReferenceProfile
    from synth_ray.synthesizer import Synthesizer

__all__ = ["build_suite", "default_suite_path", "load_suite", "save_suite", "suite_for_model"]

ROW_COUNT = "expect_table_row_count_to_be_between"


def gx_module() -> Any:
    """``great_expectations``, with the synth-ray expectations registered.

    Raises:
        MissingExtraError: great_expectations is not installed.
    """
    try:
        import great_expectations as gx
    except ImportError:
        raise MissingExtraError(package="great-expectations", extra="gx",
                                feature="the synthetic-data quality gate") from None
    import expectations.reference_expectations
    import expectations.type_expectation  # noqa: F401  (importing registers the custom classes)

    return gx


def _null_expectations(gxe: Any, name: str, fraction: float, slack: float) -> list[Any]:
    if fraction == 0.0:
        return [gxe.ExpectColumnValuesToNotBeNull(column=name)]
    if fraction == 1.0:
        return [gxe.ExpectColumnValuesToBeNull(column=name)]
    return [gxe.ExpectColumnProportionOfNonNullValuesToBeBetween(
        column=name, min_value=round(max(0.0, 1.0 - fraction - slack), 6),
        max_value=round(min(1.0, 1.0 - fraction + slack), 6))]


def _column_expectations(gxe: Any, col: Any, field: pa.Field, *, profile: ReferenceProfile,
                         thresholds: GateThresholds, digest: str) -> list[Any]:
    from expectations.type_expectation import ExpectColumnTypeToMatchReference, type_family

    ref = profile.columns[col.name]
    found: list[Any] = []
    if (family := type_family(field.type)) is not None:
        found.append(ExpectColumnTypeToMatchReference(
            column=col.name, arrow_type=str(field.type), family=family,
            nullable=ref.null_fraction > 0))
    found += _null_expectations(gxe, col.name, ref.null_fraction, thresholds.null_fraction_slack)
    if ref.null_fraction == 1.0:
        return found
    if col.kind in (ColumnKind.NUMERICAL, ColumnKind.DATETIME) and col.min is not None:
        found.append(gxe.ExpectColumnValuesToBeBetween(column=col.name, min_value=col.min,
                                                       max_value=col.max))
    if ref.categorical is not None and ref.categorical.complete:
        found.append(gxe.ExpectColumnValuesToBeInSet(column=col.name,
                                                     value_set=list(ref.categorical.values)))
    if col.kind is ColumnKind.ID:
        found.append(gxe.ExpectColumnValuesToBeUnique(column=col.name))
    if ref.pattern is not None:
        found.append(gxe.ExpectColumnValuesToMatchRegex(column=col.name, regex=ref.pattern))
    if ref.continuous is not None or ref.categorical is not None:
        from expectations.reference_expectations import ExpectColumnDistributionToMatchReference

        ks = ref.continuous is not None
        found.append(ExpectColumnDistributionToMatchReference(
            column=col.name, reference_digest=digest, statistic="ks" if ks else "tv",
            threshold=thresholds.max_ks if ks else thresholds.max_tv))
    return found


def row_count_expectation(expected_rows: int, thresholds: GateThresholds) -> Any:
    """``expect_table_row_count_to_be_between`` around ``expected_rows``."""
    gxe: Any = gx_module().expectations
    if isinstance(expected_rows, bool) or not isinstance(expected_rows, int) or expected_rows < 0:
        raise ConfigError(f"expected_rows must be a non-negative integer, got {expected_rows!r}")
    slack = int(expected_rows * thresholds.row_count_tolerance)
    return gxe.ExpectTableRowCountToBeBetween(min_value=max(expected_rows - slack, 0),
                                              max_value=expected_rows + slack)


def suite_for_model(synth: Synthesizer, *, name: str, expected_rows: int | None = None,
                    thresholds: GateThresholds | None = None) -> Any:
    """The suite of a loaded model (see :func:`build_suite`)."""
    gx = gx_module()
    gxe: Any = gx.expectations

    from expectations.metrics import register_reference
    from expectations.reference_expectations import (
        ExpectColumnPairAssociationToMatchReference,
        ExpectNoRowsCopiedFromTraining,
    )
    from expectations.thresholds import GateThresholds

    thresholds = thresholds or GateThresholds()
    profile = require_reference(synth, where=name)
    digest = register_reference(profile)
    metadata: TableMetadata = synth.metadata
    found: list[Any] = [gxe.ExpectTableColumnsToMatchSet(column_set=metadata.names, exact_match=True)]
    if expected_rows is not None:
        found.append(row_count_expectation(expected_rows, thresholds))
    for col in metadata:
        found += _column_expectations(gxe, col, metadata.arrow_schema.field(col.name),
                                      profile=profile, thresholds=thresholds, digest=digest)
    found += [ExpectColumnPairAssociationToMatchReference(
        column_A=p.first, column_B=p.second, reference_digest=digest, metric=cast(Any, p.metric),
        real_value=round(p.real, 6), threshold=thresholds.max_association_delta)
        for p in profile.pairs]
    if profile.row_hashes is not None:
        found.append(ExpectNoRowsCopiedFromTraining(reference_digest=digest,
                                                    max_copy_rate=thresholds.max_copy_rate))
    return gx.ExpectationSuite(name=name, expectations=found,
                               meta={"synth_ray": {"reference_digest": digest,
                                                   "thresholds": thresholds.to_dict()}})


def require_reference(synth: Synthesizer, *, where: str) -> ReferenceProfile:
    """The model's reference profile, or an error saying to refit.

    Raises:
        ArtifactError: the model predates the reference profile.
    """
    if synth.reference is None:
        raise ArtifactError(
            f"model {where} has no reference profile (it was saved by a synth-ray without the "
            "quality gate, or fitted by a path that does not record one): refit it with "
            "`synth-ray fit` or synth_ray.fit() to validate its synthetic tables")
    return synth.reference


def build_suite(*, model_dir: str | Path, expected_rows: int | None = None,
                thresholds: GateThresholds | None = None) -> Any:
    """The GX ExpectationSuite every synthetic table of the model at ``model_dir`` must pass.

    Args:
        model_dir: a model directory written by ``synth-ray fit`` (with its reference profile).
        expected_rows: the requested row count (no row-count expectation when ``None``).
        thresholds: the gate's tolerances (defaults: :class:`GateThresholds`).

    Raises:
        ArtifactError: not a model, or a model without a reference profile.
        MissingExtraError: great_expectations is not installed.
    """
    from synth_ray.artifacts import load_model

    folder = Path(model_dir)
    return suite_for_model(load_model(folder), name=f"synth_ray.{folder.resolve().name}",
                           expected_rows=expected_rows, thresholds=thresholds)


def default_suite_path(model_dir: str | Path) -> Path:
    """Where a model's suite is kept for review: beside the model, ``MODEL_DIR.suite.json``."""
    folder = Path(model_dir)
    return folder.with_name(folder.name + ".suite.json")


def save_suite(suite: Any, path: str | Path) -> Path:
    """Write ``suite`` as GX JSON to ``path`` (a temporary file renamed into place)."""
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    text = json.dumps(suite.to_json_dict(), indent=2, sort_keys=False, default=str)
    fd, staging = tempfile.mkstemp(prefix=f".{target.name}.", dir=target.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text + "\n")
        os.replace(staging, target)
    finally:
        if os.path.exists(staging):
            os.unlink(staging)
    return target


def load_suite(path: str | Path) -> Any:
    """Read a suite written by :func:`save_suite` (possibly edited by hand).

    Raises:
        ConfigError: missing file, malformed JSON, or not a GX suite.
    """
    gx = gx_module()
    source = Path(path)
    try:
        document = json.loads(source.read_text(encoding="utf-8"))
        document.pop("id", None)
        return gx.ExpectationSuite(**document)
    except FileNotFoundError:
        raise ConfigError(f"no suite at {str(source)!r}") from None
    except Exception as exc:  # GX raises pydantic, key and type errors for a malformed suite
        raise ConfigError(f"suite {str(source)!r} is not a valid GX expectation suite "
                          f"({type(exc).__name__}: {exc}); rebuild it with build_suite") from None
