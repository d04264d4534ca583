"""Model-space rows that meet per-row conditions and the model's constraints.

A generator first *proposes* rows for the required codes (:meth:`Generator.propose`:
the copula draws from its conditional Gaussian, CTGAN sets its conditional vector; a
model without a direct mechanism, like TVAE, proposes unconditional rows). Every
proposed row is then checked, vectorized, against its own conditions and the
constraints; rows that miss are proposed again with several candidates each, in a
bounded number of rounds. Every draw comes from the chunk's generator, in an order
fixed by the inputs, so the rows depend only on ``(model, seed, chunk index)``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING

import numpy as np

from synth_ray.conditions import FREE
from synth_ray.errors import SamplingError
from synth_ray.transforms.model_frame import ModelFrame

if TYPE_CHECKING:
    from synth_ray.synthesizer import Synthesizer

__all__ = ["MAX_CANDIDATES", "MAX_ROUNDS", "conditional_frame", "meets_conditions"]

MAX_ROUNDS = 16
MAX_CANDIDATES = 1 << 20  # candidate rows per round: bounds memory (tens of MB per column)


def meets_conditions(frame: ModelFrame, required: Mapping[str, np.ndarray]) -> np.ndarray:
    """Rows whose codes equal their required codes (present, not null) wherever one is set."""
    ok = np.ones(frame.n_rows, dtype=bool)
    for column, codes in required.items():
        hit = frame.values[column] == codes
        nulls = frame.nulls.get(column)
        if nulls is not None:
            hit &= ~nulls
        ok &= (codes == FREE) | hit
    return ok


def _empty_like(frame: ModelFrame, n: int) -> ModelFrame:
    return ModelFrame(n_rows=n, values={k: np.empty(n, dtype=v.dtype) for k, v in frame.values.items()},
                      nulls={k: np.zeros(n, dtype=bool) for k in frame.nulls})


def _put(out: ModelFrame, rows: np.ndarray, frame: ModelFrame, take: np.ndarray) -> None:
    for key, values in frame.values.items():
        out.values[key][rows] = values[take]
    for key, nulls in frame.nulls.items():
        out.nulls[key][rows] = nulls[take]


def conditional_frame(synth: Synthesizer, n: int, *, rng: np.random.Generator,
                      required: Mapping[str, np.ndarray],
                      describe: Callable[[dict[str, int]], str]) -> ModelFrame:
    """``n`` rows in the transformer's model space, each meeting its conditions and the constraints.

    Args:
        synth: the model (generator, transformer, constraints).
        n: rows.
        rng: the chunk's model generator (the only source of randomness).
        required: per conditioned column, each row's required code (``FREE``: none).
        describe: a row's conditions as text, for the error when they are too rare.

    Raises:
        SamplingError: after :data:`MAX_ROUNDS` rounds some rows still miss their
            conditions or the constraints (they are too rare for this model).
    """
    constraints = synth.constraints
    pending = np.arange(n)
    out: ModelFrame | None = None
    rate, proposed = 1.0, 0
    for _ in range(MAX_ROUNDS):
        per_row = int(min(max(1, np.ceil(2.0 / rate)), max(1, MAX_CANDIDATES // pending.size)))
        want = {c: np.repeat(codes[pending], per_row) for c, codes in required.items()}
        candidates = synth.generator.propose(pending.size * per_row, rng=rng, required=want)
        candidates = constraints.from_model_space(candidates, synth.transformer)
        ok = meets_conditions(candidates, want)
        if constraints:
            ok &= constraints.accept(candidates, synth.transformer)
        proposed += ok.size
        grid = ok.reshape(pending.size, per_row)
        hit = grid.any(axis=1)
        out = out if out is not None else _empty_like(candidates, n)
        _put(out, pending[hit], candidates, np.flatnonzero(hit) * per_row + grid.argmax(axis=1)[hit])
        rate = max(float(ok.mean()), 1.0 / (4.0 * per_row * max(pending.size, 1)), 1e-6)
        pending = pending[~hit]
        if not pending.size:
            return out
    row = int(pending[0])
    missing = {c: int(codes[row]) for c, codes in required.items()}
    what = describe(missing) if any(v != FREE for v in missing.values()) else "no condition"
    constrained = f" and the constraints ({len(constraints)})" if constraints else ""
    raise SamplingError(
        f"the {synth.training.model} model rarely makes rows with {what}{constrained}: "
        f"{pending.size:,} of {n:,} rows still missed them after {proposed:,} proposals "
        f"({MAX_ROUNDS} rounds). Relax the condition, use a model that conditions directly "
        "(copula, ctgan), or fit on data where the combination is more common")
