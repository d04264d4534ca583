"""All-null columns: kept, with their type, and generated all null."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pyarrow as pa

from synth_ray.transforms.base import GeneratedColumn, GenerationContext

__all__ = ["NullColumn"]


class NullColumn(GeneratedColumn):
    """A column that was all null in the real table stays all null."""

    kind_name = "null"

    def generate(self, ctx: GenerationContext) -> pa.Array:
        """``n_rows`` nulls of the column's type."""
        return pa.nulls(ctx.n_rows, type=self.arrow_type)

    def params(self) -> dict[str, Any]:
        """No parameters."""
        return {}

    @classmethod
    def from_params(cls, *, name: str, arrow_type: pa.DataType,
                    params: Mapping[str, Any]) -> NullColumn:
        """Rebuild."""
        return cls(name=name, arrow_type=arrow_type)
