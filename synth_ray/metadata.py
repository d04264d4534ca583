"""Table metadata: what each column is, as synth-ray understands it.

Metadata is descriptive and small (JSON). It is inferred from a table
(:mod:`synth_ray.metadata_inference`) and can be overridden by a table spec
(:mod:`synth_ray.table_spec`); the learned parameters of each column live in its
transform (:mod:`synth_ray.transforms`), not here.
"""

from __future__ import annotations

import base64
import enum
import hashlib
import json
from collections.abc import Iterator, Mapping
from dataclasses import asdict, dataclass, field, replace
from typing import Any

import pyarrow as pa

from synth_ray.errors import ConfigError, SchemaError

__all__ = ["ColumnKind", "ColumnMetadata", "PiiType", "TableMetadata"]


class ColumnKind(enum.StrEnum):
    """How synth-ray treats a column.

    Attributes:
        NUMERICAL: an int or float quantity; learned (range, decimals, distribution).
        CATEGORICAL: a value from a finite set (strings, small ints); learned.
        BOOLEAN: true/false; learned.
        DATETIME: a date or timestamp, naive or tz-aware; learned at its precision.
        ID: a unique key; regenerated from the global row index, never learned.
        PII: personal data (email, phone, name, address, free text); replaced by
            Faker values of the same shape, never learned from the real values.
    """

    NUMERICAL = "numerical"
    CATEGORICAL = "categorical"
    BOOLEAN = "boolean"
    DATETIME = "datetime"
    ID = "id"
    PII = "pii"


class PiiType(enum.StrEnum):
    """The kind of personal data in a ``pii`` column, which picks its fake generator."""

    EMAIL = "email"
    PHONE = "phone"
    PERSON_NAME = "person_name"
    ADDRESS = "address"
    TEXT = "text"


LEARNED_KINDS = frozenset(
    {ColumnKind.NUMERICAL, ColumnKind.CATEGORICAL, ColumnKind.BOOLEAN, ColumnKind.DATETIME}
)


