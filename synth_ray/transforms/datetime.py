"""Dates and timestamps: counted in steps of their own precision in model space.

A column of whole days becomes "days since the earliest value", a column of whole
seconds "seconds since the earliest value", and so on. Models then learn on small
exact numbers, and the way back (round, multiply, add the origin) restores every
in-range value exactly, at the column's unit and time zone.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from synth_ray.transforms.base import ColumnTransform
from synth_ray.transforms.model_frame import ModelColumn, ModelColumnType

__all__ = ["DatetimeTransform"]

_NS_PER = {"s": 10**9, "ms": 10**6, "us": 10**3, "ns": 1, "D": 86_400 * 10**9}
# Candidate precisions, coarsest first, in nanoseconds: day, hour, minute, s, ms, us, ns.
_STEPS_NS = (86_400 * 10**9, 3_600 * 10**9, 60 * 10**9, 10**9, 10**6, 10**3, 1)


def _unit(arrow_type: pa.DataType) -> str:
    if pa.types.is_date32(arrow_type):
        return "D"
    if pa.types.is_date64(arrow_type):
        return "ms"
    return str(arrow_type.unit)


def _as_int64(values: pa.Array) -> pa.Array:
    if pa.types.is_date32(values.type):
        return values.cast(pa.int32()).cast(pa.int64())
    return values.cast(pa.int64())


class DatetimeTransform(ColumnTransform):
    """A ``timestamp`` (naive or tz-aware) or ``date`` column."""

    kind_name = "datetime"

    def __init__(self, *, name: str, arrow_type: pa.DataType, origin: int, step: int,
                 max_steps: int, fill: float, nullable: bool) -> None:
        super().__init__(name=name, arrow_type=arrow_type)
        self.origin, self.step, self.max_steps = origin, step, max_steps
        self.fill = fill
        self.nullable = nullable

    @classmethod
    def fit(cls, *, name: str, arrow_type: pa.DataType, values: pa.Array) -> DatetimeTransform:
        """Learn origin (earliest value), precision step and range."""
        ints = _as_int64(values.drop_null()).to_numpy(zero_copy_only=False)
        origin = int(ints.min())
        offsets = ints - origin
        unit_ns = _NS_PER[_unit(arrow_type)]
        step = 1
        for step_ns in _STEPS_NS:
            if step_ns % unit_ns == 0 and not np.any(offsets % (step_ns // unit_ns)):
                step = step_ns // unit_ns
                break
        steps = offsets // step
        return cls(name=name, arrow_type=arrow_type, origin=origin, step=step,
                   max_steps=int(steps.max()), fill=float(np.median(steps)),
                   nullable=values.null_count > 0)

    @property
    def model_column(self) -> ModelColumn:
        """Continuous and integral (whole steps)."""
        return ModelColumn(name=self.name, type=ModelColumnType.CONTINUOUS,
                           nullable=self.nullable, integral=True)

    def forward(self, values: pa.Array) -> tuple[np.ndarray, np.ndarray | None]:
        """Steps since the origin, as float64; nulls imputed with the median."""
        if isinstance(values, pa.ChunkedArray):
            values = values.combine_chunks()
        ints = pc.fill_null(_as_int64(values), self.origin).to_numpy(zero_copy_only=False)
        x = (ints - self.origin) / self.step
        if values.null_count == 0:
            return x, None
        mask = np.asarray(values.is_null())
        return np.where(mask, self.fill, x), mask

    def inverse(self, values: np.ndarray, nulls: np.ndarray | None) -> pa.Array:
        """Round to whole steps, clip to the range, rebuild the exact Arrow type."""
        k = np.clip(np.rint(values), 0, self.max_steps).astype(np.int64)
        ints = pa.array(self.origin + k * self.step, type=pa.int64(), mask=nulls)
        if pa.types.is_date32(self.arrow_type):
            return ints.cast(pa.int32()).cast(self.arrow_type)
        return ints.cast(self.arrow_type)

    def params(self) -> dict[str, Any]:
        """Origin, step, range (all in the column's unit), imputation value, nullability."""
        return {"origin": self.origin, "step": self.step, "max_steps": self.max_steps,
                "fill": self.fill, "nullable": self.nullable}

    @classmethod
    def from_params(cls, *, name: str, arrow_type: pa.DataType,
                    params: Mapping[str, Any]) -> DatetimeTransform:
        """Rebuild from :meth:`params`."""
        return cls(name=name, arrow_type=arrow_type, origin=int(params["origin"]),
                   step=int(params["step"]), max_steps=int(params["max_steps"]),
                   fill=float(params["fill"]), nullable=bool(params["nullable"]))
