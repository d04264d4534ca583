"""The layout contract between an encoded column and a network's output layer.

An encoder (mode-specific normalization, one-hot categories) describes its output as
a list of spans, each with the activation the network must apply to produce it
(``tanh`` for a normalized value, ``softmax`` for a one-hot block).
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

from synth_ray.errors import ConfigError

__all__ = ["OutputSpan", "SpanActivation"]


class SpanActivation(enum.StrEnum):
    """The output activation a network uses for one span of an encoded column.

    Attributes:
        TANH: one value in ``[-1, 1]`` (the position ``alpha`` inside a mode).
        SOFTMAX: a one-hot block (the mode here; a category in other encodings).
    """

    TANH = "tanh"
    SOFTMAX = "softmax"


@dataclass(frozen=True)
class OutputSpan:
    """A contiguous block of an encoded column and how a network must produce it.

    Attributes:
        width: number of columns in the block.
        activation: the activation of the network's output layer for this block.
    """

    width: int
    activation: SpanActivation

    def __post_init__(self) -> None:
        if isinstance(self.width, bool) or not isinstance(self.width, int) or self.width < 1:
            raise ConfigError(f"an output span's width must be an integer >= 1, got {self.width!r}")
        # Accept the plain strings "tanh" / "softmax", e.g. from JSON.
        object.__setattr__(self, "activation", SpanActivation(self.activation))
