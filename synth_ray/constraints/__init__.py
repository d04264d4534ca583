"""Constraints a table spec declares, and how every sampled row is made to meet them."""

from synth_ray.constraints.constraint_set import ConstraintSet
from synth_ray.constraints.declarations import (
    Constraint,
    ConstraintType,
    FixedCombinations,
    FormulaConstraint,
    Inequality,
    RangeConstraint,
    parse_constraints,
)
from synth_ray.constraints.formula import Formula, parse_formula

__all__ = [
    "Constraint",
    "ConstraintSet",
    "ConstraintType",
    "FixedCombinations",
    "Formula",
    "FormulaConstraint",
    "Inequality",
    "RangeConstraint",
    "parse_constraints",
    "parse_formula",
]
