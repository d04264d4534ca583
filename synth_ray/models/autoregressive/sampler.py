"""Sampling tokens one position at a time, a whole batch of rows per step.

For each token in column order the network gives every row's logits from the tokens
the row already has (:mod:`.orders`), divided by the temperature; a class is drawn by
inverse CDF from one uniform per row. Rows where the token is fixed keep the fixed
class. Draws come only from the :class:`torch.Generator` passed in, one uniform per
row and token in a fixed order, so a batch's rows depend only on that generator and
the batch size.

:class:`TokenSampler` is the fast path every sample takes. It lays the network's
first layer out once as one ``(vocabulary + 2, hidden)`` table per target (each source
class's vector for that target, then the target's bias, then a row of zeros), and
keeps one index per row: the bias row, then each token's class drawn (or fixed) so far,
else the zero row. Each target's hidden state is then one ``embedding_bag`` over a
prefix of that index matrix (unconditional sampling: target ``t`` sees the bias and the
``t`` tokens before it) or over all of it (fixed tokens are visible from the start simply
by being written into it first) -- no gather of what is visible, no weights, no
per-token allocation.
:func:`reference_sample_tokens` is the plain definition (per-row visibility weights
over :meth:`.TokenNetwork.token_logits`) that tests hold the fast path to.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager

import torch
import torch.nn.functional as F

from synth_ray.models.autoregressive.network import TokenNetwork
from synth_ray.models.autoregressive.orders import conditional_weights

__all__ = ["TokenSampler", "draw_classes", "reference_sample_tokens", "single_threaded"]



class _ThreadCount:
    """Threads sampling now, and torch's thread count before the first of them began."""

    lock = threading.Lock()
    users = 0
    before = 1


@contextmanager
def single_threaded() -> Iterator[None]:
    """Run this thread's torch ops on one intra-op thread, then put the count back.

    Sampling runs chunks on several Python threads at once (:mod:`synth_ray.sampling`),
    so each one computing on a single core is both the fastest split of the work
    (batches stay in cache, no OpenMP hand-offs) and the same arithmetic on any
    machine. Torch's thread count is per thread for OpenMP but also a process-wide
    default, so the first thread in records it and the last one out restores it.
    """
    state = _ThreadCount
    with state.lock:
        if state.users == 0:
            state.before = torch.get_num_threads()
        state.users += 1
    torch.set_num_threads(1)
    try:
        yield
    finally:
        with state.lock:
            state.users -= 1
            if state.users == 0:
                torch.set_num_threads(state.before)


def draw_classes(logits: torch.Tensor, u: torch.Tensor) -> torch.Tensor:
    """One class per row from ``softmax(logits)`` by inverse CDF; ``logits`` is overwritten.

    Args:
        logits: ``(batch, classes)`` float32 scores (used as scratch space).
        u: ``(batch, 1)`` uniforms in ``[0, 1)`` (overwritten too).
    """
    cdf = logits.sub_(logits.amax(dim=1, keepdim=True)).exp_().cumsum_(dim=1)
    drawn = torch.searchsorted(cdf, u.mul_(cdf[:, -1:])).squeeze_(1)
    return drawn.clamp_(max=logits.shape[1] - 1)


class TokenSampler:
    """The network's weights laid out for sampling (built once per loaded model)."""

    def __init__(self, network: TokenNetwork) -> None:
        n, hidden, vocab = network.n_tokens, network.hidden, network.vocab
        with torch.no_grad():
            first = torch.cat([table.detach() for table in network.inputs])  # (vocab, n * hidden)
            first = first.view(vocab, n, hidden).transpose(0, 1)
            extra = torch.stack([network.input_bias.detach(), torch.zeros(n, hidden)], dim=1)
            tables = torch.cat([first, extra], dim=1).contiguous()  # (n, vocab + 2, hidden)
            heads = [network.head_weights[g][i].detach().contiguous()
                     for g, i in (network._head_of[t] for t in range(n))]
            head_biases = [network.head_biases[g][i].detach().contiguous()
                           for g, i in (network._head_of[t] for t in range(n))]
        self.n_tokens, self.classes = n, network.classes
        self.tables = list(tables.unbind(0))
        self.heads, self.head_biases = heads, head_biases
        self.layers = [(w.detach()[t].contiguous(), b.detach()[t].contiguous())
                       for t in range(n)
                       for w, b in zip(network.layer_weights, network.layer_biases, strict=True)]
        self.n_layers = network.n_layers
        self.offsets = network.offsets.clone()
        self.bias_row, self.zero_row = vocab, vocab + 1

    def _hidden(self, target: int, index: torch.Tensor) -> torch.Tensor:
        hidden = F.embedding_bag(index, self.tables[target], mode="sum").relu_()
        for weight, bias in self.layers[target * self.n_layers:(target + 1) * self.n_layers]:
            hidden = hidden + torch.addmm(bias, hidden, weight).relu_()
        return hidden

    def sample(self, n: int, *, generator: torch.Generator, temperature: float = 1.0,
               fixed_tokens: torch.Tensor | None = None,
               known: torch.Tensor | None = None) -> torch.Tensor:
        """``(n, n_tokens)`` int64 classes; ``known`` rows keep their ``fixed_tokens``."""
        size = self.n_tokens
        conditional = known is not None and fixed_tokens is not None
        # Column 0: the bias row; column 1 + s: source s's row, or the zero row until known.
        index = torch.full((n, size + 1), self.zero_row, dtype=torch.int64)
        index[:, 0] = self.bias_row
        if known is not None and fixed_tokens is not None:
            index[:, 1:] = torch.where(known, fixed_tokens + self.offsets, self.zero_row)
        for target in range(size):
            # Unconditionally, target t sees exactly the first t + 1 columns.
            visible = index if conditional else index[:, :target + 1]
            logits = torch.addmm(self.head_biases[target], self._hidden(target, visible),
                                 self.heads[target])
            if temperature != 1.0:
                logits.div_(temperature)
            drawn = draw_classes(logits, torch.rand(n, 1, generator=generator))
            if known is not None and fixed_tokens is not None:
                drawn = torch.where(known[:, target], fixed_tokens[:, target], drawn)
            index[:, target + 1] = drawn.add_(self.offsets[target])
        return index[:, 1:].sub_(self.offsets)


def reference_sample_tokens(network: TokenNetwork, n: int, *, generator: torch.Generator,
                            temperature: float = 1.0, fixed_tokens: torch.Tensor | None = None,
                            known: torch.Tensor | None = None) -> torch.Tensor:
    """What :meth:`TokenSampler.sample` computes, written plainly (slow; for tests)."""
    size = network.n_tokens
    tokens = torch.zeros(n, size, dtype=torch.int64)
    if fixed_tokens is not None and known is not None:
        tokens = torch.where(known, fixed_tokens, tokens)
    visible = torch.zeros(n, size, dtype=torch.bool) if known is None else known
    table = network.sampling_table()
    for target in range(size):
        logits = network.token_logits(target, network.source_rows(tokens), table=table,
                                      weights=conditional_weights(target, visible))
        drawn = draw_classes(logits / temperature, torch.rand(n, 1, generator=generator))
        if known is not None:
            drawn = torch.where(known[:, target], tokens[:, target], drawn)
        tokens[:, target] = drawn
    return tokens
