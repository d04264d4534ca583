"""The fitted synthesizer: metadata + table transformer + generator, and its verbs.

``Synthesizer`` is a thin facade over the pipeline functions (:func:`fit_synthesizer`,
:mod:`synth_ray.sampling`, :mod:`synth_ray.artifacts`) for users who expect one.
"""

from __future__ import annotations

import time
from collections.abc import Iterator, Mapping
from dataclasses import asdict, dataclass, is_dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd
import pyarrow as pa

from synth_ray.conditions import Conditions, Distribution, plan_conditions
from synth_ray.constraints import ConstraintSet
from synth_ray.metadata import TableMetadata
from synth_ray.metadata_inference import infer_metadata
from synth_ray.models.base import Generator
from synth_ray.models.registry import generator_class
from synth_ray.randomness import check_seed
from synth_ray.sampling import check_rows, iter_tables, sample_rows, sample_table
from synth_ray.table_input import TableLike, to_arrow
from synth_ray.table_spec import TableSpec, load_table_spec
from synth_ray.transforms.table_transformer import TableTransformer

if TYPE_CHECKING:
    from synth_ray.reference_profile import ReferenceProfile

__all__ = ["DEFAULT_CHUNK_ROWS", "Synthesizer", "TrainingInfo", "fit_synthesizer", "fit_table_space"]

DEFAULT_CHUNK_ROWS = 65_536


@dataclass(frozen=True)
class TrainingInfo:
    """How a synthesizer was fitted, kept in its artifact.

    Attributes:
        model: the generator kind.
        seed: the fit seed.
        rows: real rows the generator learned from.
        seconds: wall time of the fit.
        options: the generator's options.
        source: how the rows learned from were chosen when they are not the whole table
            given (e.g. a bounded sample of a Spark DataFrame collected to the driver:
            method, rows in the table, rows kept, seed); ``None`` for the whole table.
        stats_rows: size of the bounded sample that metadata and transforms were fitted on
            when the generator itself learned from every row (Ray Train fits,
            :func:`synth_ray.on_ray.fit_on_ray`); ``None`` when they saw the whole table.
    """

    model: str
    seed: int
    rows: int
    seconds: float
    options: Mapping[str, Any]
    source: Mapping[str, Any] | None = None
    stats_rows: int | None = None

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form (``source`` only when set, so older readers still load it)."""
        document = {**asdict(self), "options": {  # typed option values (DPOptions) as dicts
            k: asdict(v) if is_dataclass(v) and not isinstance(v, type) else v
            for k, v in self.options.items()}}
        if self.source is None:
            del document["source"]
        else:
            document["source"] = dict(self.source)
        if self.stats_rows is None:
            del document["stats_rows"]
        return document


class Synthesizer:
    """A fitted generator of one table.

    Example:
        >>> synth = Synthesizer.fit(df, seed=0)                   # doctest: +SKIP
        >>> synth.sample(1_000, seed=42)                          # doctest: +SKIP
        >>> synth.save("models/orders"); Synthesizer.load("models/orders")  # doctest: +SKIP
    """

    def __init__(self, *, metadata: TableMetadata, transformer: TableTransformer,
                 generator: Generator, training: TrainingInfo,
                 constraints: ConstraintSet | None = None,
                 chunk_rows: int = DEFAULT_CHUNK_ROWS,
                 reference: ReferenceProfile | None = None) -> None:
        self.metadata = metadata
        self.transformer = transformer
        self.generator = generator
        self.training = training
        self.chunk_rows = chunk_rows
        self.constraints = constraints if constraints is not None else ConstraintSet()
        self.reference = reference  # the real table's statistics for the quality gate (None: older model)

    @classmethod
    def fit(cls, data: TableLike, *, model: str = "copula",
            spec: TableSpec | Mapping[str, Any] | str | Path | None = None, seed: int = 0,
            options: Mapping[str, Any] | None = None) -> Synthesizer:
        """Learn a generator of ``data``; see :func:`fit_synthesizer`."""
        return fit_synthesizer(data, model=model, spec=spec, seed=seed, options=options)

    def sample(self, n: int, *, seed: int = 0, conditions: Conditions | None = None,
               distribution: Distribution | None = None) -> pd.DataFrame:
        """``n`` synthetic rows as a pandas DataFrame (pandas dtypes restored).

        Args:
            n: rows.
            seed: the same seed gives the same rows.
            conditions: ``{column: value}`` fixed in every row (categorical or boolean
                columns), or a DataFrame of ``n`` rows of per-row conditions (a missing
                value leaves that cell free).
            distribution: ``{column: {value: weight}}``: the column takes each value in
                exactly ``round(n * share)`` rows (largest remainder).
        """
        from synth_ray.pandas_output import to_pandas

        return to_pandas(self.sample_arrow(n, seed=seed, conditions=conditions,
                                           distribution=distribution))

    def sample_arrow(self, n: int, *, seed: int = 0, threads: int | None = None,
                     conditions: Conditions | None = None,
                     distribution: Distribution | None = None) -> pa.Table:
        """``n`` synthetic rows as an Arrow table with exactly the real table's schema."""
        plan = plan_conditions(self, conditions=conditions, distribution=distribution,
                               rows=check_rows(n))
        return sample_table(self, n=n, seed=seed, threads=threads, plan=plan)

    def sample_rows(self, start: int, stop: int, *, seed: int = 0,
                    conditions: Conditions | None = None, distribution: Distribution | None = None,
                    total_rows: int | None = None) -> pa.Table:
        """Rows ``[start, stop)`` of the sample with ``seed``: any split concatenates to ``sample``.

        A ``distribution`` spreads exact counts over the whole sample, so it needs
        ``total_rows`` (the ``n`` of ``sample``); per-row conditions are the whole sample's.
        """
        plan = plan_conditions(self, conditions=conditions, distribution=distribution,
                               rows=total_rows)
        return sample_rows(self, start=start, stop=stop, seed=seed, plan=plan)

    def iter_batches(self, n: int, *, seed: int = 0, threads: int | None = None,
                     conditions: Conditions | None = None,
                     distribution: Distribution | None = None) -> Iterator[pa.Table]:
        """``n`` rows as a bounded-memory stream of Arrow tables (one per chunk)."""
        plan = plan_conditions(self, conditions=conditions, distribution=distribution,
                               rows=check_rows(n))
        return iter_tables(self, start=0, stop=n, seed=seed, threads=threads, plan=plan)

    def save(self, path: str | Path) -> Path:
        """Write the model directory (safetensors + JSON); see :func:`synth_ray.artifacts.save_model`."""
        from synth_ray.artifacts import save_model

        return save_model(self, path)

    @classmethod
    def load(cls, path: str | Path) -> Synthesizer:
        """Read a model directory; nothing is ever unpickled."""
        from synth_ray.artifacts import load_model

        return load_model(path)

    def __repr__(self) -> str:
        return (f"Synthesizer(model={self.training.model!r}, columns={len(self.metadata)}, "
                f"trained_on={self.training.rows} rows)")


