"""Constraints as a table spec declares them: what must hold in every synthetic row.

A spec lists them under ``constraints`` (YAML shown; JSON alike)::

    constraints:
      - {type: range, column: price, min: 0, max: 20000}
      - {type: inequality, low: start_date, high: end_date}      # start_date <= end_date
      - {type: fixed_combinations, columns: [country, city]}     # only pairs seen in the data
      - {type: formula, column: total, expression: "price * quantity"}

Declarations are plain frozen values checked for shape here; whether they fit the
table (columns exist, kinds agree, the real rows satisfy them) is checked when a
model is fitted (:mod:`synth_ray.constraints.constraint_set`).
"""

from __future__ import annotations

import enum
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from synth_ray.config_checks import check_keys, unknown_name_message
from synth_ray.constraints.formula import Formula, parse_formula
from synth_ray.errors import ConfigError

__all__ = [
    "Constraint",
    "ConstraintType",
    "FixedCombinations",
    "FormulaConstraint",
    "Inequality",
    "RangeConstraint",
    "constraint_from_dict",
    "parse_constraints",
]


class ConstraintType(enum.StrEnum):
    """The kinds of constraint a spec can declare.

    Attributes:
        RANGE: a numerical column stays within ``[min, max]``.
        INEQUALITY: ``low <= high`` for two numerical or two datetime columns.
        FIXED_COMBINATIONS: categorical/boolean columns only take value combinations
            seen together in the real table.
        FORMULA: a numerical column equals a formula of other numerical columns.
    """

    RANGE = "range"
    INEQUALITY = "inequality"
    FIXED_COMBINATIONS = "fixed_combinations"
    FORMULA = "formula"


def _column_name(value: Any, *, key: str, where: str) -> str:
    if not isinstance(value, str) or not value:
        raise ConfigError(f"{where}: {key!r} must be a column name, got {value!r}")
    return value


def _bound(value: Any, *, key: str, where: str) -> float | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise ConfigError(f"{where}: {key!r} must be a finite number, got {value!r}")
    return float(value)


