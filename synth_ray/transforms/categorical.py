"""Categories and booleans: integer codes in model space, most frequent first.

Rare-category protection lives here, in one place: :func:`protect_categories` turns the
counts of a column's real values into the categories a model may emit. A value seen in
fewer than ``k`` real rows (:data:`DEFAULT_RARE_THRESHOLD` unless the table spec says
otherwise; ``k`` <= 1 turns it off) is never emitted verbatim and never stored:

* text columns (strings, dictionaries of strings) emit :data:`RARE_TOKEN` instead, a
  category of its own that the generators learn like any other (at the rare values'
  combined share);
* other non-boolean columns (integers, floats, dictionaries of them) cannot hold a token
  without changing their type, so their rare values are merged into the most frequent
  category (the column keeps its exact type and nulls; the mode gains the rare share);
* booleans are exempt: both values are public knowledge, and replacing the rarer one
  would make the column constant.

Every fitting path (local, Ray Train's statistics sample, Spark's whole-table counts)
and the quality gate's reference profile go through :func:`protect_categories`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from synth_ray.errors import ConfigError, SchemaError
from synth_ray.transforms.base import ColumnTransform
from synth_ray.transforms.model_frame import ModelColumn, ModelColumnType

__all__ = ["DEFAULT_RARE_THRESHOLD", "RARE_TOKEN", "CategoricalTransform", "ProtectedCategories",
           "count_categories", "protect_categories"]

RARE_TOKEN = "_RARE_"
DEFAULT_RARE_THRESHOLD = 5  # the minimum cell count of statistical disclosure control


def _value_type(arrow_type: pa.DataType) -> pa.DataType:
    return arrow_type.value_type if pa.types.is_dictionary(arrow_type) else arrow_type


def _is_text(value_type: pa.DataType) -> bool:
    return pa.types.is_string(value_type) or pa.types.is_large_string(value_type)


def count_categories(values: pa.Array | pa.ChunkedArray) -> list[tuple[Any, int]]:
    """Each distinct non-null value of a column with its count (dictionaries by value)."""
    if isinstance(values, pa.ChunkedArray):
        values = values.combine_chunks()
    if pa.types.is_dictionary(values.type):
        values = values.dictionary_decode()
    vc = pc.value_counts(values.drop_null())
    return list(zip(vc.field("values").to_pylist(), vc.field("counts").to_pylist(), strict=True))


@dataclass(frozen=True)
class ProtectedCategories:
    """The categories a column may emit, after rare-category protection.

    Attributes:
        categories: the emitted values, most frequent first (ties in text order); a text
            column with protected values includes :data:`RARE_TOKEN`.
        counts: real rows behind each category (a placeholder or mode includes the rare rows).
        threshold: the ``k`` that was applied (0: protection off or not applicable).
        other_code: the code of values outside ``categories`` (rare or unseen): the
            placeholder's, else the mode's (0).
        protected_rows: real rows whose value was withheld.
    """

    categories: list[Any]
    counts: list[int]
    threshold: int
    other_code: int
    protected_rows: int


def protect_categories(counts: Iterable[tuple[Any, int]], *, name: str, value_type: pa.DataType,
                       threshold: int | None) -> ProtectedCategories:
    """Apply rare-category protection to a column's ``(value, count)`` pairs.

    Args:
        counts: each distinct non-null real value with its row count (any order).
        name: the column (for messages).
        value_type: the column's value type (a dictionary's value type).
        threshold: ``k``; ``None`` means :data:`DEFAULT_RARE_THRESHOLD`, 0 or 1 turns it off.

    Raises:
        ConfigError: a non-text column whose every value is rare (nothing could be emitted).
    """
    k = DEFAULT_RARE_THRESHOLD if threshold is None else int(threshold)
    if k <= 1 or pa.types.is_boolean(value_type) or pa.types.is_null(value_type):
        k = 0
    pairs = [(v, int(c)) for v, c in counts]
    kept = [(v, c) for v, c in pairs if c >= k]
    rare = sum(c for _, c in pairs) - sum(c for _, c in kept)
    text = _is_text(value_type)
    if rare and text:
        merged = dict(kept)
        merged[RARE_TOKEN] = merged.get(RARE_TOKEN, 0) + rare
        kept = list(merged.items())
    kept.sort(key=lambda vc: (-vc[1], str(vc[0])))
    if rare and not text:
        if not kept:
            raise ConfigError(
                f"column {name!r}: each of its {len(pairs)} values is seen in fewer than {k} real "
                f"rows, so rare-category protection leaves none to emit; set a lower "
                f"rare_category_threshold for it in the table spec (0 turns protection off), or "
                f"declare it numerical")
        kept[0] = (kept[0][0], kept[0][1] + rare)
    values = [v for v, _ in kept]
    other = values.index(RARE_TOKEN) if rare and text else 0
    return ProtectedCategories(categories=values, counts=[c for _, c in kept], threshold=k,
                               other_code=other, protected_rows=rare)


def _protected_dictionary(dictionary: list[Any], protected: ProtectedCategories) -> list[Any]:
    """The real dictionary without withheld values (with the placeholder when it is emitted)."""
    if not protected.threshold:
        return dictionary
    emitted = set(protected.categories)
    kept = [d for d in dictionary if d in emitted]
    return kept + [c for c in protected.categories if c == RARE_TOKEN and c not in kept]


class CategoricalTransform(ColumnTransform):
    """A categorical or boolean column.

    Codes are assigned by decreasing frequency (ties in value order), so code 0 is
    the mode. Categories come from :func:`protect_categories`: values seen in fewer
    than ``rare_threshold`` real rows are not among them. Values outside the
    categories (protected ones at fit time, unseen ones from other tables such as a
    holdout) map to ``other_code`` on ``forward``: the placeholder's code for text
    columns with protected values, else the mode's; ``inverse`` only ever emits the
    categories.
    """

    kind_name = "categorical"

    def __init__(self, *, name: str, arrow_type: pa.DataType, categories: list[Any],
                 counts: list[int], nullable: bool, dictionary: list[Any] | None = None,
                 rare_threshold: int = 0, other_code: int = 0) -> None:
        super().__init__(name=name, arrow_type=arrow_type)
        vt = _value_type(arrow_type)
        if not (_is_text(vt) or pa.types.is_integer(vt) or pa.types.is_floating(vt)
                or pa.types.is_boolean(vt) or pa.types.is_null(vt)):
            raise SchemaError(
                f"column {name!r}: categorical columns must hold strings, integers, floats or "
                f"booleans, not {vt}; cast it, or declare another kind in the table spec"
            )
        self.categories = categories
        self.counts = counts
        self.nullable = nullable
        self.rare_threshold = rare_threshold
        self.other_code = other_code
        self._values = pa.array(categories, type=vt)
        # Dictionary columns keep the real dictionary (its order is a pandas category order).
        self.dictionary = dictionary
        if dictionary is not None:
            position = {v: i for i, v in enumerate(dictionary)}
            self._remap = pa.array([position[c] for c in categories], type=pa.int32())
            self._dictionary = pa.array(dictionary, type=vt)

    @classmethod
    def fit(cls, *, name: str, arrow_type: pa.DataType, values: pa.Array,
            rare_threshold: int | None = None) -> CategoricalTransform:
        """Learn the categories and their counts, protecting rare ones.

        Args:
            name: the column.
            arrow_type: its Arrow type.
            values: the real values.
            rare_threshold: ``k`` of rare-category protection (``None``: the default, 0 or
                1: off).
        """
        dictionary = values.dictionary.to_pylist() if pa.types.is_dictionary(values.type) else None
        return cls.from_counts(name=name, arrow_type=arrow_type, counts=count_categories(values),
                               nullable=values.null_count > 0, dictionary=dictionary,
                               rare_threshold=rare_threshold)

    @classmethod
    def from_counts(cls, *, name: str, arrow_type: pa.DataType, counts: Iterable[tuple[Any, int]],
                    nullable: bool, dictionary: list[Any] | None = None,
                    rare_threshold: int | None = None) -> CategoricalTransform:
        """A transform from real ``(value, count)`` pairs (counted here, by Spark, ...)."""
        protected = protect_categories(counts, name=name, value_type=_value_type(arrow_type),
                                       threshold=rare_threshold)
        if dictionary is not None:
            dictionary = _protected_dictionary(dictionary, protected)
        return cls(name=name, arrow_type=arrow_type, categories=protected.categories,
                   counts=protected.counts, nullable=nullable, dictionary=dictionary,
                   rare_threshold=protected.threshold, other_code=protected.other_code)

    @property
    def model_column(self) -> ModelColumn:
        """Discrete with one code per category."""
        return ModelColumn(name=self.name, type=ModelColumnType.DISCRETE,
                           n_categories=max(len(self.categories), 1), nullable=self.nullable)

    def forward(self, values: pa.Array) -> tuple[np.ndarray, np.ndarray | None]:
        """Codes (values outside the categories -> ``other_code``); nulls -> code 0 plus the mask."""
        if isinstance(values, pa.ChunkedArray):
            values = values.combine_chunks()
        if pa.types.is_dictionary(values.type):
            values = values.dictionary_decode()
        codes = pc.fill_null(pc.index_in(values, value_set=self._values), self.other_code)
        x = codes.to_numpy(zero_copy_only=False).astype(np.int32, copy=False)
        if values.null_count == 0:
            return x, None
        nulls = np.asarray(values.is_null())
        return np.where(nulls, 0, x).astype(np.int32, copy=False), nulls

    def protect(self, values: pa.Array | pa.ChunkedArray) -> pa.Array:
        """Real values as this transform lets them out: protected ones replaced, nulls kept."""
        return self.inverse(*self.forward(values))

    def inverse(self, values: np.ndarray, nulls: np.ndarray | None) -> pa.Array:
        """Categories for the codes, in the column's exact Arrow type."""
        codes = pa.array(np.clip(values, 0, len(self.categories) - 1).astype(np.int32),
                         mask=nulls)
        if self.dictionary is not None:
            indices = self._remap.take(codes).cast(self.arrow_type.index_type)
            return pa.DictionaryArray.from_arrays(indices, self._dictionary)
        return self._values.take(codes)

    def params(self) -> dict[str, Any]:
        """Categories (most frequent first), counts, nullability, the real dictionary if any.

        Protected values are in none of them: only ``rare_threshold`` (the ``k`` applied)
        and ``other_code`` say that protection ran.
        """
        return {"categories": self.categories, "counts": self.counts, "nullable": self.nullable,
                "dictionary": self.dictionary, "rare_threshold": self.rare_threshold,
                "other_code": self.other_code}

    @classmethod
    def from_params(cls, *, name: str, arrow_type: pa.DataType,
                    params: Mapping[str, Any]) -> CategoricalTransform:
        """Rebuild from :meth:`params` (models saved before protection: ``k`` = 0)."""
        return cls(name=name, arrow_type=arrow_type, categories=list(params["categories"]),
                   counts=[int(c) for c in params["counts"]], nullable=bool(params["nullable"]),
                   dictionary=params.get("dictionary"),
                   rare_threshold=int(params.get("rare_threshold", 0)),
                   other_code=int(params.get("other_code", 0)))
