"""A table's constraints, fitted: checked against the real rows, then enforced in every sample.

How each kind is enforced (the README says the same):

* **range**: by construction. The column's transform clips to its bounds, which
  the fit tightens to the declared range; rows are still checked.
* **inequality** ``low <= high``: by construction for two numerical columns
  without nulls: the generator learns ``high - low`` (a reparametrisation) and
  sampling rebuilds ``high = low + max(difference, 0)``. Two datetime columns, or
  columns with nulls, by vectorized rejection.
* **fixed combinations**: by vectorized rejection against the combinations seen in
  the real table (stored in the model as category codes).
* **formula**: by construction. The column is not learned; it is computed from the
  sampled inputs and rounded to its decimals.

Rejection happens in model space, on whole chunks, before rows become Arrow
(:mod:`synth_ray.conditional_rows`); the checks use each column's final values (after
clipping and rounding), so what is accepted is exactly what is written.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from synth_ray.constraints.declarations import (
    Constraint,
    FixedCombinations,
    FormulaConstraint,
    Inequality,
    RangeConstraint,
    parse_constraints,
)
from synth_ray.errors import ArtifactError, ConfigError, DataError, SynthRayError
from synth_ray.metadata import ColumnKind, TableMetadata
from synth_ray.transforms.categorical import CategoricalTransform
from synth_ray.transforms.model_frame import ModelColumn, ModelFrame
from synth_ray.transforms.numerical import NumericalTransform
from synth_ray.transforms.table_transformer import TableTransformer

__all__ = ["ConstraintSet"]

_MAX_KEY = 1 << 62


def _transforms(transformer: TableTransformer) -> dict[str, Any]:
    return {t.name: t for t in transformer.learned}


def _final_values(frame: ModelFrame, transformer: TableTransformer, name: str) -> pa.Array:
    """A learned column's values as they will be written (clipped, rounded, typed)."""
    transform = _transforms(transformer)[name]
    return transform.inverse(frame.values[name], frame.nulls.get(name))


def _floats(values: pa.Array | pa.ChunkedArray) -> np.ndarray:
    """Float64 values, nulls as NaN."""
    return np.asarray(pc.cast(values, pa.float64()).to_numpy(zero_copy_only=False), dtype=np.float64)


def _first_bad(bad: np.ndarray, what: str, total: int) -> DataError:
    rows = np.flatnonzero(bad)
    return DataError(f"constraint {what} does not hold in {rows.size:,} of {total:,} real rows "
                     f"(first: row {int(rows[0])}); fix the data or the constraint, or drop it")