@dataclass(frozen=True, kw_only=True)
class RangeConstraint:
    """``min <= column <= max`` (either bound may be left out)."""

    column: str
    min: float | None = None
    max: float | None = None

    @property
    def columns(self) -> tuple[str, ...]:
        """The columns the constraint reads."""
        return (self.column,)

    def describe(self) -> str:
        """The constraint as people write it."""
        lo = "" if self.min is None else f"{self.min:g} <= "
        hi = "" if self.max is None else f" <= {self.max:g}"
        return f"range {lo}{self.column}{hi}"

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form (the spec's own form)."""
        return {"type": ConstraintType.RANGE.value, "column": self.column, "min": self.min,
                "max": self.max}


@dataclass(frozen=True, kw_only=True)
class Inequality:
    """``low <= high`` in every row where both are present."""

    low: str
    high: str

    @property
    def columns(self) -> tuple[str, ...]:
        """The columns the constraint reads."""
        return (self.low, self.high)

    def describe(self) -> str:
        """The constraint as people write it."""
        return f"{self.low} <= {self.high}"

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form (the spec's own form)."""
        return {"type": ConstraintType.INEQUALITY.value, "low": self.low, "high": self.high}


@dataclass(frozen=True, kw_only=True)
class FixedCombinations:
    """Only the value combinations of ``columns`` that occur in the real table."""

    columns: tuple[str, ...]

    def describe(self) -> str:
        """The constraint as people write it."""
        return f"fixed combinations of {', '.join(self.columns)}"

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form (the spec's own form)."""
        return {"type": ConstraintType.FIXED_COMBINATIONS.value, "columns": list(self.columns)}


@dataclass(frozen=True, kw_only=True)
class FormulaConstraint:
    """``column = expression``: computed from the other columns after sampling, never learned."""

    column: str
    expression: str

    @property
    def formula(self) -> Formula:
        """The parsed expression."""
        return parse_formula(self.expression)

    @property
    def columns(self) -> tuple[str, ...]:
        """The target column, then the columns the expression reads."""
        return (self.column, *self.formula.columns)

    def describe(self) -> str:
        """The constraint as people write it."""
        return f"{self.column} = {self.expression}"

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form (the spec's own form)."""
        return {"type": ConstraintType.FORMULA.value, "column": self.column,
                "expression": self.expression}


Constraint = RangeConstraint | Inequality | FixedCombinations | FormulaConstraint

_KEYS = {
    ConstraintType.RANGE: ("type", "column", "min", "max"),
    ConstraintType.INEQUALITY: ("type", "low", "high"),
    ConstraintType.FIXED_COMBINATIONS: ("type", "columns"),
    ConstraintType.FORMULA: ("type", "column", "expression"),
}


def constraint_from_dict(data: Mapping[str, Any], *, where: str = "constraint") -> Constraint:
    """One constraint from its spec entry; unknown types and keys are refused by name."""
    if not isinstance(data, Mapping):
        raise ConfigError(f"{where}: expected a mapping such as {{type: range, column: price, "
                          f"min: 0}}, got {data!r}")
    raw_type = data.get("type")
    try:
        kind = ConstraintType(str(raw_type))
    except ValueError:
        raise ConfigError(f"{where}: " + unknown_name_message(
            str(raw_type), [t.value for t in ConstraintType], what="constraint type")) from None
    check_keys(data, allowed=_KEYS[kind], where=f"{where} ({kind.value})")
    if kind is ConstraintType.RANGE:
        column = _column_name(data.get("column"), key="column", where=where)
        lo, hi = _bound(data.get("min"), key="min", where=where), _bound(data.get("max"), key="max",
                                                                          where=where)
        if lo is None and hi is None:
            raise ConfigError(f"{where}: a range constraint on {column!r} needs min, max or both")
        if lo is not None and hi is not None and lo > hi:
            raise ConfigError(f"{where}: range of {column!r} has min {lo:g} > max {hi:g}; "
                              "no row can satisfy it")
        return RangeConstraint(column=column, min=lo, max=hi)
    if kind is ConstraintType.INEQUALITY:
        low = _column_name(data.get("low"), key="low", where=where)
        high = _column_name(data.get("high"), key="high", where=where)
        if low == high:
            raise ConfigError(f"{where}: an inequality needs two different columns, got {low!r} twice")
        return Inequality(low=low, high=high)
    if kind is ConstraintType.FIXED_COMBINATIONS:
        columns = data.get("columns")
        if (not isinstance(columns, Sequence) or isinstance(columns, str) or len(columns) < 2
                or len(set(columns)) != len(columns)):
            raise ConfigError(f"{where}: 'columns' must list two or more different columns, "
                              f"got {columns!r}")
        return FixedCombinations(columns=tuple(_column_name(c, key="columns", where=where)
                                               for c in columns))
    column = _column_name(data.get("column"), key="column", where=where)
    expression = data.get("expression")
    formula = parse_formula(expression)  # type: ignore[arg-type]  # refuses non-text and non-arithmetic
    if column in formula.columns:
        raise ConfigError(f"{where}: formula column {column!r} cannot appear in its own formula "
                          f"{expression!r}")
    return FormulaConstraint(column=column, expression=str(expression))


def _check_formula_targets(constraints: Sequence[Constraint]) -> None:
    """A formula's column is computed: no other constraint may read or set it."""
    targets = {c.column: c for c in constraints if isinstance(c, FormulaConstraint)}
    for constraint in constraints:
        reads = (constraint.formula.columns if isinstance(constraint, FormulaConstraint)
                 else constraint.columns)
        for column in reads:
            if column in targets:
                raise ConfigError(
                    f"constraint {constraint.describe()!r} uses {column!r}, which formula "
                    f"{targets[column].describe()!r} computes; constrain the formula's inputs instead")
    listed = [c.column for c in constraints if isinstance(c, FormulaConstraint)]
    for target in targets:
        if listed.count(target) > 1:
            raise ConfigError(f"column {target!r} has two formulas; keep one")


def parse_constraints(raw: Any) -> tuple[Constraint, ...]:
    """The ``constraints`` list of a spec (``None``: no constraints)."""
    if raw is None:
        return ()
    if not isinstance(raw, Sequence) or isinstance(raw, str | bytes):
        raise ConfigError("table spec: 'constraints' must be a list of constraints such as "
                          "[{type: inequality, low: start, high: end}]")
    constraints = tuple(constraint_from_dict(entry, where=f"constraint #{i + 1}")
                        for i, entry in enumerate(raw))
    _check_formula_targets(constraints)
    return constraints
