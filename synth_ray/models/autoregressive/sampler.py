"""Sampling tokens one position at a time, a whole batch of rows per step.

For each token in column order the network gives every row's logits (from the tokens
the row already has, see :mod:`.orders`), divided by the temperature; a class is drawn
by inverse CDF from one uniform per row (a cumulative sum and a count: no per-row
search). Rows where the token is fixed keep the fixed class. Draws come only from the
:class:`torch.Generator` passed in, in a fixed order, so a batch's rows depend only
on that generator and the batch size.
"""

from __future__ import annotations

import torch

from synth_ray.models.autoregressive.network import TokenNetwork
from synth_ray.models.autoregressive.orders import conditional_weights

__all__ = ["sample_tokens"]


def _draw(logits: torch.Tensor, temperature: float, generator: torch.Generator) -> torch.Tensor:
    """One class per row from ``softmax(logits / temperature)``."""
    if temperature != 1.0:
        logits = logits / temperature
    cdf = torch.softmax(logits, dim=1).cumsum_(dim=1)
    u = torch.rand(logits.shape[0], 1, generator=generator).mul_(cdf[:, -1:])
    return torch.searchsorted(cdf, u).squeeze_(1).clamp_(max=logits.shape[1] - 1)


def sample_tokens(network: TokenNetwork, n: int, *, generator: torch.Generator,
                  temperature: float = 1.0, fixed_tokens: torch.Tensor | None = None,
                  known: torch.Tensor | None = None) -> torch.Tensor:
    """``(n, n_tokens)`` int64 classes; ``known`` rows keep their ``fixed_tokens``."""
    size = network.n_tokens
    tokens = torch.zeros(n, size, dtype=torch.int64)
    if fixed_tokens is not None and known is not None:
        tokens = torch.where(known, fixed_tokens, tokens)
    rows = network.source_rows(tokens)
    table = network.sampling_table()
    for target in range(size):
        if known is None:
            logits = network.token_logits(target, rows[:, :target], table=table)
        else:
            logits = network.token_logits(target, rows, table=table,
                                          weights=conditional_weights(target, known))
        drawn = _draw(logits, temperature, generator)
        if known is not None:
            drawn = torch.where(known[:, target], tokens[:, target], drawn)
        tokens[:, target] = drawn
        rows[:, target] = (network.offsets[target] + drawn) * size
    return tokens
