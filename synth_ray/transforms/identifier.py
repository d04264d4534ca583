"""Key columns, regenerated from the global row index.

Keys are unique across any number of partitions and never learned from the real keys.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from synth_ray.errors import ConfigError, SamplingError
from synth_ray.transforms.base import GeneratedColumn, GenerationContext
from synth_ray.transforms.strings import cast_strings

__all__ = ["IdColumn", "holds_chunk_of_keys", "permute64"]

_UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$", re.IGNORECASE)
_PREFIXED = re.compile(r"^(.*?)(\d+)$")
_HEX = np.frombuffer(b"0123456789abcdef", dtype=np.uint8)
_MASK64 = (1 << 64) - 1


def permute64(x: np.ndarray, key: int) -> np.ndarray:
    """A keyed bijection of uint64: distinct inputs always give distinct outputs.

    Multiplication by an odd constant, xor with a key and xor-shifts are each
    invertible modulo 2**64, so ids derived from distinct row indices never collide,
    yet do not reveal the row order.
    """
    x = x.astype(np.uint64) ^ np.uint64(key & _MASK64)
    with np.errstate(over="ignore"):
        for mult in (0xBF58476D1CE4E5B9, 0x94D049BB133111EB):
            x ^= x >> np.uint64(31)
            x *= np.uint64(mult)
    return x ^ (x >> np.uint64(29))


def _hex16(x: np.ndarray) -> np.ndarray:
    shifts = np.arange(60, -4, -4, dtype=np.uint64)
    digits = ((x[:, None] >> shifts) & np.uint64(0xF)).astype(np.intp)
    return _HEX[digits]


def _chunk_rows() -> int:
    from synth_ray.synthesizer import DEFAULT_CHUNK_ROWS  # the sampling contract's chunk size

    return DEFAULT_CHUNK_ROWS


def holds_chunk_of_keys(arrow_type: pa.DataType, start: int) -> bool:
    """Whether an integer type holds ``start + row`` for every row of a sampling chunk.

    Rows are made a whole chunk at a time (then sliced), so a key column must hold a
    chunk's keys even when fewer rows are asked for: an int8 or int16 key cannot.
    """
    return start + _chunk_rows() - 1 <= int(np.iinfo(arrow_type.to_pandas_dtype()).max)


class IdColumn(GeneratedColumn):
    """An integer or string key.

    Styles: ``integer`` (``start + row``), ``prefixed`` (``prefix`` + zero-padded
    ``start + row``, as in ``ORD-000123``), ``uuid`` (UUID-shaped, from a keyed
    bijection of the row index and the seed) and ``hex`` (16 hex digits, likewise).
    """

    kind_name = "id"

    def __init__(self, *, name: str, arrow_type: pa.DataType, style: str, start: int = 0,
                 prefix: str = "", width: int = 0) -> None:
        super().__init__(name=name, arrow_type=arrow_type)
        self.style, self.start, self.prefix, self.width = style, start, prefix, width

    @classmethod
    def fit(cls, *, name: str, arrow_type: pa.DataType, values: pa.Array) -> IdColumn:
        """Learn the key's shape (never its values): style, start, prefix, width."""
        non_null = values.drop_null()
        if pa.types.is_integer(arrow_type):
            start = int(pc.min(non_null).as_py()) if len(non_null) else 0
            if not holds_chunk_of_keys(arrow_type, start):
                raise ConfigError(
                    f"id column {name!r} is {arrow_type} starting at {start}: it cannot hold the "
                    f"{_chunk_rows():,} unique keys of one sampling chunk; widen its type (e.g. int64) "
                    "or declare its kind numerical in the table spec")
            return cls(name=name, arrow_type=arrow_type, style="integer", start=start)
        probe = non_null.slice(0, 10_000).cast(pa.string()).to_pylist()
        if probe and all(_UUID.match(v) for v in probe):
            return cls(name=name, arrow_type=arrow_type, style="uuid")
        parts = [_PREFIXED.match(v) for v in probe]
        if probe and all(parts) and len({p.group(1) for p in parts if p}) == 1:
            digits = [p.group(2) for p in parts if p]
            return cls(name=name, arrow_type=arrow_type, style="prefixed",
                       prefix=parts[0].group(1) if parts[0] else "",
                       width=max(len(d) for d in digits), start=min(int(d) for d in digits))
        return cls(name=name, arrow_type=arrow_type, style="hex")

    def generate(self, ctx: GenerationContext) -> pa.Array:
        """Keys for rows ``[row_start, row_start + n_rows)``."""
        rows = np.arange(ctx.row_start, ctx.row_start + ctx.n_rows, dtype=np.int64)
        if self.style == "integer":
            return self._integers(rows)
        if self.style == "prefixed":
            digits = pc.utf8_lpad(pa.array(rows + self.start).cast(pa.string()), self.width, "0")
            return cast_strings(pc.binary_join_element_wise(self.prefix, digits, ""), self.arrow_type)
        lo = _hex16(permute64(rows.astype(np.uint64), ctx.seed))
        if self.style == "hex":
            text = np.ascontiguousarray(lo).view("S16").ravel()
        else:
            hi = _hex16(permute64(rows.astype(np.uint64), ~ctx.seed))
            hi[:, 12] = ord("4")  # UUID version 4 shape; uniqueness comes from `lo` alone
            dash = np.full((ctx.n_rows, 1), ord("-"), dtype=np.uint8)
            chars = np.hstack([hi[:, :8], dash, hi[:, 8:12], dash, hi[:, 12:16], dash,
                               lo[:, :4], dash, lo[:, 4:]])
            text = np.ascontiguousarray(chars).view("S36").ravel()
        width = 16 if self.style == "hex" else 36
        return cast_strings(pa.array(text, type=pa.binary(width)).cast(pa.string()), self.arrow_type)

    def _integers(self, rows: np.ndarray) -> pa.Array:
        info = np.iinfo(self.arrow_type.to_pandas_dtype())
        top = self.start + int(rows[-1]) if len(rows) else self.start
        if top > info.max:
            raise SamplingError(
                f"id column {self.name!r} is {self.arrow_type} and cannot hold unique keys up to "
                f"{top}; sample fewer rows or widen the column's type (e.g. int64)"
            )
        return pa.array(rows + self.start, type=pa.int64()).cast(self.arrow_type)

    def params(self) -> dict[str, Any]:
        """Style, start, prefix, width."""
        return {"style": self.style, "start": self.start, "prefix": self.prefix, "width": self.width}

    @classmethod
    def from_params(cls, *, name: str, arrow_type: pa.DataType,
                    params: Mapping[str, Any]) -> IdColumn:
        """Rebuild from :meth:`params`."""
        return cls(name=name, arrow_type=arrow_type, style=str(params["style"]),
                   start=int(params["start"]), prefix=str(params["prefix"]),
                   width=int(params["width"]))
