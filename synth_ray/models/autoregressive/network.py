"""The network: every token's distribution given any visible set of other tokens.

For target token ``t`` the hidden state is a sum over the visible source tokens ``s``
of a learned vector per (target, source, class) -- the first layer of an MLP on the
one-hot inputs, restricted to what ``t`` may see -- plus a bias, then a ReLU,
``layers`` residual per-token layers and a per-token softmax head. Which tokens are
visible is an input (:mod:`.orders`), so one forward pass trains all tokens under a
different order per row, and sampling runs the same weights token by token.

The first layer is one ``embedding_bag`` over a ``(tokens * vocabulary, hidden)``
table (sums of looked-up rows: no matrix product), so it costs ``tokens * hidden``
additions per target and row. Heads are grouped by class count and applied with
batched matrix products.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import nn

__all__ = ["TokenNetwork"]


class TokenNetwork(nn.Module):
    """Per-token conditionals over a row of discrete tokens."""

    def __init__(self, *, classes: Sequence[int], hidden: int, layers: int,
                 generator: torch.Generator | None = None) -> None:
        super().__init__()
        self.classes = tuple(int(c) for c in classes)
        n, vocab = len(self.classes), sum(self.classes)
        self.hidden, self.n_layers, self.vocab = hidden, layers, vocab
        offsets = torch.tensor([0, *self.classes[:-1]], dtype=torch.int64).cumsum(0)
        self.offsets: torch.Tensor = offsets  # first class of each token in the vocabulary
        scale = 1.0 / math.sqrt(max(n, 1))
        # Source token s's table: row ``class``, block ``t``: what s in that class adds to
        # target t's hidden state (one table per source, so training gathers every target
        # at once and each table's gradient is only its own size).
        self.inputs = nn.ParameterList(
            nn.Parameter(torch.randn(size, n * hidden, generator=generator) * scale)
            for size in self.classes)
        self.input_bias = nn.Parameter(torch.zeros(n, hidden))
        self.layer_weights = nn.ParameterList(
            nn.Parameter(torch.randn(n, hidden, hidden, generator=generator) / math.sqrt(hidden))
            for _ in range(layers))
        self.layer_biases = nn.ParameterList(nn.Parameter(torch.zeros(n, hidden))
                                             for _ in range(layers))
        self.group_sizes = sorted(set(self.classes))
        self.group_tokens = [[t for t, c in enumerate(self.classes) if c == size]
                             for size in self.group_sizes]
        # Heads start at zero: with :meth:`set_prior` the untrained network is exactly the
        # product of the marginals, and training only ever adds dependence. (Random heads
        # turn the random first layer into random shifts of every marginal, which early
        # stopping on a small table keeps.)
        self.head_weights = nn.ParameterList(
            nn.Parameter(torch.zeros(len(tokens), hidden, size))
            for tokens, size in zip(self.group_tokens, self.group_sizes, strict=True))
        self.head_biases = nn.ParameterList(nn.Parameter(torch.zeros(len(tokens), size))
                                            for tokens, size in zip(self.group_tokens,
                                                                    self.group_sizes, strict=True))
        self._head_of = {t: (g, i) for g, tokens in enumerate(self.group_tokens)
                         for i, t in enumerate(tokens)}

    @property
    def n_tokens(self) -> int:
        """Tokens per row."""
        return len(self.classes)

    def _trunk(self, hidden: torch.Tensor, noise: torch.Generator | None,
               dropout: float) -> torch.Tensor:
        """ReLU of the first layer's sums ``(tokens, batch, hidden)``, then the residual layers."""
        out = torch.relu(hidden)
        for weight, bias in zip(self.layer_weights, self.layer_biases, strict=True):
            if noise is not None and dropout > 0:
                keep = torch.rand(out.shape, generator=noise) >= dropout
                out = out * keep / (1.0 - dropout)
            step = torch.baddbmm(bias[:, None, :], out, weight)
            out = out + torch.relu(step)
        if noise is not None and dropout > 0:
            keep = torch.rand(out.shape, generator=noise) >= dropout
            out = out * keep / (1.0 - dropout)
        return out

    def token_losses(self, tokens: torch.Tensor, visible: torch.Tensor, *,
                     noise: torch.Generator | None = None, dropout: float = 0.0) -> torch.Tensor:
        """Mean cross-entropy of each token, ``(n_tokens,)``, given ``visible[b, t, s]``.

        Args:
            tokens: ``(batch, n_tokens)`` int64 classes.
            visible: ``(batch, n_tokens, n_tokens)`` bool, whether target ``t`` sees ``s``.
            noise: generator of the dropout masks (training only).
            dropout: share of hidden units dropped while training.
        """
        batch, n = tokens.shape
        weights = visible.to(torch.float32)
        summed = self.input_bias.expand(batch, n, self.hidden)
        for source, table in enumerate(self.inputs):  # every target's vector, per source
            rows = F.embedding(tokens[:, source], table)
            summed = torch.addcmul(summed, weights[:, :, source, None],
                                   rows.view(batch, n, self.hidden))
        hidden = self._trunk(summed.transpose(0, 1), noise, dropout)
        losses = torch.empty(n)
        for group, size in enumerate(self.group_sizes):
            chosen = self.group_tokens[group]
            logits = torch.baddbmm(self.head_biases[group][:, None, :], hidden[chosen],
                                   self.head_weights[group])
            targets = tokens[:, chosen].T
            ce = F.cross_entropy(logits.reshape(-1, size), targets.reshape(-1), reduction="none")
            losses[chosen] = ce.view(len(chosen), batch).mean(dim=1)
        return losses

    def sampling_table(self) -> torch.Tensor:
        """All source tables as one ``(vocab * n_tokens, hidden)`` matrix for ``embedding_bag``."""
        return torch.cat([table.detach() for table in self.inputs]).view(-1, self.hidden)

    def source_rows(self, tokens: torch.Tensor) -> torch.Tensor:
        """Each token's row in :meth:`sampling_table` for target 0 (add ``t`` for target ``t``)."""
        return (self.offsets[None, :] + tokens) * self.n_tokens

    def token_logits(self, target: int, rows: torch.Tensor, *, table: torch.Tensor,
                     weights: torch.Tensor | None = None) -> torch.Tensor:
        """Logits of token ``target`` for each row, ``(batch, classes[target])``.

        ``rows`` are :meth:`source_rows` of the tokens the target sees (``(batch, k)``),
        ``table`` is :meth:`sampling_table`; ``weights`` (same shape as ``rows``, 0 or 1)
        hides some of them per row.
        """
        if rows.shape[1]:
            summed = F.embedding_bag(rows + target, table, per_sample_weights=weights, mode="sum")
        else:
            summed = torch.zeros(rows.shape[0], self.hidden)
        hidden = summed.add_(self.input_bias[target]).relu_()
        for weight, bias in zip(self.layer_weights, self.layer_biases, strict=True):
            hidden = hidden + torch.addmm(bias[target], hidden, weight[target]).relu_()
        group, position = self._head_of[target]
        return torch.addmm(self.head_biases[group][position], hidden,
                           self.head_weights[group][position])

    def set_prior(self, tokens: torch.Tensor) -> None:
        """Start every head's bias at the log-frequencies of its token's classes."""
        with torch.no_grad():
            for group, size in enumerate(self.group_sizes):
                for position, t in enumerate(self.group_tokens[group]):
                    counts = torch.bincount(tokens[:, t], minlength=size).to(torch.float32)
                    self.head_biases[group][position].copy_(torch.log((counts + 0.5)
                                                                      / (counts.sum() + 0.5 * size)))
