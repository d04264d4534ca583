"""Numbers: float64 in model space; clipped, rounded and re-typed on the way back.

Integer columns keep their exact bounds as Python ints: ``float(2**63 - 1)`` rounds up to
``2**63``, which no int64 holds, so the way back clips in integer space after the cast.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from synth_ray.transforms.base import ColumnTransform
from synth_ray.transforms.model_frame import ModelColumn, ModelColumnType

__all__ = ["NumericalTransform", "to_integers"]


class NumericalTransform(ColumnTransform):
    """An int or float column.

    ``forward`` is exact for ints up to 2**53 (larger ones round to the nearest float64,
    the model's precision). ``inverse`` clips to ``[min, max]``, rounds to ``decimals``
    (0 for integers) and casts back to the column's Arrow type, so any in-range value
    with the column's decimals comes back bit for bit, and no value leaves the real range
    (int64 and uint64 extremes included).
    """

    kind_name = "numerical"

    def __init__(self, *, name: str, arrow_type: pa.DataType, minimum: float | int,
                 maximum: float | int, decimals: int | None, fill: float, nullable: bool) -> None:
        super().__init__(name=name, arrow_type=arrow_type)
        self.minimum, self.maximum = minimum, maximum
        self.decimals = decimals
        self.fill = fill
        self.nullable = nullable

    @classmethod
    def fit(cls, *, name: str, arrow_type: pa.DataType, values: pa.Array,
            minimum: float | int | None = None, maximum: float | int | None = None,
            decimals: int | None = None) -> NumericalTransform:
        """Learn range, imputation value and nullability; explicit bounds win."""
        non_null = values.drop_null()
        stats = pc.min_max(non_null)
        lo = minimum if minimum is not None else stats["min"].as_py()
        hi = maximum if maximum is not None else stats["max"].as_py()
        if pa.types.is_integer(arrow_type):
            decimals = 0
        return cls(name=name, arrow_type=arrow_type, minimum=_bound(lo, arrow_type),
                   maximum=_bound(hi, arrow_type), decimals=decimals,
                   fill=_median(non_null.cast(pa.float64(), safe=False)),
                   nullable=values.null_count > 0)

    @property
    def model_column(self) -> ModelColumn:
        """Continuous; integral when the column rounds to whole numbers."""
        return ModelColumn(name=self.name, type=ModelColumnType.CONTINUOUS,
                           nullable=self.nullable, integral=self.decimals == 0)

    def forward(self, values: pa.Array) -> tuple[np.ndarray, np.ndarray | None]:
        """Values as float64, nulls filled with the median and flagged in the mask."""
        if isinstance(values, pa.ChunkedArray):
            values = values.combine_chunks()
        x = values.cast(pa.float64(), safe=False).to_numpy(zero_copy_only=False)
        if values.null_count == 0:
            return x, None
        mask = np.asarray(values.is_null())
        x = np.where(mask, self.fill, x)
        return x, mask

    def inverse(self, values: np.ndarray, nulls: np.ndarray | None) -> pa.Array:
        """Clip, round and cast back; nulls where the mask says."""
        x = np.clip(values, float(self.minimum), float(self.maximum))
        if self.decimals is not None:
            x = np.round(x, self.decimals)
        if pa.types.is_integer(self.arrow_type):
            x = to_integers(x, np.dtype(self.arrow_type.to_pandas_dtype()), self.minimum, self.maximum)
        else:
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
        return cls(name=name, arrow_type=arrow_type, minimum=_bound(params["min"], arrow_type),
                   maximum=_bound(params["max"], arrow_type), decimals=params["decimals"],
                   fill=float(params["fill"]), nullable=bool(params["nullable"]))


def _bound(value: float | int, arrow_type: pa.DataType) -> float | int:
    """An integer column's bound as an exact int (within its type), else a float."""
    if pa.types.is_integer(arrow_type):
        info = np.iinfo(arrow_type.to_pandas_dtype())
        return min(max(int(value) if isinstance(value, int) else math.floor(value + 0.5),
                       int(info.min)), int(info.max))
    return float(value)


def _median(values: pa.Array) -> float:
    """The median, finite even when the middle values are near the float64 limit."""
    x = values.to_numpy(zero_copy_only=False)
    if not len(x):
        return 0.0
    with np.errstate(over="ignore"):
        median = float(np.median(x))
    return median if math.isfinite(median) else float(np.quantile(x, 0.5, method="lower"))


def to_integers(x: np.ndarray, dtype: np.dtype[Any], lo: float | int, hi: float | int) -> np.ndarray:
    """Whole float64 values as ``dtype``, clipped to the whole numbers in ``[lo, hi]``.

    A float at or beyond a bound cannot be cast directly (``2.0**63`` overflows int64), so
    such values take the bound itself.
    """
    low, high = math.ceil(lo), math.floor(hi)  # the whole numbers inside a fractional bound
    over, under = x >= float(high), x <= float(low)
    out = np.where(over | under, 0.0, x).astype(dtype)
    out[over] = high
    out[under] = low
    return out
