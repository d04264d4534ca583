"""Where every random number in sampling comes from.

Chunk ``i`` of a sample with seed ``s`` draws from a generator seeded by
``SeedSequence(entropy=s, spawn_key=(i, stream))``: independent of which process,
partition or retry produces the chunk, and of how many chunks there are. Stream 0
feeds the model; stream ``1 + j`` feeds generated column ``j`` (ids, pii), so adding
a pii column never changes the learned columns' values.
"""

from __future__ import annotations

import numpy as np

from synth_ray.errors import SamplingError

__all__ = ["MODEL_STREAM", "check_seed", "chunk_rng"]

MODEL_STREAM = 0


def check_seed(seed: int) -> int:
    """Return ``seed`` if it is a non-negative integer, else raise :class:`SamplingError`."""
    if isinstance(seed, bool) or not isinstance(seed, int | np.integer) or seed < 0:
        raise SamplingError(f"seed must be a non-negative integer, got {seed!r}")
    return int(seed)


def chunk_rng(seed: int, chunk_index: int, stream: int = MODEL_STREAM) -> np.random.Generator:
    """The generator for ``stream`` of chunk ``chunk_index`` under ``seed``."""
    sequence = np.random.SeedSequence(entropy=seed, spawn_key=(chunk_index, stream))
    return np.random.Generator(np.random.PCG64(sequence))
