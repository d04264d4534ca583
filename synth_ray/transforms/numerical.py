"""Numbers: float64 in model space; clipped, rounded and re-typed on the way back."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from synth_ray.transforms.base import ColumnTransform
from synth_ray.transforms.model_frame import ModelColumn, ModelColumnType

__all__ = ["NumericalTransform"]


class NumericalTransform(ColumnTransform):
    """An int or float column.

    ``forward`` is exact (ints up to 2**53 are exact in float64). ``inverse`` clips to
    ``[min, max]``, rounds to ``decimals`` (0 for integers) and casts back to the
    column's Arrow type, so any in-range value with the column's decimals comes back
    bit for bit.
    """

    kind_name = "numerical"

    def __init__(self, *, name: str, arrow_type: pa.DataType, minimum: float, maximum: float,
                 decimals: int | None, fill: float, nullable: bool) -> None:
        super().__init__(name=name, arrow_type=arrow_type)
        self.minimum, self.maximum = minimum, maximum
        self.decimals = decimals
        self.fill = fill
        self.nullable = nullable

    @classmethod
    def fit(cls, *, name: str, arrow_type: pa.DataType, values: pa.Array,
            minimum: float | None = None, maximum: float | None = None,
            decimals: int | None = None) -> NumericalTransform:
        """Learn range, imputation value and nullability; explicit bounds win."""
        non_null = values.drop_null()
        stats = pc.min_max(non_null)
        lo = minimum if minimum is not None else stats["min"].as_py()
        hi = maximum if maximum is not None else stats["max"].as_py()
        if pa.types.is_integer(arrow_type):
            decimals = 0
        median = float(np.median(non_null.to_numpy(zero_copy_only=False)))
        return cls(name=name, arrow_type=arrow_type, minimum=float(lo), maximum=float(hi),
                   decimals=decimals, fill=median, nullable=values.null_count > 0)

    @property
    def model_column(self) -> ModelColumn:
        """Continuous; integral when the column rounds to whole numbers."""
        return ModelColumn(name=self.name, type=ModelColumnType.CONTINUOUS,
                           nullable=self.nullable, integral=self.decimals == 0)

    def forward(self, values: pa.Array) -> tuple[np.ndarray, np.ndarray | None]:
        """Values as float64, nulls filled with the median and flagged in the mask."""
        if isinstance(values, pa.ChunkedArray):
            values = values.combine_chunks()
        x = values.cast(pa.float64()).to_numpy(zero_copy_only=False)
        if values.null_count == 0:
            return x, None
        mask = np.asarray(values.is_null())
        x = np.where(mask, self.fill, x)
        return x, mask

    def inverse(self, values: np.ndarray, nulls: np.ndarray | None) -> pa.Array:
        """Clip, round and cast back; nulls where the mask says."""
        x = np.clip(values, self.minimum, self.maximum)
        if self.decimals is not None:
            x = np.round(x, self.decimals)
        x = x.astype(self.arrow_type.to_pandas_dtype(), copy=False)
        return pa.array(x, type=self.arrow_type, mask=nulls)

    def params(self) -> dict[str, Any]:
        """Range, decimals, imputation value, nullability."""
        return {"min": self.minimum, "max": self.maximum, "decimals": self.decimals,
                "fill": self.fill, "nullable": self.nullable}

    @classmethod
    def from_params(cls, *, name: str, arrow_type: pa.DataType,
                    params: Mapping[str, Any]) -> NumericalTransform:
        """Rebuild from :meth:`params`."""
        return cls(name=name, arrow_type=arrow_type, minimum=float(params["min"]),
                   maximum=float(params["max"]), decimals=params["decimals"],
                   fill=float(params["fill"]), nullable=bool(params["nullable"]))
