"""Dates and timestamps: counted in steps of their own precision in model space.

A column of whole days becomes "days since the earliest value", a column of whole
seconds "seconds since the earliest value", and so on. Models then learn on small
exact numbers, and the way back (round, multiply, add the origin) restores every
in-range value exactly, at the column's unit and time zone. Offsets are unsigned: a
nanosecond column spanning 1678 to 2261 is more than int64 can count from its origin.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from synth_ray.transforms.base import ColumnTransform
from synth_ray.transforms.model_frame import ModelColumn, ModelColumnType
from synth_ray.transforms.numerical import to_integers

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


def _unsigned(ints: np.ndarray | int) -> Any:
    """int64 values as uint64 bit patterns: differences are then exact modulo 2**64."""
    if isinstance(ints, int):
        return np.uint64(ints & 0xFFFF_FFFF_FFFF_FFFF)
    return np.asarray(ints, dtype=np.int64).view(np.uint64)


def _signed_offsets(ints: np.ndarray, origin: int) -> np.ndarray:
    """``ints - origin`` as float64, without int64 overflow (values may precede the origin)."""
    ahead = ints >= origin
    forward = (_unsigned(ints) - _unsigned(origin)).astype(np.float64)
    backward = (_unsigned(origin) - _unsigned(ints)).astype(np.float64)
    return np.where(ahead, forward, -backward)


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
        offsets = _unsigned(ints) - _unsigned(origin)  # exact: a span may exceed int64
        unit_ns = _NS_PER[_unit(arrow_type)]
        step = 1
        for step_ns in _STEPS_NS:
            if step_ns % unit_ns == 0 and not np.any(offsets % np.uint64(step_ns // unit_ns)):
                step = step_ns // unit_ns
                break
        steps = offsets // np.uint64(step)
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
        x = _signed_offsets(ints, self.origin) / self.step
        if values.null_count == 0:
            return x, None
        mask = np.asarray(values.is_null())
        return np.where(mask, self.fill, x), mask

    def inverse(self, values: np.ndarray, nulls: np.ndarray | None) -> pa.Array:
        """Round to whole steps, clip to the range, rebuild the exact Arrow type."""
        k = to_integers(np.rint(values), np.dtype(np.uint64), 0, self.max_steps)
        with np.errstate(over="ignore"):  # modulo 2**64: back in int64 range by construction
            ints = (_unsigned(self.origin) + k * np.uint64(self.step)).view(np.int64)
        ints = pa.array(ints, type=pa.int64(), mask=nulls)
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
