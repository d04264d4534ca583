"""How much data each metric looks at, and the one seed behind every random choice.

Evaluating 10 million synthetic rows exactly would take minutes and gigabytes for
no benefit: every metric here is an average, and its error on a uniform sample of
``n`` rows shrinks like ``1 / sqrt(n)``. So each metric runs on a stated sample size,
drawn with a stated seed, and the report says which.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, fields
from typing import Any

import numpy as np

from synth_ray.errors import ConfigError

__all__ = ["EvaluationSettings", "int_seed", "rng_for"]


@dataclass(frozen=True)
class EvaluationSettings:
    """Sample sizes and seed of an evaluation.

    Attributes:
        seed: seed of the row samples, the pair sample, the folds and the models.
        fidelity_rows: rows of each table (real, synthetic, holdout) sampled for column
            shapes, pair trends, coverage and diversity. At 100,000 the quality score's
            sampling error is about 0.001.
        detection_rows: rows of each class (real, synthetic) for the detection classifier.
        detection_folds: cross-validation folds of the detection classifier.
        utility_rows: training rows of each utility model (the same number for the
            real-trained and the synthetic-trained one) and test rows of the holdout.
        privacy_rows: synthetic rows whose nearest neighbours are searched, and rows of
            training and holdout data searched (the same number of each, so that a
            synthetic row is as likely to be nearer either when it copies neither).
        max_pairs: column pairs scored at most; beyond that, a seeded sample of pairs.
        replicates: disjoint sub-samples used to estimate the sampling error of the
            quality score when a table was sampled.
        threads: threads of the model fits and neighbour searches (OpenMP and BLAS).
            One by default: on a shared machine, OpenMP's spinning threads can make a
            two-thread fit several times slower than a one-thread fit.
    """

    seed: int = 0
    fidelity_rows: int = 100_000
    detection_rows: int = 10_000
    detection_folds: int = 5
    utility_rows: int = 20_000
    privacy_rows: int = 10_000
    max_pairs: int = 1_000
    replicates: int = 5
    threads: int = 1

    def __post_init__(self) -> None:
        minimum = {"seed": 0, "detection_folds": 2, "replicates": 2}
        for f in fields(self):
            value = getattr(self, f.name)
            low = minimum.get(f.name, 1)
            if isinstance(value, bool) or not isinstance(value, int) or value < low:
                raise ConfigError(
                    f"evaluation setting {f.name!r} must be an integer >= {low}, got {value!r}"
                )

    @classmethod
    def from_mapping(cls, data: Mapping[str, Any]) -> EvaluationSettings:
        """Settings from a dict; unknown keys are refused with the nearest valid one."""
        from synth_ray.config_checks import check_keys

        check_keys(data, allowed=[f.name for f in fields(cls)], where="evaluation settings")
        return cls(**dict(data))

    def to_dict(self) -> dict[str, int]:
        """JSON-ready form."""
        return {f.name: getattr(self, f.name) for f in fields(self)}


_STREAMS = ("real", "synthetic", "holdout", "pairs", "detection", "utility", "privacy", "replicates")


def rng_for(seed: int, purpose: str) -> np.random.Generator:
    """An independent generator for one ``purpose`` of an evaluation with ``seed``.

    Each purpose (a table's sample, the pair sample, each metric) draws from its own
    ``SeedSequence(seed, spawn_key=(stream,))``, so running one more metric, or one
    fewer, never changes the rows another metric sees.
    """
    sequence = np.random.SeedSequence(entropy=seed, spawn_key=(_STREAMS.index(purpose),))
    return np.random.Generator(np.random.PCG64(sequence))


def int_seed(rng: np.random.Generator) -> int:
    """A 31-bit seed drawn from ``rng``, for libraries that take an int (scikit-learn)."""
    return int(rng.integers(0, 2**31 - 1))
