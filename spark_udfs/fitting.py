"""Fitting a synthesizer from a Spark DataFrame without collecting the table.

What is learned where:

- **Spark, over every row** (:mod:`spark_udfs.table_profile`): the row count, each
  column's null fraction, range, approximate median and distinct count; the exact
  counts of every category of a column with at most ``max_categories`` values; and, for
  a column that looks like a key in the sample, whether it really is unique.
- **The driver, on a bounded sample**: a uniform Bernoulli sample of at most
  ``max_rows`` rows (``DataFrame.sample`` with the fit's seed; the whole table when it
  is that small) is collected as Arrow. Column kinds, decimals, text shapes and the
  generator itself are learned from it; the metadata and the transforms then take the
  whole table's statistics above (so ranges, null rates and categories are the table's).

The artifact records which: ``training.rows`` is the sample's size,
``metadata.n_rows`` the table's, and ``training.source`` says how the sample was drawn.

Spark reads ``df`` once per job (up to three aggregations, the sample, and one small
job per category column and per key candidate): ``cache()`` a DataFrame that is costly to
compute before fitting. The sample is reproducible for the same seed and the same input
partitioning, as ``DataFrame.sample`` is.
"""

from __future__ import annotations

import dataclasses
import math
import time
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pyarrow as pa

from spark_udfs.session import import_pyspark
from spark_udfs.table_profile import (
    ColumnProfile,
    TableProfile,
    category_counts,
    check_source_types,
    has_duplicates,
    profile_dataframe,
)
from synth_ray.errors import ConfigError, DataError
from synth_ray.metadata import ColumnKind, ColumnMetadata, TableMetadata
from synth_ray.metadata_inference import infer_metadata
from synth_ray.models.registry import generator_class
from synth_ray.randomness import check_seed
from synth_ray.synthesizer import Synthesizer, TrainingInfo
from synth_ray.table_input import to_arrow
from synth_ray.table_spec import ColumnSpec, TableSpec, load_table_spec
from synth_ray.transforms.categorical import CategoricalTransform
from synth_ray.transforms.table_transformer import TableTransformer

if TYPE_CHECKING:
    from pyspark.sql import DataFrame

__all__ = ["SPARK_FIT_DEFAULT_ROWS", "fit_dataframe"]

SPARK_FIT_DEFAULT_ROWS = 200_000
_MAX_CATEGORIES = 1_000


def _driver_sample(df: DataFrame, *, rows: int, max_rows: int, seed: int) -> tuple[pa.Table, dict[str, Any]]:
    """At most ``max_rows`` uniformly drawn rows as Arrow, and how they were drawn."""
    source: dict[str, Any] = {"engine": "spark", "table_rows": rows, "max_rows": max_rows, "seed": seed}
    if rows <= max_rows:
        table = df.toArrow()
        return table, {**source, "method": "whole_table", "sample_rows": table.num_rows}
    fraction = max_rows / rows
    cap = max_rows + int(6 * math.sqrt(max_rows)) + 1  # the driver never holds more than this
    table = df.sample(withReplacement=False, fraction=fraction, seed=seed).limit(cap).toArrow()
    if table.num_rows > max_rows:  # Bernoulli overshoot: keep a seeded uniform subset
        keep = np.sort(np.random.default_rng(seed).choice(table.num_rows, max_rows, replace=False))
        table = table.take(pa.array(keep))
    return table, {**source, "method": "driver_sample", "fraction": fraction,
                   "sample_rows": table.num_rows}


def _verified_spec(df: DataFrame, sample: pa.Table, spec: TableSpec, profile: TableProfile) -> TableSpec:
    """Keep a key inferred from the sample only if it is unique and non-null in the whole table."""
    metadata = infer_metadata(sample, spec=spec)
    demoted: dict[str, ColumnSpec] = {}
    for column in metadata:
        declared = spec.columns.get(column.name)
        if column.kind is not ColumnKind.ID or (declared is not None and declared.kind is not None):
            continue
        if profile.columns[column.name].nulls or has_duplicates(df, column.name):
            numeric = pa.types.is_integer(sample.schema.field(column.name).type)
            kind = ColumnKind.NUMERICAL if numeric else ColumnKind.CATEGORICAL
            demoted[column.name] = ColumnSpec(kind=kind)
    # replace(), not a new TableSpec: the spec's constraints and rare-category k must survive.
    return dataclasses.replace(spec, columns={**spec.columns, **demoted}) if demoted else spec


def _iso(value: Any) -> str | None:
    return None if value is None else str(value.isoformat())


def _column_metadata(meta: ColumnMetadata, stats: ColumnProfile, rows: int, spec: ColumnSpec | None,
                     categories: list[tuple[Any, int]] | None) -> ColumnMetadata:
    changes: dict[str, Any] = {"null_fraction": stats.nulls / rows}
    declared = {k for k in ("min", "max") if spec is not None and getattr(spec, k) is not None}
    if meta.kind is ColumnKind.NUMERICAL and stats.minimum is not None:
        changes.update({k: v for k, v in (("min", stats.minimum), ("max", stats.maximum))
                        if k not in declared})
    elif meta.kind is ColumnKind.DATETIME and stats.minimum is not None:
        changes.update(min=_iso(stats.minimum), max=_iso(stats.maximum))
    elif meta.kind in (ColumnKind.CATEGORICAL, ColumnKind.BOOLEAN):
        changes["n_categories"] = len(categories) if categories is not None else stats.distinct
    return meta.with_changes(**changes)


def _as_steps(value: Any, arrow_type: pa.DataType) -> int:
    """A date or timestamp as an integer in its column's unit (days, or the timestamp's unit)."""
    scalar = pa.array([value], type=arrow_type)
    if pa.types.is_date32(arrow_type):
        scalar = scalar.cast(pa.int32())
    return int(scalar.cast(pa.int64())[0].as_py())


