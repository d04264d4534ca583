"""Torch settings and seeds: where a neural model's randomness and threads come from.

Every random draw of a fit comes from :class:`FitSeeds`, derived from the fit seed by
:class:`numpy.random.SeedSequence` (one independent stream per purpose), and every
draw of a sample from a :class:`torch.Generator` seeded by the numpy generator the
sampler hands in. Torch's global random state is never used or changed.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import numpy as np
import torch

__all__ = ["FitSeeds", "fitting_runtime", "generator_from_rng", "torch_generator"]

_SEED_MASK = (1 << 63) - 1


def torch_generator(seed: int) -> torch.Generator:
    """A CPU generator seeded with ``seed``."""
    return torch.Generator().manual_seed(int(seed) & _SEED_MASK)


def generator_from_rng(rng: np.random.Generator) -> torch.Generator:
    """A torch generator seeded by one draw of ``rng`` (so a chunk's rng fixes its rows)."""
    return torch_generator(int(rng.integers(0, _SEED_MASK, dtype=np.int64)))


@dataclass(frozen=True)
class FitSeeds:
    """Independent seeds for each random part of a fit.

    Attributes:
        encoding: the mixtures' initialisation and subsampling.
        modes: drawing each value's mode from its posterior while encoding.
        split: the validation split.
        init: network parameters.
        train: batches, noise, dropout and Gumbel noise while training.
        validation: the rows generated to score the model (the same each time).
        calibration: the batches that recompute batch-norm statistics.
    """

    encoding: int
    modes: int
    split: int
    init: int
    train: int
    validation: int
    calibration: int

    @classmethod
    def from_seed(cls, seed: int) -> FitSeeds:
        """Seven streams spawned from ``seed``."""
        children = np.random.SeedSequence(seed).spawn(7)
        values = [int(c.generate_state(1, dtype=np.uint64)[0]) & _SEED_MASK for c in children]
        return cls(*values)


@contextmanager
def fitting_runtime(threads: int) -> Iterator[None]:
    """Fit with ``threads`` intra-op threads, then restore the previous count.

    Every op the neural models run on CPU (matrix products, gathers, ``index_select``
    and its backward, ``scatter_`` of ones) gives the same result for the same inputs
    and thread count, so the same seed gives the same model (tested). The models run
    on CPU only; ``torch.use_deterministic_algorithms`` matters for CUDA kernels and is
    not switched on here: it is process-wide state, and enabling it imports torch's
    compiler stack (seconds per fit).
    """
    previous_threads = torch.get_num_threads()
    torch.set_num_threads(threads)
    try:
        yield
    finally:
        torch.set_num_threads(previous_threads)
