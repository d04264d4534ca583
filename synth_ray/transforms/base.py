"""The contract every reversible column transform keeps.

A learned column's transform maps real values into model space (``forward``) and
back (``inverse``); a generated column (id, pii, all-null) is never learned and only
``generate``s values. Both serialize to JSON-ready dicts: artifacts never pickle.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np
import pyarrow as pa

from synth_ray.transforms.model_frame import ModelColumn

__all__ = ["ColumnTransform", "GeneratedColumn", "GenerationContext"]


class ColumnTransform(ABC):
    """A learned column's reversible mapping between Arrow values and model space."""

    kind_name: ClassVar[str]

    def __init__(self, *, name: str, arrow_type: pa.DataType) -> None:
        self.name = name
        self.arrow_type = arrow_type

    @property
    @abstractmethod
    def model_column(self) -> ModelColumn:
        """How the column looks to a generator."""

    @abstractmethod
    def forward(self, values: pa.Array) -> tuple[np.ndarray, np.ndarray | None]:
        """Real values -> (model-space values with nulls imputed, null mask or None)."""

    @abstractmethod
    def inverse(self, values: np.ndarray, nulls: np.ndarray | None) -> pa.Array:
        """Model-space values (+ null mask) -> Arrow values of the real column's type."""

    @abstractmethod
    def params(self) -> dict[str, Any]:
        """JSON-ready learned parameters (without name and type)."""

    @classmethod
    @abstractmethod
    def from_params(cls, *, name: str, arrow_type: pa.DataType,
                    params: Mapping[str, Any]) -> ColumnTransform:
        """Rebuild from :meth:`params`."""


@dataclass(frozen=True)
class GenerationContext:
    """Where a generated column's values go: the global rows and this chunk's randomness.

    Attributes:
        row_start: global index of the first row (ids derive from it).
        n_rows: number of rows to generate.
        seed: the sampling seed (ids that must not be guessable mix it in).
        rng: this chunk's generator for this column (pii draws from it).
    """

    row_start: int
    n_rows: int
    seed: int
    rng: np.random.Generator


class GeneratedColumn(ABC):
    """A column made from the row index and randomness, never from real values."""

    kind_name: ClassVar[str]

    def __init__(self, *, name: str, arrow_type: pa.DataType) -> None:
        self.name = name
        self.arrow_type = arrow_type

    @abstractmethod
    def generate(self, ctx: GenerationContext) -> pa.Array:
        """Values for rows ``[ctx.row_start, ctx.row_start + ctx.n_rows)``."""

    @abstractmethod
    def params(self) -> dict[str, Any]:
        """JSON-ready parameters."""

    @classmethod
    @abstractmethod
    def from_params(cls, *, name: str, arrow_type: pa.DataType,
                    params: Mapping[str, Any]) -> GeneratedColumn:
        """Rebuild from :meth:`params`."""


