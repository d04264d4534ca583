"""Conditional sampling requests: fixed values per row and rebalanced categories.

``fixed`` is a :class:`ModelFrame` of ``n`` rows holding some of the model's columns:
each given value is kept in its row and the other columns are generated given it
(imputation, "seeded" generation). A row whose entry is null in ``fixed.nulls`` is
not fixed for that column: it is generated, so a forward-transformed table with
gaps conditions on exactly its known cells. ``rebalance`` maps a discrete column to
probabilities per category code: that column is drawn from them first and the rest
of each row is generated given it. Values fixed explicitly win over rebalanced ones.
Everything is validated here, with messages that name the column.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np

from synth_ray.errors import SamplingError
from synth_ray.models.autoregressive.table_tokens import TableTokens
from synth_ray.transforms.model_frame import ModelColumnType, ModelFrame

__all__ = ["TokenConditions", "build_conditions", "check_temperature"]


@dataclass
class TokenConditions:
    """What is fixed, as tokens for the network and as exact values for the output.

    Attributes:
        tokens: ``(n, n_tokens)`` int64 classes of the fixed tokens (0 elsewhere).
        known: ``(n, n_tokens)`` bool, True where a token is fixed.
        exact: per fixed column, ``(rows, values)``: the given values written back.
    """

    tokens: np.ndarray
    known: np.ndarray
    exact: dict[str, tuple[np.ndarray, np.ndarray]] = field(default_factory=dict)

    def fix(self, table: TableTokens, name: str, rows: np.ndarray, values: np.ndarray) -> None:
        """Fix column ``name`` to ``values`` in the rows of the boolean mask ``rows``."""
        index = [c.name for c in table.columns].index(name)
        part = table.token_slice(index)
        codec = table.codecs[index]
        self.tokens[rows, part] = codec.encode(values[rows], None)
        self.known[rows, part] = True
        if name in self.exact:  # explicitly fixed values win over rebalanced ones
            earlier_rows, earlier = self.exact[name]
            self.exact[name] = (earlier_rows | rows, np.where(rows, values, earlier))
        else:
            self.exact[name] = (rows, values)

    def apply(self, frame: ModelFrame) -> ModelFrame:
        """Write the exact fixed values (and "not null") into the decoded ``frame``."""
        for name, (rows, values) in self.exact.items():
            column = frame.values[name]
            frame.values[name] = np.where(rows, values.astype(column.dtype), column)
            if name in frame.nulls:
                frame.nulls[name] = frame.nulls[name] & ~rows
        return frame


def check_temperature(temperature: float) -> float:
    """``temperature`` if it is a finite number > 0."""
    if (isinstance(temperature, bool) or not isinstance(temperature, int | float)
            or not np.isfinite(temperature) or temperature <= 0):
        raise SamplingError(f"temperature must be a finite number > 0 (1 samples the learned "
                            f"distribution, lower is more conservative), got {temperature!r}")
    return float(temperature)


def _fixed_values(table: TableTokens, fixed: ModelFrame, n: int, name: str
                  ) -> tuple[np.ndarray, np.ndarray]:
    """Validated values and the rows they fix, for one column of ``fixed``."""
    column = next(c for c in table.columns if c.name == name)
    values = np.asarray(fixed.values[name])
    nulls = fixed.nulls.get(name)
    rows = np.ones(n, dtype=bool) if nulls is None else ~np.asarray(nulls, dtype=bool)
    if values.shape != (n,) or rows.shape != (n,):
        raise SamplingError(f"fixed column {name!r} has shape {values.shape}; it needs one value "
                            f"per row ({n} rows)")
    given = values[rows]
    if column.type is ModelColumnType.DISCRETE:
        if given.size and (not np.all(np.isfinite(given.astype(np.float64)))
                           or np.any(given != np.round(given)) or given.min() < 0
                           or given.max() >= column.n_categories):
            raise SamplingError(f"fixed column {name!r} holds codes outside [0, "
                                f"{column.n_categories}); give known categories")
        return values.astype(np.int64) * rows, rows
    values = values.astype(np.float64)
    if not np.all(np.isfinite(given)):
        raise SamplingError(f"fixed column {name!r} holds NaN or infinite values; mark rows that "
                            "are not fixed as null instead")
    return np.where(rows, values, 0.0), rows


def _draw_rebalanced(table: TableTokens, name: str, probs: object, n: int,
                     rng: np.random.Generator) -> np.ndarray:
    """Codes of column ``name`` drawn from the requested ``probs``."""
    column = next((c for c in table.columns if c.name == name), None)
    if column is None or column.type is not ModelColumnType.DISCRETE:
        raise SamplingError(f"cannot rebalance {name!r}: only a learned categorical or boolean "
                            "column can be rebalanced")
    p = np.asarray(probs, dtype=np.float64)
    if p.shape != (column.n_categories,) or not np.all(np.isfinite(p)) or p.min() < 0 \
            or p.sum() <= 0:
        raise SamplingError(f"rebalance of {name!r} needs {column.n_categories} non-negative "
                            f"weights (one per category code) with a positive sum, got {p.shape}")
    cdf = np.cumsum(p / p.sum())
    return np.minimum(np.searchsorted(cdf, rng.random(n), side="right"), p.size - 1)


def build_conditions(table: TableTokens, n: int, *, fixed: ModelFrame | None,
                     rebalance: Mapping[str, object] | None,
                     rng: np.random.Generator) -> TokenConditions | None:
    """The request as tokens, or ``None`` when nothing is fixed or rebalanced."""
    if not fixed and not rebalance:
        return None
    names = {c.name for c in table.columns}
    conditions = TokenConditions(tokens=np.zeros((n, table.n_tokens), dtype=np.int64),
                                 known=np.zeros((n, table.n_tokens), dtype=bool))
    for name in sorted(rebalance or {}):
        codes = _draw_rebalanced(table, name, (rebalance or {})[name], n, rng)
        conditions.fix(table, name, np.ones(n, dtype=bool), codes)
    if fixed is not None:
        if fixed.n_rows != n:
            raise SamplingError(f"fixed values have {fixed.n_rows} rows; sampling {n} rows needs "
                                f"one fixed row per sampled row")
        for name in fixed.values:
            if name not in names:
                raise SamplingError(f"fixed column {name!r} is not a learned column; learned "
                                    f"columns are {sorted(names)}")
            values, rows = _fixed_values(table, fixed, n, name)
            conditions.fix(table, name, rows, values)
    return conditions