class ConstraintSet:
    """The constraints of one model, with what was learned about them from the real table.

    Args:
        constraints: the declarations, in spec order.
        combinations: for each fixed-combinations constraint (by position), the sorted
            keys of the code combinations seen in the real table.
        reparametrised: positions of the inequalities learned as differences.
        radices: for each fixed-combinations constraint, the codes per column plus one (null).
    """

    def __init__(self, constraints: Sequence[Constraint] = (), *,
                 combinations: Mapping[int, np.ndarray] | None = None,
                 reparametrised: Sequence[int] = (),
                 radices: Mapping[int, Sequence[int]] | None = None) -> None:
        self.constraints = tuple(constraints)
        self.combinations = dict(combinations or {})
        self.radices = {k: tuple(v) for k, v in (radices or {}).items()}
        self.reparametrised = tuple(sorted(reparametrised))
        self.formulas = [c for c in self.constraints if isinstance(c, FormulaConstraint)]
        self._parsed = {c.column: c.formula for c in self.formulas}
        self._differences = [c for i, c in enumerate(self.constraints)
                             if i in self.reparametrised and isinstance(c, Inequality)]

    def __bool__(self) -> bool:
        return bool(self.constraints)

    def __len__(self) -> int:
        return len(self.constraints)

    # ----------------------------------------------------------------- fitting

    @classmethod
    def fit(cls, constraints: Sequence[Constraint], *, table: pa.Table, metadata: TableMetadata,
            transformer: TableTransformer) -> ConstraintSet:
        """Check ``constraints`` against the table and learn what enforcing them needs.

        Raises:
            ConfigError: a constraint names an unknown column or one of the wrong kind.
            DataError: the real rows break a constraint (no synthetic row could be trusted).
        """
        transforms = _transforms(transformer)
        combinations: dict[int, np.ndarray] = {}
        radices: dict[int, tuple[int, ...]] = {}
        reparametrised: list[int] = []
        highs: set[str] = set()
        used: set[str] = set()
        for i, constraint in enumerate(constraints):
            _check_kinds(constraint, metadata, transforms)
            _check_real_rows(constraint, table, transforms)
            if isinstance(constraint, RangeConstraint):
                _tighten(transforms[constraint.column], constraint)
            elif isinstance(constraint, FixedCombinations):
                radices[i] = tuple(transforms[c].model_column.n_categories + 1
                                   for c in constraint.columns)
                if int(np.prod([float(r) for r in radices[i]])) >= _MAX_KEY:
                    raise ConfigError(f"constraint {constraint.describe()!r}: the columns have too "
                                      "many categories together; list fewer columns")
                frame = ModelFrame(n_rows=table.num_rows)
                for name in constraint.columns:
                    codes, nulls = transforms[name].forward(table.column(name))
                    frame.values[name] = codes
                    if nulls is not None:
                        frame.nulls[name] = nulls
                combinations[i] = np.unique(_keys(frame, constraint.columns, radices[i]))
            elif isinstance(constraint, Inequality) and _reparametrisable(
                    constraint, transforms, highs, used):
                reparametrised.append(i)
                highs.add(constraint.high)
                used.update(constraint.columns)
        return cls(constraints, combinations=combinations, reparametrised=reparametrised,
                   radices=radices)

    # ------------------------------------------------------------- model space

    def learned_columns(self, columns: Sequence[ModelColumn]) -> list[ModelColumn]:
        """The columns a generator learns: formula columns are computed, never learned."""
        return [c for c in columns if c.name not in self._parsed]

    def to_model_space(self, frame: ModelFrame) -> ModelFrame:
        """A fit's frame as the generator learns it: differences for inequalities, no formulas."""
        values = {k: v for k, v in frame.values.items() if k not in self._parsed}
        nulls = {k: v for k, v in frame.nulls.items() if k not in self._parsed}
        for inequality in self._differences:
            values[inequality.high] = values[inequality.high] - values[inequality.low]
        return ModelFrame(n_rows=frame.n_rows, values=values, nulls=nulls)

    def from_model_space(self, frame: ModelFrame, transformer: TableTransformer) -> ModelFrame:
        """Generated rows back in the transformer's model space (in place on ``frame``)."""
        transforms = _transforms(transformer)
        for inequality in self._differences:
            low = transforms[inequality.low]
            start = np.clip(frame.values[inequality.low], low.minimum, low.maximum)
            frame.values[inequality.high] = start + np.maximum(frame.values[inequality.high], 0.0)
        for name in self._parsed:  # placeholders: the formula fills the column after inverse
            frame.values[name] = np.zeros(frame.n_rows)
            if transforms[name].model_column.nullable:
                frame.nulls[name] = np.zeros(frame.n_rows, dtype=bool)
        return frame

    def accept(self, frame: ModelFrame, transformer: TableTransformer) -> np.ndarray:
        """Which rows of ``frame`` (see :meth:`from_model_space`) meet every constraint."""
        ok = np.ones(frame.n_rows, dtype=bool)
        for i, constraint in enumerate(self.constraints):
            if isinstance(constraint, RangeConstraint):
                x = _floats(_final_values(frame, transformer, constraint.column))
                lo = -np.inf if constraint.min is None else constraint.min
                hi = np.inf if constraint.max is None else constraint.max
                ok &= np.isnan(x) | ((x >= lo) & (x <= hi))
            elif isinstance(constraint, Inequality):
                low = _final_values(frame, transformer, constraint.low)
                high = _final_values(frame, transformer, constraint.high)
                ok &= np.asarray(pc.fill_null(pc.less_equal(low, high), True))
            elif isinstance(constraint, FixedCombinations):
                keys = _keys(frame, constraint.columns, self.radices[i])
                seen = self.combinations[i]
                where = np.minimum(np.searchsorted(seen, keys), seen.size - 1)
                ok &= seen[where] == keys
        return ok

    def impossible(self, fixed: Mapping[str, int]) -> str | None:
        """The fixed-combinations constraint that codes fixed in every row can never meet."""
        for i, constraint in enumerate(self.constraints):
            if isinstance(constraint, FixedCombinations) and all(
                    fixed.get(c, -1) >= 0 for c in constraint.columns):
                frame = ModelFrame(n_rows=1, values={c: np.array([fixed[c]])
                                                     for c in constraint.columns})
                key = _keys(frame, constraint.columns, self.radices[i])
                if not np.isin(key, self.combinations[i]).all():
                    return constraint.describe()
        return None

    def complete(self, table: pa.Table, transformer: TableTransformer) -> pa.Table:
        """``table`` with every formula column computed from its inputs."""
        transforms = _transforms(transformer)
        for constraint in self.formulas:
            values = _formula_values(constraint, table, transforms[constraint.column].decimals)
            index = table.schema.get_field_index(constraint.column)
            field = table.schema.field(index)
            table = table.set_column(index, field, _typed(values, field.type))
        return table

    # ---------------------------------------------------------------- artifact

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form kept in ``model.json``."""
        return {"constraints": [c.to_dict() for c in self.constraints],
                "reparametrised": list(self.reparametrised),
                "combinations": {str(i): {"radices": list(self.radices[i]),
                                          "keys": [int(k) for k in keys]}
                                 for i, keys in self.combinations.items()}}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any] | None) -> ConstraintSet:
        """Inverse of :meth:`to_dict` (``None``: a model without constraints)."""
        if not data:
            return cls()
        try:
            constraints = parse_constraints(data["constraints"])
            combos = {int(i): entry for i, entry in data.get("combinations", {}).items()}
            reparametrised = [int(i) for i in data.get("reparametrised", [])]
        except (SynthRayError, KeyError, TypeError, ValueError, AttributeError) as exc:
            raise ArtifactError(f"the model's constraints are malformed ({exc}); refit the model"
                                ) from None
        if any(not isinstance(constraints[i] if i < len(constraints) else None, FixedCombinations)
               for i in combos) or any(
                   not isinstance(constraints[i] if i < len(constraints) else None, Inequality)
                   for i in reparametrised):
            raise ArtifactError("the model's constraints do not match their learned parts; refit")
        return cls(constraints,
                   combinations={i: np.asarray(e["keys"], dtype=np.int64) for i, e in combos.items()},
                   radices={i: [int(r) for r in e["radices"]] for i, e in combos.items()},
                   reparametrised=reparametrised)


def _keys(frame: ModelFrame, columns: Sequence[str], radices: Sequence[int]) -> np.ndarray:
    """One int64 per row encoding its codes in ``columns`` (null counts as its own value)."""
    key = np.zeros(frame.n_rows, dtype=np.int64)
    for name, radix in zip(columns, radices, strict=True):
        code = frame.values[name].astype(np.int64) + 1
        nulls = frame.nulls.get(name)
        if nulls is not None:
            code = np.where(nulls, 0, code)
        key = key * radix + code
    return key


def _check_kinds(constraint: Constraint, metadata: TableMetadata,
                 transforms: Mapping[str, Any]) -> None:
    what = f"constraint {constraint.describe()!r}"
    for name in constraint.columns:
        if name not in metadata.names:
            from synth_ray.config_checks import unknown_name_message

            raise ConfigError(f"{what}: " + unknown_name_message(name, metadata.names, what="column"))
    if isinstance(constraint, FixedCombinations):
        need: tuple[type, ...] = (CategoricalTransform,)
        label = "categorical or boolean"
    elif isinstance(constraint, Inequality) and metadata[constraint.low].kind is ColumnKind.DATETIME:
        if metadata.arrow_schema.field(constraint.low).type != metadata.arrow_schema.field(
                constraint.high).type:
            raise ConfigError(f"{what}: datetime columns compared by an inequality need the same "
                              "type (unit and time zone)")
        return
    else:
        need, label = (NumericalTransform,), "numerical"
    for name in constraint.columns:
        if not isinstance(transforms.get(name), need):
            raise ConfigError(f"{what}: column {name!r} is {metadata[name].kind.value}, the "
                              f"constraint needs {label} columns" + (
                                  " (or two datetime columns)" if isinstance(constraint, Inequality)
                                  else ""))


def _formula_values(constraint: FormulaConstraint, table: pa.Table,
                    decimals: int | None) -> np.ndarray:
    """The formula on ``table``'s columns, rounded to the target's decimals; NaN where undefined."""
    values = constraint.formula.evaluate({c: _floats(table.column(c))
                                          for c in constraint.formula.columns})
    values = np.where(np.isfinite(values), values, np.nan)
    return np.round(values, decimals) if decimals is not None else values


def _typed(values: np.ndarray, arrow_type: pa.DataType) -> pa.Array:
    missing = np.isnan(values)
    filled = np.where(missing, 0.0, values).astype(arrow_type.to_pandas_dtype())
    return pa.array(filled, type=arrow_type, mask=missing if missing.any() else None)


def _check_real_rows(constraint: Constraint, table: pa.Table, transforms: Mapping[str, Any]) -> None:
    n, what = table.num_rows, repr(constraint.describe())
    if isinstance(constraint, RangeConstraint):
        x = _floats(table.column(constraint.column))
        lo = -np.inf if constraint.min is None else constraint.min
        hi = np.inf if constraint.max is None else constraint.max
        bad = ~np.isnan(x) & ((x < lo) | (x > hi))
    elif isinstance(constraint, Inequality):
        holds = pc.less_equal(table.column(constraint.low), table.column(constraint.high))
        bad = ~np.asarray(pc.fill_null(holds, True).to_numpy(zero_copy_only=False))
    elif isinstance(constraint, FormulaConstraint):
        real = _floats(table.column(constraint.column))
        decimals = transforms[constraint.column].decimals
        computed = _formula_values(constraint, table, decimals)
        tolerance = (0.5 * 10.0 ** -decimals if decimals is not None else 1e-12) + 1e-9 * np.abs(real)
        both = ~np.isnan(real) & ~np.isnan(computed)
        bad = np.zeros(n, dtype=bool)
        bad[both] = np.abs(real[both] - computed[both]) > tolerance[both]
    else:
        return
    if bad.any():
        raise _first_bad(bad, what, n)


def _tighten(transform: NumericalTransform, constraint: RangeConstraint) -> None:
    """Clip the column's transform to the declared range (its values are already inside)."""
    if constraint.min is not None:
        transform.minimum = max(transform.minimum, constraint.min)
    if constraint.max is not None:
        transform.maximum = min(transform.maximum, constraint.max)


def _reparametrisable(constraint: Inequality, transforms: Mapping[str, Any], highs: set[str],
                      used: set[str]) -> bool:
    """Whether ``high`` can be learned as ``high - low``.

    Both columns numerical without nulls; ``high`` in no earlier learned difference and
    ``low`` not rebuilt by one, so one pass in spec order restores every column.
    """
    low, high = transforms[constraint.low], transforms[constraint.high]
    return (isinstance(low, NumericalTransform) and isinstance(high, NumericalTransform)
            and not low.nullable and not high.nullable
            and constraint.high not in used and constraint.low not in highs)
