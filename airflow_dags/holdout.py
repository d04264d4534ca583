"""The holdout: real rows the model never learns, kept back so that the gate can judge privacy.

Whether a synthetic table memorized its training rows can only be told against real
rows the generator never saw (see :mod:`synth_ray.evaluation.privacy`). The refresh
therefore splits the source before fitting: a row is held out when a salted 64-bit
hash of all its values, read as a number in ``[0, 1)``, is below the config's
``holdout_fraction`` (default 0.2). The split is

* deterministic: the same source gives the same split in every task and every run, so
  the fit, the gate and the report agree without passing rows between tasks;
* stable: a row keeps its side when other rows are added or removed, so a row held out
  once is never learned by a later refit;
* by value: equal rows share a side, so a duplicated row cannot sit in both halves and
  make an honest generator look like it copies the holdout's twin from training.

The salt is the table's name and seed value, so two tables with the same rows split
independently. The share held out is ``fraction`` on average, not exactly.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

__all__ = ["HoldoutSplit", "split_holdout"]

_GOLDEN = np.uint64(0x9E3779B97F4A7C15)
_M1, _M2 = np.uint64(0xBF58476D1CE4E5B9), np.uint64(0x94D049BB133111EB)


def _mix(values: np.ndarray) -> np.ndarray:
    """SplitMix64's finalizer: every output bit depends on every input bit."""
    with np.errstate(over="ignore"):
        z = values + _GOLDEN
        z = (z ^ (z >> np.uint64(30))) * _M1
        z = (z ^ (z >> np.uint64(27))) * _M2
        return z ^ (z >> np.uint64(31))


def _unit(table: pa.Table, salt: str) -> np.ndarray:
    """Each row's salted hash as a float in ``[0, 1)``."""
    from synth_ray.evaluation.row_hashes import row_hashes

    key = np.uint64(int.from_bytes(hashlib.sha256(salt.encode()).digest()[:8], "little"))
    hashed = _mix(row_hashes(table, table.column_names) ^ key)
    return (hashed >> np.uint64(11)).astype(np.float64) / float(1 << 53)


@dataclass(frozen=True)
class HoldoutSplit:
    """The source split into the rows the model learns and the rows it never sees.

    Attributes:
        training: the rows to fit on.
        holdout: the rows held out (empty when ``fraction`` is 0).
        fraction: the configured share held out.
        salt: what the row hashes were salted with.
    """

    training: pa.Table
    holdout: pa.Table
    fraction: float
    salt: str

    def summary(self) -> dict[str, Any]:
        """JSON-ready description for the gate record and the run summary."""
        total = self.training.num_rows + self.holdout.num_rows
        return {"fraction": self.fraction, "training_rows": self.training.num_rows,
                "holdout_rows": self.holdout.num_rows,
                "held_out_share": round(self.holdout.num_rows / total, 6) if total else 0.0,
                "method": "salted hash of each row's values", "salt": self.salt}


def split_holdout(table: pa.Table, *, fraction: float, salt: str) -> HoldoutSplit:
    """Split ``table`` into training and holdout rows by a salted hash of each row.

    Args:
        table: the real table.
        fraction: share of rows to hold out, in ``[0, 1)``; 0 keeps every row for training.
        salt: any text; the same salt gives the same split.
    """
    if fraction <= 0 or table.num_rows == 0:
        return HoldoutSplit(training=table, holdout=table.slice(0, 0), fraction=fraction, salt=salt)
    held = pa.array(_unit(table, salt) < fraction)
    return HoldoutSplit(training=table.filter(pc.invert(held)), holdout=table.filter(held),
                        fraction=fraction, salt=salt)
