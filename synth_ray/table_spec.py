"""Table specs: a user's declarations about columns, which always win over inference.

A spec is a YAML or JSON file (or a dict) such as::

    rare_category_threshold: 10      # k for every categorical column (default 5; 0 or 1: off)
    columns:
      order_id: {kind: id}
      email:    {kind: pii, pii_type: email}
      price:    {kind: numerical, min: 0, decimals: 2}
      zip_code: {kind: categorical, rare_category_threshold: 20}
    constraints:                     # see synth_ray.constraints.declarations
      - {type: inequality, low: ordered_at, high: shipped_at}
      - {type: formula, column: total, expression: "price * quantity"}

YAML is read with ``yaml.safe_load``: a spec can never run code.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

from synth_ray.config_checks import check_keys
from synth_ray.constraints.declarations import Constraint, parse_constraints
from synth_ray.errors import ConfigError
from synth_ray.metadata import ColumnKind, ColumnMetadata, PiiType
from synth_ray.transforms.categorical import DEFAULT_RARE_THRESHOLD

__all__ = ["ColumnSpec", "TableSpec", "load_table_spec"]


@dataclass(frozen=True, kw_only=True)
class ColumnSpec:
    """What a user declares about one column; unset fields are inferred."""

    kind: ColumnKind | None = None
    pii_type: PiiType | None = None
    min: float | str | None = None
    max: float | str | None = None
    decimals: int | None = None
    rare_category_threshold: int | None = None

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], *, column: str) -> ColumnSpec:
        """Parse one column's entry, naming the column in any error."""
        where = f"spec of column {column!r}"
        check_keys(data, allowed=[f.name for f in fields(cls)], where=where)
        values = dict(data)
        try:
            if values.get("kind") is not None:
                values["kind"] = ColumnKind(values["kind"])
            if values.get("pii_type") is not None:
                values["pii_type"] = PiiType(values["pii_type"])
                values.setdefault("kind", ColumnKind.PII)
        except ValueError as exc:
            kinds = ", ".join(k.value for k in ColumnKind)
            pii = ", ".join(p.value for p in PiiType)
            raise ConfigError(f"{where}: {exc}; kind is one of {kinds}; pii_type one of {pii}") from None
        decimals = values.get("decimals")
        if decimals is not None and (not isinstance(decimals, int) or not 0 <= decimals <= 15):
            raise ConfigError(f"{where}: decimals must be an integer from 0 to 15, got {decimals!r}")
        _check_threshold(values.get("rare_category_threshold"), where=where)
        if values.get("kind") is ColumnKind.PII and values.get("pii_type") is None:
            raise ConfigError(f"{where}: kind 'pii' needs a pii_type (one of {', '.join(PiiType)})")
        return cls(**values)


@dataclass(frozen=True, kw_only=True)
class TableSpec:
    """A user's declarations for a table: per-column specs by column name, and constraints.

    ``rare_category_threshold`` is ``k`` of rare-category protection for every categorical
    column (``None``: the default, 5); a column's own ``rare_category_threshold`` wins.
    """

    columns: Mapping[str, ColumnSpec] = field(default_factory=dict)
    constraints: tuple[Constraint, ...] = ()
    rare_category_threshold: int | None = None

    def __post_init__(self) -> None:
        _check_threshold(self.rare_category_threshold, where="table spec")
        for name, column in self.columns.items():
            _check_threshold(column.rare_category_threshold, where=f"spec of column {name!r}")

    def with_rare_threshold(self, meta: ColumnMetadata) -> ColumnMetadata:
        """``meta`` with the ``k`` of rare-category protection this spec gives its column.

        Categorical columns get the column's ``k``, else the table's, else the default.
        Other kinds get none (booleans are exempt: both values are public knowledge).

        Raises:
            ConfigError: the spec sets a column's ``k`` but the column is not categorical.
        """
        column = self.columns.get(meta.name)
        declared = column.rare_category_threshold if column is not None else None
        if meta.kind is not ColumnKind.CATEGORICAL:
            if declared is not None:
                raise ConfigError(
                    f"spec of column {meta.name!r}: rare_category_threshold applies to categorical "
                    f"columns, and {meta.name!r} is {meta.kind.value} (booleans are exempt: both "
                    f"values are public); remove it, or declare kind: categorical")
            return meta
        k = declared if declared is not None else self.rare_category_threshold
        return meta.with_changes(rare_category_threshold=DEFAULT_RARE_THRESHOLD if k is None else k)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any] | None) -> TableSpec:
        """Parse a spec dict (as read from YAML or JSON)."""
        if data is None:
            return cls()
        check_keys(data, allowed=["columns", "constraints", "rare_category_threshold"],
                   where="table spec")
        raw = data.get("columns") or {}
        if not isinstance(raw, Mapping):
            raise ConfigError("table spec: 'columns' must map column names to their specs")
        return cls(columns={str(k): ColumnSpec.from_dict(v or {}, column=str(k)) for k, v in raw.items()},
                   constraints=parse_constraints(data.get("constraints")),
                   rare_category_threshold=data.get("rare_category_threshold"))


def _check_threshold(value: Any, *, where: str) -> None:
    if value is not None and (isinstance(value, bool) or not isinstance(value, int) or value < 0):
        raise ConfigError(f"{where}: rare_category_threshold must be a non-negative integer "
                          f"(values seen in fewer real rows are protected; 0 or 1 turns "
                          f"protection off), got {value!r}")


def load_table_spec(source: str | Path | Mapping[str, Any] | TableSpec | None) -> TableSpec:
    """Load a spec from a YAML/JSON file, a dict, or pass a :class:`TableSpec` through."""
    if source is None or isinstance(source, TableSpec):
        return source or TableSpec()
    if isinstance(source, Mapping):
        return TableSpec.from_dict(source)
    if not isinstance(source, (str, Path)):
        raise ConfigError(f"a table spec must be a path to a YAML/JSON file, a dict or a TableSpec, "
                          f"got {type(source).__name__} {source!r}; e.g. spec={{'columns': "
                          "{'price': {'kind': 'numerical'}}}")
    path = Path(source)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"cannot read table spec {str(path)!r}: {exc.strerror}") from None
    import yaml

    try:
        data = json.loads(text) if path.suffix.lower() == ".json" else yaml.safe_load(text)
    except (json.JSONDecodeError, yaml.YAMLError) as exc:
        raise ConfigError(f"table spec {str(path)!r} is not valid YAML/JSON: {exc}") from None
    return TableSpec.from_dict(data)
