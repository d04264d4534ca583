"""Fitting and sampling with the configured engine, into a staging folder.

Every engine draws its rows with :func:`synth_ray.sampling.sample_chunk`, so a seed
gives the same rows whichever engine and however many workers made them. Staged rows
are a Parquet folder written atomically (a rerun replaces it), already in the type
system the target can store (Delta and Iceberg have no dictionary, unsigned or
nanosecond types), so that publishing is a move and a commit, with no rewrite.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import pyarrow as pa

from airflow_dags.config import Engine, TableConfig, TargetFormat

if TYPE_CHECKING:
    from synth_ray.synthesizer import Synthesizer

__all__ = ["fit_model", "sample_to_staging", "staged_schema"]


def fit_model(config: TableConfig, real: pa.Table, *, seed: int) -> Synthesizer:
    """Fit the configured generator on ``real``, locally or with Ray Train."""
    model = config.model
    if model.engine is Engine.RAY:
        from synth_ray.on_ray.training import fit_on_ray

        return fit_on_ray(real, model=model.kind, workers=model.workers, use_gpu=model.gpus > 0,
                          epochs=model.epochs, seed=seed, options=model.options, spec=model.spec)
    from synth_ray.synthesizer import fit_synthesizer

    return fit_synthesizer(real, model=model.kind, spec=model.spec, seed=seed, options=model.fit_options)


def staged_schema(config: TableConfig, schema: pa.Schema) -> pa.Schema:
    """The schema rows are staged in: what the target format stores."""
    if config.target.format is TargetFormat.PARQUET:
        return schema
    from synth_ray.lakehouse.writers import delta_schema

    return delta_schema(schema)  # Iceberg has the same gaps as Delta


def _local(synth: Synthesizer, config: TableConfig, staging: Path, seed: int, schema: pa.Schema) -> int:
    from synth_ray.lakehouse.writers import write_table

    batches = (t.cast(schema) for t in synth.iter_batches(config.rows, seed=seed))
    return write_table(batches, schema=schema, path=staging, format="parquet").rows


def _ray(synth: Synthesizer, config: TableConfig, staging: Path, seed: int, schema: pa.Schema) -> int:
    from synth_ray.on_ray.sampling import sample_dataset
    from synth_ray.on_ray.writing import write_dataset

    dataset = sample_dataset(synth, rows=config.rows, seed=seed, actors=config.sampling_workers)
    dataset = dataset.map_batches(lambda t: t.cast(schema), batch_format="pyarrow", batch_size=None)
    return write_dataset(dataset, schema=schema, path=staging, format="parquet").rows


def _spark(synth: Synthesizer, config: TableConfig, staging: Path, seed: int, schema: pa.Schema) -> int:
    """Spark sampling (``mapInPandas``) written by Spark: the rows are in Spark's types."""
    from spark_udfs.sampling import sample_dataframe
    from spark_udfs.session import get_spark
    from spark_udfs.writing import write_synthetic_table

    frame = sample_dataframe(get_spark()[0], synth, rows=config.rows, seed=seed,
                             partitions=config.sampling_workers)
    return write_synthetic_table(frame, path=staging, format="parquet").rows


_ENGINES = {Engine.LOCAL: _local, Engine.RAY: _ray, Engine.SPARK: _spark}


def sample_to_staging(synth: Synthesizer, config: TableConfig, *, staging: Path, seed: int) -> int:
    """Write ``config.rows`` rows of seed ``seed`` to the Parquet folder ``staging``; return the count."""
    staging.parent.mkdir(parents=True, exist_ok=True)
    schema = staged_schema(config, synth.metadata.arrow_schema)
    return _ENGINES[config.sampling_engine](synth, config, staging, seed, schema)
