"""Which tokens each token may see: the orders the model is trained and sampled in.

Sampling conditions on a set ``S`` of columns (fixed per row, possibly empty) and
generates the rest in column order, so target ``t`` of a free column sees ``S`` and
the free columns before it. Training draws exactly such sets: per row, with
probability ``canonical_share`` none (plain column order), otherwise each column
joins ``S`` with a probability ``q ~ U(0, 1)`` drawn per row (all set sizes are
covered). Columns of ``S`` come first, each in column order, so every token is
trained on the visible sets sampling will give it. A column's own tokens follow each
other (the coarse bin before the fine bin).
"""

from __future__ import annotations

import torch

__all__ = ["conditional_weights", "training_visibility"]


def _token_rank(column_rank: torch.Tensor, column_of: torch.Tensor,
                part_of: torch.Tensor) -> torch.Tensor:
    """A total order of tokens from an order of columns (parts after their column)."""
    return column_rank[..., column_of] * 4 + part_of  # at most 2 parts per column


def training_visibility(batch: int, *, column_of: torch.Tensor, part_of: torch.Tensor,
                        canonical_share: float, generator: torch.Generator) -> torch.Tensor:
    """``(batch, tokens, tokens)`` bool: does target ``t`` see source ``s`` in this row."""
    n_columns = int(column_of.max()) + 1 if column_of.numel() else 0
    index = torch.arange(n_columns)
    canonical = torch.rand(batch, 1, generator=generator) < canonical_share
    share = torch.rand(batch, 1, generator=generator)
    conditioned = (torch.rand(batch, n_columns, generator=generator) < share) & ~canonical
    column_rank = torch.where(conditioned, index, index + n_columns)
    rank = _token_rank(column_rank, column_of, part_of)
    return rank[:, None, :] < rank[:, :, None]


def conditional_weights(target: int, fixed_tokens: torch.Tensor) -> torch.Tensor:
    """``(batch, tokens)`` float weights: fixed tokens of each row, plus all before ``target``."""
    n = fixed_tokens.shape[1]
    before = torch.arange(n) < target
    return (fixed_tokens | before[None, :]).to(torch.float32)
