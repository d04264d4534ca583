"""The whole table as a row of tokens: one codec per model column, in column order.

Token ``t`` belongs to column ``column_of[t]`` and is its ``part_of[t]``-th token
(0: the coarse bin, the value or the category; 1: the fine bin). The canonical order
of the autoregressive factorisation is this token order.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from synth_ray.errors import ArtifactError
from synth_ray.models.autoregressive.column_tokens import (
    CategoryTokens,
    ColumnTokens,
    QuantileTokens,
    ValueTokens,
    tokens_from_state,
)
from synth_ray.transforms.model_frame import ModelColumn, ModelColumnType, ModelFrame

__all__ = ["TableTokens"]


def _fit_codec(column: ModelColumn, values: np.ndarray, *, coarse: int, fine: int,
               max_values: int, max_categories: int, grid: int) -> ColumnTokens:
    if column.type is ModelColumnType.DISCRETE:
        return CategoryTokens.fit(values.astype(np.int64), name=column.name,
                                  nullable=column.nullable, n_categories=max(column.n_categories, 1),
                                  max_categories=max_categories)
    distinct = np.unique(values)
    if distinct.size <= max_values:
        return ValueTokens(name=column.name, nullable=column.nullable,
                           values=distinct if distinct.size else np.zeros(1))
    return QuantileTokens.fit(values, name=column.name, nullable=column.nullable, coarse=coarse,
                              fine=fine, grid=grid)


class TableTokens:
    """Codecs of every model column and the token layout they make together."""

    def __init__(self, *, columns: Sequence[ModelColumn], codecs: Sequence[ColumnTokens]) -> None:
        if [c.name for c in columns] != [c.name for c in codecs]:
            raise ArtifactError("the saved token codecs do not match the model's columns; refit")
        self.columns, self.codecs = list(columns), list(codecs)
        classes, column_of, part_of = [], [], []
        for index, codec in enumerate(self.codecs):
            for part, n in enumerate(codec.classes):
                classes.append(n)
                column_of.append(index)
                part_of.append(part)
        self.classes = tuple(classes)
        self.column_of = np.asarray(column_of, dtype=np.int64)
        self.part_of = np.asarray(part_of, dtype=np.int64)
        self.first_token = np.searchsorted(self.column_of, np.arange(len(self.codecs)))

    @classmethod
    def fit(cls, frame: ModelFrame, *, columns: Sequence[ModelColumn], coarse: int, fine: int,
            max_values: int, max_categories: int, grid: int) -> TableTokens:
        """One codec per column, fitted on its non-null values."""
        codecs = []
        for column in columns:
            values = frame.values[column.name]
            nulls = frame.nulls.get(column.name)
            present = values if nulls is None else values[~nulls]
            codecs.append(_fit_codec(column, present, coarse=coarse, fine=fine,
                                     max_values=max_values, max_categories=max_categories,
                                     grid=grid))
        return cls(columns=columns, codecs=codecs)

    @property
    def n_tokens(self) -> int:
        """Tokens per row."""
        return len(self.classes)

    def token_slice(self, column: int) -> slice:
        """The tokens of column ``column``."""
        start = int(self.first_token[column])
        return slice(start, start + len(self.codecs[column].classes))

    def encode(self, frame: ModelFrame, *, rng: np.random.Generator | None = None) -> np.ndarray:
        """``(n, n_tokens)`` int64 classes of every row."""
        out = np.zeros((frame.n_rows, self.n_tokens), dtype=np.int64)
        for index, codec in enumerate(self.codecs):
            out[:, self.token_slice(index)] = codec.encode(
                frame.values[codec.name], frame.nulls.get(codec.name), rng=rng)
        return out

    def decode(self, tokens: np.ndarray, *, rng: np.random.Generator) -> ModelFrame:
        """Model-space rows of ``(n, n_tokens)`` classes."""
        frame = ModelFrame(n_rows=int(tokens.shape[0]))
        for index, (column, codec) in enumerate(zip(self.columns, self.codecs, strict=True)):
            values, nulls = codec.decode(tokens[:, self.token_slice(index)], rng=rng)
            if column.type is ModelColumnType.DISCRETE:
                values = values.astype(np.int32)
            frame.values[column.name] = values
            if column.nullable:
                frame.nulls[column.name] = (nulls if nulls is not None
                                            else np.zeros(frame.n_rows, dtype=bool))
        return frame

    def config(self) -> list[dict[str, Any]]:
        """Each codec's settings, in column order."""
        return [codec.config() for codec in self.codecs]

    def tensors(self) -> dict[str, np.ndarray]:
        """Each codec's arrays, keyed ``tokens/<column index>/...``."""
        out: dict[str, np.ndarray] = {}
        for index, codec in enumerate(self.codecs):
            out.update(codec.tensors(f"tokens/{index}/"))
        return out

    @classmethod
    def from_state(cls, *, columns: Sequence[ModelColumn], config: Sequence[Mapping[str, Any]],
                   tensors: Mapping[str, np.ndarray]) -> TableTokens:
        """Rebuild from :meth:`config` and :meth:`tensors`."""
        codecs = [tokens_from_state(entry, tensors, f"tokens/{index}/")
                  for index, entry in enumerate(config)]
        return cls(columns=columns, codecs=codecs)
