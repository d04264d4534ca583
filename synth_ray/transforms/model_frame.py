"""The model-space table: what generators learn from and emit.

Reversible column transforms turn a real table into a :class:`ModelFrame` of plain
numpy arrays (continuous floats, discrete codes, null masks) and back. Generators
see only this, so every model handles nulls, dates and categories the same way.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

__all__ = ["ModelColumn", "ModelColumnType", "ModelFrame"]


class ModelColumnType(enum.StrEnum):
    """How a learned column looks to a generator.

    Attributes:
        CONTINUOUS: float64 values (numbers, datetimes as multiples of their precision).
        DISCRETE: integer codes in ``[0, n_categories)`` (categories, booleans).
    """

    CONTINUOUS = "continuous"
    DISCRETE = "discrete"


@dataclass(frozen=True)
class ModelColumn:
    """One learned column as generators see it.

    Attributes:
        name: the real column's name.
        type: continuous or discrete.
        n_categories: discrete only: the number of codes.
        nullable: whether the column has nulls, carried as a separate boolean mask.
        integral: continuous only: values are whole numbers after the transform
            (integers, datetimes), a hint that models may use.
    """

    name: str
    type: ModelColumnType
    n_categories: int = 0
    nullable: bool = False
    integral: bool = False

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {"name": self.name, "type": self.type.value, "n_categories": self.n_categories,
                "nullable": self.nullable, "integral": self.integral}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> ModelColumn:
        """Inverse of :meth:`to_dict`."""
        return cls(name=str(data["name"]), type=ModelColumnType(data["type"]),
                   n_categories=int(data["n_categories"]), nullable=bool(data["nullable"]),
                   integral=bool(data["integral"]))


@dataclass
class ModelFrame:
    """Columns in model space.

    Attributes:
        n_rows: number of rows.
        values: per learned column, float64 (continuous) or int32 codes (discrete);
            null positions hold an imputed value.
        nulls: per nullable column, a boolean mask, True where the value is null.
    """

    n_rows: int
    values: dict[str, np.ndarray] = field(default_factory=dict)
    nulls: dict[str, np.ndarray] = field(default_factory=dict)

    def take(self, rows: np.ndarray) -> ModelFrame:
        """The frame restricted to ``rows`` (indices or a boolean mask)."""
        values = {k: v[rows] for k, v in self.values.items()}
        nulls = {k: v[rows] for k, v in self.nulls.items()}
        n = int(rows.sum()) if rows.dtype == bool else len(rows)
        return ModelFrame(n_rows=n, values=values, nulls=nulls)
