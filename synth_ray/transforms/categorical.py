"""Categories and booleans: integer codes in model space, most frequent first."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from synth_ray.errors import SchemaError
from synth_ray.transforms.base import ColumnTransform
from synth_ray.transforms.model_frame import ModelColumn, ModelColumnType

__all__ = ["CategoricalTransform"]


def _value_type(arrow_type: pa.DataType) -> pa.DataType:
    return arrow_type.value_type if pa.types.is_dictionary(arrow_type) else arrow_type


class CategoricalTransform(ColumnTransform):
    """A categorical or boolean column.

    Codes are assigned by decreasing frequency (ties in value order), so code 0 is
    the mode. Values never seen at fit time map to the mode on ``forward`` (they can
    only come from other tables, e.g. a holdout); ``inverse`` only ever emits
    categories seen in the real column.
    """

    kind_name = "categorical"

    def __init__(self, *, name: str, arrow_type: pa.DataType, categories: list[Any],
                 counts: list[int], nullable: bool, dictionary: list[Any] | None = None) -> None:
        super().__init__(name=name, arrow_type=arrow_type)
        vt = _value_type(arrow_type)
        if not (pa.types.is_string(vt) or pa.types.is_large_string(vt) or pa.types.is_integer(vt)
                or pa.types.is_floating(vt) or pa.types.is_boolean(vt) or pa.types.is_null(vt)):
            raise SchemaError(
                f"column {name!r}: categorical columns must hold strings, integers, floats or "
                f"booleans, not {vt}; cast it, or declare another kind in the table spec"
            )
        self.categories = categories
        self.counts = counts
        self.nullable = nullable
        self._values = pa.array(categories, type=vt)
        # Dictionary columns keep the real dictionary (its order is a pandas category order).
        self.dictionary = dictionary
        if dictionary is not None:
            position = {v: i for i, v in enumerate(dictionary)}
            self._remap = pa.array([position[c] for c in categories], type=pa.int32())
            self._dictionary = pa.array(dictionary, type=vt)

    @classmethod
    def fit(cls, *, name: str, arrow_type: pa.DataType, values: pa.Array) -> CategoricalTransform:
        """Learn the categories and their counts."""
        dictionary = None
        if pa.types.is_dictionary(values.type):
            dictionary = values.dictionary.to_pylist()
            values = values.dictionary_decode()
        vc = pc.value_counts(values.drop_null())
        cats = vc.field("values").to_pylist()
        counts = vc.field("counts").to_numpy()
        order = sorted(range(len(cats)), key=lambda i: (-counts[i], str(cats[i])))
        return cls(name=name, arrow_type=arrow_type, categories=[cats[i] for i in order],
                   counts=[int(counts[i]) for i in order], nullable=values.null_count > 0,
                   dictionary=dictionary)

    @property
    def model_column(self) -> ModelColumn:
        """Discrete with one code per category."""
        return ModelColumn(name=self.name, type=ModelColumnType.DISCRETE,
                           n_categories=max(len(self.categories), 1), nullable=self.nullable)

    def forward(self, values: pa.Array) -> tuple[np.ndarray, np.ndarray | None]:
        """Codes (unseen values -> the mode's code 0); nulls -> code 0 plus the mask."""
        if isinstance(values, pa.ChunkedArray):
            values = values.combine_chunks()
        if pa.types.is_dictionary(values.type):
            values = values.dictionary_decode()
        codes = pc.fill_null(pc.index_in(values, value_set=self._values), 0)
        x = codes.to_numpy(zero_copy_only=False).astype(np.int32, copy=False)
        if values.null_count == 0:
            return x, None
        return x, np.asarray(values.is_null())

    def inverse(self, values: np.ndarray, nulls: np.ndarray | None) -> pa.Array:
        """Categories for the codes, in the column's exact Arrow type."""
        codes = pa.array(np.clip(values, 0, len(self.categories) - 1).astype(np.int32),
                         mask=nulls)
        if self.dictionary is not None:
            indices = self._remap.take(codes).cast(self.arrow_type.index_type)
            return pa.DictionaryArray.from_arrays(indices, self._dictionary)
        return self._values.take(codes)

    def params(self) -> dict[str, Any]:
        """Categories (most frequent first), counts, nullability, the real dictionary if any."""
        return {"categories": self.categories, "counts": self.counts, "nullable": self.nullable,
                "dictionary": self.dictionary}

    @classmethod
    def from_params(cls, *, name: str, arrow_type: pa.DataType,
                    params: Mapping[str, Any]) -> CategoricalTransform:
        """Rebuild from :meth:`params`."""
        return cls(name=name, arrow_type=arrow_type, categories=list(params["categories"]),
                   counts=[int(c) for c in params["counts"]], nullable=bool(params["nullable"]),
                   dictionary=params.get("dictionary"))