@dataclass(frozen=True)
class ColumnMetadata:
    """One column's metadata.

    Attributes:
        name: column name, exactly as in the table.
        kind: how the column is treated.
        arrow_type: the column's Arrow type, as Arrow prints it (for people; the exact
            type is kept in :attr:`TableMetadata.arrow_schema`).
        null_fraction: share of null values in the real column, in [0, 1].
        min: smallest value (numerical: a number; datetime: ISO-8601 text).
        max: largest value, like ``min``.
        decimals: numerical only: digits after the point that the values carry
            (0 for integers); ``None`` when the floats use their full precision.
        unit: datetime only: the Arrow unit (``s``, ``ms``, ``us``, ``ns``, or ``D`` for dates).
        timezone: datetime only: the time zone of tz-aware timestamps, else ``None``.
        pii_type: pii only: which kind of personal data.
        n_categories: categorical/boolean: number of distinct non-null values.
        rare_category_threshold: categorical only: ``k`` of rare-category protection, from
            the table spec (values seen in fewer than ``k`` real rows are never emitted nor
            stored; 0 or 1: off; ``None``: not categorical, or the default when fitting).
    """

    name: str
    kind: ColumnKind
    arrow_type: str
    null_fraction: float = 0.0
    min: float | str | None = None
    max: float | str | None = None
    decimals: int | None = None
    unit: str | None = None
    timezone: str | None = None
    pii_type: PiiType | None = None
    n_categories: int | None = None
    rare_category_threshold: int | None = None

    def __post_init__(self) -> None:
        if not 0.0 <= self.null_fraction <= 1.0:
            raise ConfigError(
                f"column {self.name!r}: null_fraction must be in [0, 1], got {self.null_fraction}"
            )
        if self.kind is ColumnKind.PII and self.pii_type is None:
            raise ConfigError(
                f"column {self.name!r} is kind 'pii' but has no pii_type; "
                f"set one of: {', '.join(t.value for t in PiiType)}"
            )
        k = self.rare_category_threshold
        if k is not None and (isinstance(k, bool) or not isinstance(k, int) or k < 0):
            raise ConfigError(f"column {self.name!r}: rare_category_threshold must be a "
                              f"non-negative integer (0 or 1 turns protection off), got {k!r}")

    @property
    def learned(self) -> bool:
        """Whether a generator learns this column (ids and pii are never learned)."""
        return self.kind in LEARNED_KINDS

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict, without the fields that are unset."""
        return {k: (v.value if isinstance(v, enum.Enum) else v)
                for k, v in asdict(self).items() if v is not None}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> ColumnMetadata:
        """Inverse of :meth:`to_dict`; raises :class:`ConfigError` on unknown keys."""
        from synth_ray.config_checks import check_keys

        check_keys(data, allowed=cls.__dataclass_fields__, where="column metadata")
        values = dict(data)
        values["kind"] = ColumnKind(values["kind"])
        if values.get("pii_type") is not None:
            values["pii_type"] = PiiType(values["pii_type"])
        return cls(**values)

    def with_changes(self, **changes: Any) -> ColumnMetadata:
        """A copy with some fields changed (metadata is immutable)."""
        return replace(self, **changes)


@dataclass(frozen=True)
class TableMetadata:
    """A table's metadata: its columns in order, and its exact Arrow schema.

    Attributes:
        columns: one entry per column, in the table's order.
        arrow_schema: the real table's Arrow schema (with its pandas metadata), so
            that synthetic tables come back with exactly the same types.
        n_rows: rows in the table the metadata was inferred from.
    """

    columns: tuple[ColumnMetadata, ...]
    arrow_schema: pa.Schema
    n_rows: int = 0
    _index: dict[str, int] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        names = [c.name for c in self.columns]
        if names != list(self.arrow_schema.names):
            raise SchemaError(
                f"metadata columns {names} do not match the Arrow schema {self.arrow_schema.names}"
            )
        object.__setattr__(self, "_index", {n: i for i, n in enumerate(names)})

    def __iter__(self) -> Iterator[ColumnMetadata]:
        return iter(self.columns)

    def __len__(self) -> int:
        return len(self.columns)

    def __getitem__(self, name: str) -> ColumnMetadata:
        try:
            return self.columns[self._index[name]]
        except KeyError:
            from synth_ray.config_checks import unknown_name_message

            raise SchemaError(unknown_name_message(name, self.names, what="column")) from None

    @property
    def names(self) -> list[str]:
        """Column names, in order."""
        return [c.name for c in self.columns]

    def schema_fingerprint(self) -> str:
        """A sha256 of the column names and Arrow types: tells whether two tables fit one model."""
        text = json.dumps([[f.name, str(f.type)] for f in self.arrow_schema], ensure_ascii=False)
        return hashlib.sha256(text.encode()).hexdigest()

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict; the Arrow schema is kept exactly, as base64 Arrow IPC bytes."""
        return {
            "n_rows": self.n_rows,
            "columns": [c.to_dict() for c in self.columns],
            "arrow_schema_ipc": base64.b64encode(self.arrow_schema.serialize().to_pybytes()).decode(),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> TableMetadata:
        """Inverse of :meth:`to_dict`."""
        from synth_ray.config_checks import check_keys

        check_keys(data, allowed=("n_rows", "columns", "arrow_schema_ipc"), where="table metadata")
        schema = pa.ipc.read_schema(pa.py_buffer(base64.b64decode(data["arrow_schema_ipc"])))
        columns = tuple(ColumnMetadata.from_dict(c) for c in data["columns"])
        return cls(columns=columns, arrow_schema=schema, n_rows=int(data["n_rows"]))

    def describe(self) -> str:
        """A plain-text table of the columns, for people (the CLI prints it)."""
        lines = [f"{'column':<24} {'kind':<12} {'type':<28} nulls"]
        for c in self.columns:
            detail = c.pii_type.value if c.pii_type else ""
            lines.append(
                f"{c.name[:24]:<24} {(c.kind.value + ' ' + detail).strip():<12} "
                f"{c.arrow_type[:28]:<28} {c.null_fraction:.1%}"
            )
        return "\n".join(lines)
