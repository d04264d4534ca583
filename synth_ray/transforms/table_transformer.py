"""The whole table's reversible transform: real Arrow table <-> model frame.

Learned columns (numerical, datetime, categorical, boolean) go through their
:class:`ColumnTransform`; ids, pii and all-null columns are generated on the way
back and never reach a model.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import numpy as np
import pyarrow as pa

from synth_ray.metadata import ColumnKind, ColumnMetadata, PiiType, TableMetadata
from synth_ray.transforms.base import ColumnTransform, GeneratedColumn, GenerationContext
from synth_ray.transforms.categorical import CategoricalTransform
from synth_ray.transforms.datetime import DatetimeTransform
from synth_ray.transforms.identifier import IdColumn
from synth_ray.transforms.model_frame import ModelColumn, ModelFrame
from synth_ray.transforms.null_column import NullColumn
from synth_ray.transforms.numerical import NumericalTransform
from synth_ray.transforms.pii import PiiColumn

__all__ = ["TableTransformer"]

_REGISTRY: dict[str, type[ColumnTransform] | type[GeneratedColumn]] = {
    cls.kind_name: cls
    for cls in (NumericalTransform, DatetimeTransform, CategoricalTransform, IdColumn, PiiColumn,
                NullColumn)
}
Column = ColumnTransform | GeneratedColumn


def _fit_column(meta: ColumnMetadata, field: pa.Field, values: pa.Array) -> Column:
    kw: dict[str, Any] = {"name": meta.name, "arrow_type": field.type}
    if meta.null_fraction >= 1.0 or pa.types.is_null(field.type):
        return NullColumn(**kw)
    if meta.kind is ColumnKind.ID:
        return IdColumn.fit(values=values, **kw)
    if meta.kind is ColumnKind.PII:
        return PiiColumn.fit(values=values, pii_type=meta.pii_type or PiiType.TEXT, **kw)
    if meta.kind is ColumnKind.NUMERICAL:
        minimum, maximum = _number(meta.min), _number(meta.max)
        return NumericalTransform.fit(values=values, minimum=minimum, maximum=maximum,
                                      decimals=meta.decimals, **kw)
    if meta.kind is ColumnKind.DATETIME:
        return DatetimeTransform.fit(values=values, **kw)
    return CategoricalTransform.fit(values=values, rare_threshold=meta.rare_category_threshold, **kw)


def _number(value: float | str | None) -> float | None:
    """A numerical bound as given (an int stays an exact int: int64 extremes exceed floats)."""
    return value if value is None or isinstance(value, int | float) else float(value)


class TableTransformer:
    """Per-column transforms of one table, in the table's column order."""

    def __init__(self, *, schema: pa.Schema, columns: list[Column]) -> None:
        self.schema = schema
        self.columns = columns
        self.learned = [c for c in columns if isinstance(c, ColumnTransform)]
        self.generated = [c for c in columns if isinstance(c, GeneratedColumn)]

    @classmethod
    def fit(cls, table: pa.Table, metadata: TableMetadata) -> TableTransformer:
        """Fit one transform per column of ``table`` as ``metadata`` describes it."""
        columns = [
            _fit_column(meta, table.schema.field(meta.name), table.column(meta.name).combine_chunks())
            for meta in metadata
        ]
        return cls(schema=metadata.arrow_schema, columns=columns)

    @property
    def model_columns(self) -> list[ModelColumn]:
        """The learned columns as generators see them, in table order."""
        return [c.model_column for c in self.learned]

    def forward(self, table: pa.Table) -> ModelFrame:
        """The learned columns of ``table`` in model space."""
        frame = ModelFrame(n_rows=table.num_rows)
        for transform in self.learned:
            values, nulls = transform.forward(table.column(transform.name).combine_chunks())
            frame.values[transform.name] = values
            if transform.model_column.nullable:
                frame.nulls[transform.name] = (
                    nulls if nulls is not None else np.zeros(table.num_rows, dtype=bool)
                )
        return frame

    def inverse(self, frame: ModelFrame, *, context: Callable[[int], GenerationContext]) -> pa.Table:
        """A real-typed Arrow table from model space; ``context(i)`` feeds generated column i."""
        arrays: list[pa.Array] = []
        for i, column in enumerate(self.columns):
            if isinstance(column, ColumnTransform):
                arrays.append(column.inverse(frame.values[column.name], frame.nulls.get(column.name)))
            else:
                arrays.append(column.generate(context(i)))
        return pa.Table.from_arrays(arrays, schema=self.schema)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready parameters of every column."""
        return {"columns": [{"name": c.name, "transform": c.kind_name, "params": c.params()}
                            for c in self.columns]}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], *, schema: pa.Schema) -> TableTransformer:
        """Inverse of :meth:`to_dict`, given the table's exact schema."""
        columns: list[Column] = []
        for entry in data["columns"]:
            kind = _REGISTRY[entry["transform"]]
            columns.append(kind.from_params(name=entry["name"],
                                            arrow_type=schema.field(entry["name"]).type,
                                            params=entry["params"]))
        return cls(schema=schema, columns=columns)
