"""An autoregressive generator over columns (TabularARGN-style), written from the ideas.

Each column becomes one or two discrete tokens (:mod:`.column_tokens`), a compact
network predicts every token from the tokens before it in one pass
(:mod:`.network`, :mod:`.orders`), and rows are sampled token by token in large
vectorized batches, optionally with fixed values, rebalanced categories and a
temperature (:mod:`.sampler`, :mod:`.conditions`). :class:`ARGN` is the generator.
"""

from synth_ray.models.autoregressive.model import ARGN
from synth_ray.models.autoregressive.options import ARGNOptions

__all__ = ["ARGN", "ARGNOptions"]