def fit_table_space(table: pa.Table, *, spec: TableSpec) -> tuple[
        TableMetadata, TableTransformer, ConstraintSet]:
    """Everything a fit learns before the generator: metadata, transforms, constraints.

    A generator then learns ``constraints.to_model_space(transformer.forward(rows))`` over
    ``constraints.learned_columns(transformer.model_columns)``. Shared by the local fit
    and the Ray Train fit (:mod:`synth_ray.on_ray.training`, which passes its bounded
    statistics sample as ``table``).
    """
    metadata = infer_metadata(table, spec=spec)
    transformer = TableTransformer.fit(table, metadata)
    constraints = ConstraintSet.fit(spec.constraints, table=table, metadata=metadata,
                                    transformer=transformer)
    return metadata, transformer, constraints


def fit_synthesizer(data: TableLike, *, model: str = "copula",
                    spec: TableSpec | Mapping[str, Any] | str | Path | None = None,
                    seed: int = 0, options: Mapping[str, Any] | None = None) -> Synthesizer:
    """Infer metadata, fit the transforms, then fit a generator on model space.

    Args:
        data: the real table (pandas DataFrame or Arrow table).
        model: generator kind (``copula``).
        spec: a table spec (file path, dict or :class:`TableSpec`) that overrides inference.
        seed: seed of every random choice made while fitting.
        options: the generator's own settings.
    """
    seed = check_seed(seed)
    started = time.perf_counter()
    generator_cls = generator_class(model)
    table = to_arrow(data)
    metadata, transformer, constraints = fit_table_space(table, spec=load_table_spec(spec))
    frame = constraints.to_model_space(transformer.forward(table))
    generator = generator_cls.fit(frame, columns=constraints.learned_columns(transformer.model_columns),
                                  options=dict(options or {}), seed=seed)
    from synth_ray.reference_profile import build_reference_profile

    reference = build_reference_profile(table, metadata, seed=seed)
    training = TrainingInfo(model=model, seed=seed, rows=table.num_rows,
                            seconds=time.perf_counter() - started, options=dict(options or {}))
    return Synthesizer(metadata=metadata, transformer=transformer, generator=generator,
                       constraints=constraints, training=training, reference=reference)