def _datetime_params(params: dict[str, Any], stats: ColumnProfile, arrow_type: pa.DataType) -> dict[str, Any]:
    """The sample's step grid, stretched to the whole table's range (never past it)."""
    if stats.minimum is None:
        return params
    step, origin = int(params["step"]), int(params["origin"])
    low, high = _as_steps(stats.minimum, arrow_type), _as_steps(stats.maximum, arrow_type)
    origin -= ((origin - low) // step) * step
    fill = params["fill"] if stats.median is None else \
        float(round((_as_steps(stats.median, arrow_type) - origin) / step))
    return {**params, "origin": origin, "max_steps": max((high - origin) // step, 0), "fill": fill}


def _with_table_statistics(transformer: TableTransformer, profile: TableProfile,
                           categories: Mapping[str, list[tuple[Any, int]]]) -> TableTransformer:
    """Each transform rebuilt from its parameters, with the whole table's statistics."""
    columns = []
    for column in transformer.columns:
        stats, params = profile.columns[column.name], dict(column.params())
        if "nullable" in params:
            params["nullable"] = stats.nulls > 0
        if column.kind_name == "numerical" and stats.median is not None:
            params["fill"] = float(stats.median)
        elif column.kind_name == "datetime":
            params = _datetime_params(params, stats, column.arrow_type)
        elif column.kind_name == "categorical" and column.name in categories:
            # The same rare-category protection as a local fit, over the whole table's counts.
            protected = CategoricalTransform.from_counts(
                name=column.name, arrow_type=column.arrow_type, counts=categories[column.name],
                nullable=params["nullable"], rare_threshold=params["rare_threshold"])
            params.update(categories=protected.categories, counts=protected.counts,
                          other_code=protected.other_code)
        elif column.kind_name == "pii":
            params["null_fraction"] = stats.nulls / profile.rows
        elif column.kind_name == "id" and params["style"] == "integer" and stats.minimum is not None:
            params["start"] = int(stats.minimum)  # keys continue from the table's first, not the sample's
        columns.append(type(column).from_params(name=column.name, arrow_type=column.arrow_type,
                                                params=params))
    return TableTransformer(schema=transformer.schema, columns=columns)


def _check_limits(max_rows: int, max_categories: int) -> None:
    for name, value in (("max_rows", max_rows), ("max_categories", max_categories)):
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise ConfigError(f"{name} must be a positive integer, got {value!r}")


def fit_dataframe(df: DataFrame, *, model: str = "copula",
                  spec: TableSpec | Mapping[str, Any] | str | Path | None = None, seed: int = 0,
                  max_rows: int = SPARK_FIT_DEFAULT_ROWS, max_categories: int = _MAX_CATEGORIES,
                  options: Mapping[str, Any] | None = None) -> Synthesizer:
    """Learn a generator of a Spark DataFrame (see the module docstring for what runs where).

    Args:
        df: the real table, e.g. ``spark.table("sales.orders")``.
        model: generator kind (``copula``...).
        spec: a table spec overriding inferred column kinds.
        seed: seed of the driver sample and of the fit.
        max_rows: most rows collected to the driver for training.
        max_categories: columns with at most this many distinct values get exact counts
            of every category from Spark.
        options: the generator's own settings.

    Raises:
        SchemaError: a column of a type synth-ray cannot learn (map, struct, binary...).
        DataError: the DataFrame has no rows, or a float column holds +/-inf.
        ConfigError: a bad spec, ``max_rows`` or ``max_categories``.
    """
    import_pyspark("fitting from a Spark DataFrame")
    seed, started = check_seed(seed), time.perf_counter()
    _check_limits(max_rows, max_categories)
    generator_cls, table_spec = generator_class(model), load_table_spec(spec)
    check_source_types(df)
    profile = profile_dataframe(df)
    if profile.rows == 0:
        raise DataError("the Spark DataFrame has 0 rows: synth-ray needs at least one real row to learn "
                        "from; check the table name or the filter before fit_dataframe")
    sample, source = _driver_sample(df, rows=profile.rows, max_rows=max_rows, seed=seed)
    sample = to_arrow(sample)
    table_spec = _verified_spec(df, sample, table_spec, profile)
    metadata = infer_metadata(sample, spec=table_spec)
    counts = {c.name: category_counts(df, c.name, limit=max_categories) for c in metadata
              if c.kind in (ColumnKind.CATEGORICAL, ColumnKind.BOOLEAN)
              and profile.columns[c.name].distinct <= 2 * max_categories}
    metadata = TableMetadata(columns=tuple(
        _column_metadata(c, profile.columns[c.name], profile.rows, table_spec.columns.get(c.name),
                         counts.get(c.name)) for c in metadata),
        arrow_schema=metadata.arrow_schema, n_rows=profile.rows)
    known = {name: values for name, values in counts.items() if values is not None}
    transformer = _with_table_statistics(TableTransformer.fit(sample, metadata), profile, known)
    generator = generator_cls.fit(transformer.forward(sample), columns=transformer.model_columns,
                                  options=dict(options or {}), seed=seed)
    from synth_ray.reference_profile import build_reference_profile

    # The quality gate's reference statistics come from the same uniform sample the generator saw.
    reference = build_reference_profile(sample, metadata, seed=seed, categories=known)
    training = TrainingInfo(model=model, seed=seed, rows=sample.num_rows,
                            seconds=time.perf_counter() - started, options=dict(options or {}),
                            source={**source, "statistics": "spark"})
    return Synthesizer(metadata=metadata, transformer=transformer, generator=generator, training=training,
                       reference=reference)
