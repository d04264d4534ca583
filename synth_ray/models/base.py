"""The interface every generator implements.

A generator learns a :class:`ModelFrame` and samples new ones. It never sees Arrow
types, nulls in values, ids or pii: the table transformer handles those. It draws
randomness only from the generator it is given, so chunked sampling is reproducible.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Mapping, Sequence
from typing import Any, ClassVar, Self

import numpy as np

from synth_ray.errors import ArtifactError
from synth_ray.transforms.model_frame import ModelColumn, ModelFrame

__all__ = ["Generator", "check_format_version"]


class Generator(ABC):
    """A fitted generative model over model-space columns."""

    kind: ClassVar[str]

    def __init__(self, *, columns: Sequence[ModelColumn]) -> None:
        self.columns = list(columns)

    @classmethod
    @abstractmethod
    def fit(cls, frame: ModelFrame, *, columns: Sequence[ModelColumn],
            options: Mapping[str, Any], seed: int) -> Self:
        """Learn from ``frame``; ``options`` are the model's keyword settings."""

    @abstractmethod
    def sample(self, n: int, *, rng: np.random.Generator) -> ModelFrame:
        """``n`` rows in model space, drawn only from ``rng``."""

    def propose(self, n: int, *, rng: np.random.Generator,
                required: Mapping[str, np.ndarray]) -> ModelFrame:
        """``n`` rows drawn towards per-row required codes, where the model can.

        ``required`` maps discrete columns to each row's required code (``-1``: free).
        The caller checks every row and asks again for those that miss, so a model
        without a direct mechanism may ignore ``required``: this default samples
        unconditionally (vectorized rejection then does all the work).
        """
        return self.sample(n, rng=rng)

    @abstractmethod
    def config(self) -> dict[str, Any]:
        """JSON-ready settings and small learned values."""

    @abstractmethod
    def tensors(self) -> dict[str, np.ndarray]:
        """Learned arrays, saved with safetensors."""

    @classmethod
    @abstractmethod
    def from_state(cls, *, columns: Sequence[ModelColumn], config: Mapping[str, Any],
                   tensors: Mapping[str, np.ndarray]) -> Self:
        """Rebuild from :meth:`config` and :meth:`tensors`."""


def check_format_version(config: Mapping[str, Any], *, kind: str, expected: int) -> None:
    """Refuse a saved generator whose own format version this synth-ray does not read."""
    version = config.get("format_version")
    if version != expected:
        raise ArtifactError(f"this {kind} model has format version {version!r}; this synth-ray "
                            f"reads version {expected}: refit the model")
