"""Conditions on sampled rows: fixed values, a target distribution, or one condition per row.

``sample(n, conditions={"cut": "Ideal"})`` fixes categorical or boolean columns in
every row; ``distribution={"cut": {"Ideal": 0.5, "Fair": 0.5}}`` rebalances one
column to exact counts; a DataFrame of conditions gives row ``r`` of the sample the
conditions of its row ``r`` (a missing value leaves that cell free).

:func:`plan_conditions` checks the request against the model and turns it into a
:class:`ConditionPlan` in model space (category codes). The plan says, for any chunk,
which code each of its rows must take: a pure function of ``(plan, seed, chunk
index)``, so chunks stay independent and the partition-invariant sampling contract
holds. A distribution's exact counts are spread over the whole sample by a Weyl
sequence: row ``r`` takes position ``(r * a + b) mod n`` in the list of ``n`` target
values (``a`` coprime with ``n``, near ``n`` times the golden ratio), which gives each
value exactly its count over ``n`` rows and every chunk nearly its share.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from synth_ray.config_checks import unknown_name_message
from synth_ray.errors import SamplingError
from synth_ray.transforms.categorical import RARE_TOKEN, CategoricalTransform

if TYPE_CHECKING:
    from synth_ray.synthesizer import Synthesizer

__all__ = ["ConditionPlan", "Conditions", "Distribution", "conditions_from_text",
           "distribution_from_text", "exact_counts", "plan_conditions"]

Conditions = Mapping[str, Any] | pd.DataFrame
Distribution = Mapping[str, Mapping[Any, float]]

FREE = -1  # "no condition" in a row's required codes
_MAX_PLANNED_ROWS = 1 << 46  # Weyl positions stay exact in int64 arithmetic


def exact_counts(weights: np.ndarray, n: int) -> np.ndarray:
    """``n`` split by ``weights`` into integers (largest remainder; ties to the first)."""
    share = weights / weights.sum() * n
    counts = np.floor(share).astype(np.int64)
    remainder = n - int(counts.sum())
    if remainder:
        order = np.argsort(-(share - counts), kind="stable")
        counts[order[:remainder]] += 1
    return counts


def _weyl_step(n: int) -> int:
    """An integer near ``n / golden ratio`` that is coprime with ``n``."""
    a = max(1, round(n * (math.sqrt(5.0) - 1.0) / 2.0))
    while math.gcd(a, n) != 1:
        a += 1
    return a


@dataclass(frozen=True)
class ConditionPlan:
    """Which category code each row must take, column by column.

    Attributes:
        columns: the conditioned columns.
        fixed: per column, the code every row takes (``FREE`` for the distribution's column
            and for per-row columns).
        values: per column, the category for each code (for messages).
        distribution: ``(column position, codes, exact counts)`` of a rebalanced column.
        per_row: ``(total rows, columns)`` codes for per-row conditions (``FREE``: no condition).
        total_rows: rows of the whole sample (needed by a distribution and per-row conditions).
    """

    columns: tuple[str, ...]
    fixed: tuple[int, ...]
    values: tuple[tuple[Any, ...], ...]
    distribution: tuple[int, np.ndarray, np.ndarray] | None = None
    per_row: np.ndarray | None = None
    total_rows: int | None = None

    def required(self, *, seed: int, chunk_index: int, chunk_rows: int) -> dict[str, np.ndarray]:
        """Each conditioned column's required code for every row of chunk ``chunk_index``.

        Rows past ``total_rows`` (the unused tail of the last chunk) are left free.
        """
        start = chunk_index * chunk_rows
        rows = np.arange(start, start + chunk_rows, dtype=np.int64)
        out = {c: np.full(chunk_rows, code, dtype=np.int64)
               for c, code in zip(self.columns, self.fixed, strict=True)}
        if self.per_row is not None:
            stop = min(start + chunk_rows, self.per_row.shape[0])
            for j, column in enumerate(self.columns):
                if stop > start:
                    out[column][: stop - start] = self.per_row[start:stop, j]
                out[column][max(stop - start, 0):] = FREE
        if self.distribution is not None and self.total_rows:
            position, codes, counts = self.distribution
            n = self.total_rows
            offset = int(np.random.SeedSequence(seed).generate_state(1, dtype=np.uint64)[0]) % n
            a = _weyl_step(n)
            first = (start * a + offset) % n  # Python ints: exact for any n
            slots = (first + (np.arange(chunk_rows, dtype=np.int64) * (a % n)) % n) % n
            picked = codes[np.searchsorted(np.cumsum(counts), slots, side="right")]
            out[self.columns[position]][:] = np.where(rows < n, picked, FREE)
        return out

    def describe(self, column_codes: Mapping[str, int]) -> str:
        """A condition in values, e.g. ``cut='Ideal', color='J'``."""
        parts = [f"{c}={self.values[self.columns.index(c)][code]!r}"
                 for c, code in column_codes.items() if code != FREE]
        return ", ".join(parts) or "no condition"


def _conditionable(synth: Synthesizer) -> dict[str, CategoricalTransform]:
    return {t.name: t for t in synth.transformer.learned if isinstance(t, CategoricalTransform)}


def _transform(synth: Synthesizer, column: Any) -> CategoricalTransform:
    transforms = _conditionable(synth)
    if column in transforms:
        return transforms[column]
    names = synth.metadata.names
    if column in names:
        kind = synth.metadata[column].kind.value
        raise SamplingError(f"cannot condition on column {column!r}: it is {kind}; conditions fix "
                            f"categorical or boolean columns ({', '.join(map(repr, transforms))})")
    raise SamplingError("conditions name an " + unknown_name_message(
        str(column), list(transforms), what="conditionable column"))


def _code(transform: CategoricalTransform, value: Any) -> int:
    """The code of ``value``; text matches too (``"3"`` for 3, ``"true"`` for True: CLI values)."""
    categories = transform.categories
    for i, category in enumerate(categories):
        if category is value or (category == value and type(category) is not bool):
            return i
    text = str(value).strip().lower()
    matches = [i for i, c in enumerate(categories) if str(c).lower() == text]
    if len(matches) == 1:
        return matches[0]
    shown = ", ".join(repr(c) for c in categories[:30]) + (" ..." if len(categories) > 30 else "")
    if transform.rare_threshold:
        # Protected values are not stored, so the model cannot tell one from a value never
        # seen; either way no synthetic row takes it.
        rare = (f"; their rows are emitted as {RARE_TOKEN!r}, which can be conditioned on"
                if RARE_TOKEN in categories else "")
        raise SamplingError(
            f"column {transform.name!r}: the value {value!r} is protected or unknown: rare-category "
            f"protection never emits a value seen in fewer than {transform.rare_threshold} real "
            f"rows{rare}; condition on one of: {shown}")
    raise SamplingError(f"column {transform.name!r} never takes the value {value!r} in the real "
                        f"table, so no synthetic row can; valid values: {shown}")


def _distribution(synth: Synthesizer, distribution: Distribution, rows: int | None,
                  taken: Sequence[str]) -> tuple[str, np.ndarray, np.ndarray]:
    if not isinstance(distribution, Mapping) or len(distribution) != 1:
        raise SamplingError("distribution rebalances one column, e.g. "
                            "{'cut': {'Ideal': 0.5, 'Fair': 0.5}}")
    (column, target), = distribution.items()
    transform = _transform(synth, column)
    if column in taken:
        raise SamplingError(f"column {column!r} has both a condition and a distribution; keep one")
    if not isinstance(target, Mapping) or not target:
        raise SamplingError(f"the distribution of {column!r} must map values to weights, got {target!r}")
    codes = np.array([_code(transform, v) for v in target], dtype=np.int64)
    weights = np.array([_weight(column, v, w) for v, w in target.items()], dtype=np.float64)
    if len(set(codes.tolist())) != codes.size:
        raise SamplingError(f"the distribution of {column!r} lists a value twice")
    if weights.sum() <= 0:
        raise SamplingError(f"the distribution of {column!r} needs a positive weight")
    if rows is None:
        raise SamplingError("a distribution's exact counts are over the whole sample: pass "
                            "total_rows=n (the sample's size) with sample_rows")
    return column, codes, exact_counts(weights, rows)


def _weight(column: str, value: Any, weight: Any) -> float:
    if isinstance(weight, bool) or not isinstance(weight, int | float) or not (
            math.isfinite(weight) and weight >= 0):
        raise SamplingError(f"the weight of {value!r} in the distribution of {column!r} must be a "
                            f"non-negative number, got {weight!r}")
    return float(weight)


def _per_row(synth: Synthesizer, frame: pd.DataFrame) -> tuple[list[str], np.ndarray]:
    columns = [str(c) for c in frame.columns]
    codes = np.full((len(frame), len(columns)), FREE, dtype=np.int64)
    for j, column in enumerate(columns):
        transform = _transform(synth, column)
        values = frame[column].astype(object)
        present = values.notna().to_numpy()
        lookup = {v: _code(transform, v) for v in pd.unique(values[present])}
        codes[present, j] = values[present].map(lookup).to_numpy(dtype=np.int64)
    return columns, codes


def plan_conditions(synth: Synthesizer, *, conditions: Conditions | None = None,
                    distribution: Distribution | None = None,
                    rows: int | None = None) -> ConditionPlan | None:
    """Check a request against ``synth`` and plan it (``None``: unconditional sampling).

    Args:
        synth: the fitted model.
        conditions: column -> value for every row, or a DataFrame with one row of
            conditions per sampled row.
        distribution: ``{column: {value: weight}}``: exact counts of each value.
        rows: the whole sample's size (a DataFrame's length by default).

    Raises:
        SamplingError: an unknown or non-categorical column, a value the column never
            takes, malformed weights, or sizes that disagree.
    """
    if conditions is None and not distribution:
        return None
    per_row = None
    if isinstance(conditions, pd.DataFrame):
        if rows is not None and rows != len(conditions):
            raise SamplingError(f"{len(conditions):,} rows of conditions for a sample of {rows:,} "
                                "rows: give one row of conditions per sampled row")
        rows = len(conditions)
        columns, per_row = _per_row(synth, conditions)
        fixed = [FREE] * len(columns)
    elif conditions is not None:
        if not isinstance(conditions, Mapping):
            raise SamplingError("conditions must map columns to values, e.g. {'cut': 'Ideal'}, "
                                f"or be a DataFrame of per-row conditions; got {type(conditions).__name__}")
        columns = [str(c) for c in conditions]
        fixed = [_code(_transform(synth, c), conditions[c]) for c in conditions]
    else:
        columns, fixed = [], []
    if rows is not None and rows > _MAX_PLANNED_ROWS:
        raise SamplingError(f"conditional samples are limited to {_MAX_PLANNED_ROWS:,} rows")
    planned = None
    if distribution:
        column, codes, counts = _distribution(synth, distribution, rows, columns)
        columns.append(column)
        fixed.append(FREE)
        if per_row is not None:
            per_row = np.concatenate([per_row, np.full((len(per_row), 1), FREE)], axis=1)
        planned = (len(columns) - 1, codes, counts)
    values = tuple(tuple(_conditionable(synth)[c].categories) for c in columns)
    blocked = synth.constraints.impossible(dict(zip(columns, fixed, strict=True)))
    if blocked is not None:
        shown = ", ".join(f"{c}={conditions[c]!r}" for c in columns if isinstance(conditions, Mapping)
                          and c in conditions)
        raise SamplingError(f"conditions {shown} never occur together in the real table, and the "
                            f"model's constraint {blocked!r} allows only combinations that do")
    return ConditionPlan(columns=tuple(columns), fixed=tuple(fixed), values=values,
                         distribution=planned, per_row=per_row, total_rows=rows)


def conditions_from_text(items: Sequence[str]) -> dict[str, str]:
    """``["cut=Ideal", "color=E"]`` (the CLI's ``--condition``) as ``{"cut": "Ideal", ...}``."""
    out: dict[str, str] = {}
    for item in items:
        column, sep, value = item.partition("=")
        if not sep or not column.strip():
            raise SamplingError(f"a condition reads COLUMN=VALUE, e.g. cut=Ideal; got {item!r}")
        if column.strip() in out:
            raise SamplingError(f"column {column.strip()!r} is conditioned twice; keep one")
        out[column.strip()] = value.strip()
    return out


def distribution_from_text(text: str) -> dict[str, dict[str, float]]:
    """``"cut=Ideal:0.5,Fair:0.5"`` (the CLI's ``--distribution``) as ``{"cut": {...}}``."""
    column, sep, rest = text.partition("=")
    example = "e.g. cut=Ideal:0.5,Fair:0.5"
    if not sep or not column.strip() or not rest.strip():
        raise SamplingError(f"a distribution reads COLUMN=VALUE:WEIGHT,..., {example}; got {text!r}")
    target: dict[str, float] = {}
    for part in rest.split(","):
        value, colon, weight = part.rpartition(":")
        try:
            target[value.strip()] = float(weight)
        except ValueError:
            colon = ""
        if not colon or not value.strip():
            raise SamplingError(f"{part!r} in distribution {text!r} is not VALUE:WEIGHT ({example})")
    return {column.strip(): target}
