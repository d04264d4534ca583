"""Torch operations over an encoded row's spans, vectorised across spans.

* :func:`dense_rows` builds one-hot rows from an :class:`EncodedTable` batch into a
  preallocated buffer.
* :func:`training_activation` applies each span's output activation to raw network
  outputs: ``tanh``, or a Gumbel-softmax (Jang et al., 2017) so that the critic sees
  differentiable, nearly one-hot blocks.
* :func:`discrete_log_probs` gives the log-probability of each condition's category
  (CTGAN's conditional loss).
* :func:`sample_spans` turns raw outputs into a sample: ``tanh`` values and one slot
  per softmax span drawn from its softmax (inverse CDF: one uniform per span and row).

Softmax spans are processed in groups of similar width: the spans of a group are
gathered into one ``(rows, spans, width)`` tensor padded with a large negative logit,
so a table with twenty categorical columns costs a handful of tensor operations, not
twenty, and a capped 1,000-wide column does not pad its narrow neighbours to 1,000.
Every random draw takes an explicit :class:`torch.Generator`.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F

from synth_ray.models.neural.encoding import SpanLayout

__all__ = ["SpanGroup", "TorchLayout", "dense_rows", "discrete_log_probs", "gumbel_softmax",
           "prior_logits", "sample_spans", "training_activation"]

_TINY = 1e-20
_PAD_LOGIT = -1e9  # a padded slot: probability 0 after any softmax, finite for autograd


@dataclass(frozen=True)
class SpanGroup:
    """Softmax spans padded to one width.

    Attributes:
        spans: which softmax spans (positions in the layout's softmax list).
        width: the padded width (the next power of two of the widest span).
        gather: ``(len(spans) * width,)`` column of the raw output for each padded cell;
            padding points at the extra constant column appended after the raw output.
    """

    spans: torch.Tensor
    width: int
    gather: torch.Tensor

    @property
    def size(self) -> int:
        """Padded cells per row."""
        return int(self.gather.numel())


def _groups(offsets: np.ndarray, widths: np.ndarray, total: int) -> tuple[SpanGroup, ...]:
    """Spans bucketed by the next power of two of their width."""
    buckets: dict[int, list[int]] = {}
    for j, w in enumerate(widths):
        buckets.setdefault(1 << max(int(w) - 1, 0).bit_length(), []).append(j)
    groups = []
    for width, spans in sorted(buckets.items()):
        gather = np.full((len(spans), width), total, dtype=np.int64)
        for row, j in enumerate(spans):
            gather[row, : widths[j]] = offsets[j] + np.arange(widths[j])
        groups.append(SpanGroup(spans=torch.tensor(spans, dtype=torch.int64), width=width,
                                gather=torch.from_numpy(gather.reshape(-1))))
    return tuple(groups)


def _assembly(layout: SpanLayout, groups: tuple[SpanGroup, ...]) -> torch.Tensor:
    """Column of ``[tanh values, group 0 cells, group 1 cells, ...]`` for each output column."""
    source = np.zeros(layout.width, dtype=np.int64)
    source[layout.tanh_positions] = np.arange(layout.tanh_positions.size)
    base = layout.tanh_positions.size
    for group in groups:
        cells = group.gather.numpy()
        real = cells < layout.width
        source[cells[real]] = base + np.flatnonzero(real)
        base += cells.size
    return torch.from_numpy(source)


def _condition_cells(layout: SpanLayout, groups: tuple[SpanGroup, ...]) -> torch.Tensor:
    """For each conditional-vector entry, its cell among all groups' concatenated cells."""
    where = {}
    base = 0
    for group in groups:
        for row, j in enumerate(group.spans.tolist()):
            where[j] = base + row * group.width
        base += group.size
    cells = [where[int(j)] + k for j in layout.discrete_spans
             for k in range(int(layout.softmax_widths[j]))]
    return torch.tensor(cells, dtype=torch.int64)


@dataclass(frozen=True)
class TorchLayout:
    """A :class:`SpanLayout` as tensors, grouped for vectorised span operations.

    Attributes:
        width: width of an encoded row.
        tanh_positions: columns produced by tanh.
        softmax_offsets: first column of each softmax span.
        softmax_widths: width of each softmax span.
        groups: the softmax spans bucketed by width.
        assembly: how to put ``[tanh values, group cells...]`` back in column order.
        condition_cells: each conditional-vector entry's cell among the group cells.
    """

    width: int
    tanh_positions: torch.Tensor
    softmax_offsets: torch.Tensor
    softmax_widths: tuple[int, ...]
    groups: tuple[SpanGroup, ...]
    assembly: torch.Tensor
    condition_cells: torch.Tensor

    @classmethod
    def from_layout(cls, layout: SpanLayout) -> TorchLayout:
        """Tensors and groups from the numpy layout."""
        groups = _groups(layout.softmax_offsets, layout.softmax_widths, layout.width)
        return cls(width=layout.width,
                   tanh_positions=torch.from_numpy(layout.tanh_positions.copy()),
                   softmax_offsets=torch.from_numpy(layout.softmax_offsets.copy()),
                   softmax_widths=tuple(int(w) for w in layout.softmax_widths),
                   groups=groups, assembly=_assembly(layout, groups),
                   condition_cells=_condition_cells(layout, groups))

    @property
    def n_softmax(self) -> int:
        """Number of softmax spans."""
        return len(self.softmax_widths)

    def padded(self, raw: torch.Tensor, group: SpanGroup,
               extended: torch.Tensor | None = None) -> torch.Tensor:
        """``(rows, spans, width)`` logits of ``group``, padding at a large negative logit.

        ``extended`` is :meth:`extend`'s result, to share between groups.
        """
        source = self.extend(raw) if extended is None else extended
        return source.index_select(1, group.gather).view(raw.shape[0], -1, group.width)

    @staticmethod
    def extend(raw: torch.Tensor) -> torch.Tensor:
        """``raw`` with the padding column appended."""
        return torch.cat([raw, raw.new_full((raw.shape[0], 1), _PAD_LOGIT)], dim=1)


def prior_logits(indices: torch.Tensor, layout: TorchLayout) -> torch.Tensor:
    """``(width,)`` output biases that make each softmax span start at its real frequencies.

    A network's output layer initialised with these biases (log-frequencies, add-half
    smoothed; 0 for the tanh spans) emits the real marginal of every mode, category and
    null flag from its first step, instead of near-uniform blocks: a better starting
    point that changes nothing else in training, and what few-epoch fits gain most from.
    """
    bias = torch.zeros(layout.width)
    n = indices.shape[0]
    for j, (offset, width) in enumerate(zip(layout.softmax_offsets.tolist(),
                                            layout.softmax_widths, strict=True)):
        counts = torch.bincount(indices[:, j], minlength=width).double()
        bias[offset:offset + width] = torch.log((counts + 0.5) / (n + 0.5 * width)).float()
    return bias


def dense_rows(scalars: torch.Tensor, indices: torch.Tensor, layout: TorchLayout,
               out: torch.Tensor) -> torch.Tensor:
    """Write ``(n, width)`` rows (tanh values, one-hot blocks) into ``out`` and return it."""
    out.zero_()
    if layout.tanh_positions.numel():
        out[:, layout.tanh_positions] = scalars
    if layout.softmax_offsets.numel():
        out.scatter_(1, indices + layout.softmax_offsets, 1.0)
    return out


def gumbel_softmax(logits: torch.Tensor, tau: float, generator: torch.Generator) -> torch.Tensor:
    """``softmax((logits + g) / tau)`` over the last axis, ``g`` standard Gumbel noise."""
    u = torch.rand(logits.shape, generator=generator, dtype=logits.dtype)
    gumbel = -torch.log(-torch.log(u + _TINY) + _TINY)
    return F.softmax((logits + gumbel) / tau, dim=-1)


def training_activation(raw: torch.Tensor, layout: TorchLayout, *, tau: float,
                        generator: torch.Generator) -> torch.Tensor:
    """Raw outputs -> activated rows: tanh values and Gumbel-softmax blocks (differentiable)."""
    pieces = [torch.tanh(raw[:, layout.tanh_positions])]
    extended = layout.extend(raw)
    for group in layout.groups:
        logits = layout.padded(raw, group, extended)
        pieces.append(gumbel_softmax(logits, tau, generator).flatten(1))
    return torch.cat(pieces, dim=1).index_select(1, layout.assembly)


def discrete_log_probs(raw: torch.Tensor, layout: TorchLayout,
                       conditions: torch.Tensor) -> torch.Tensor:
    """``(n,)`` log-probability each row's block assigns to the category of its condition."""
    extended = layout.extend(raw)
    cells = torch.cat([F.log_softmax(layout.padded(raw, group, extended), dim=-1).flatten(1)
                       for group in layout.groups], dim=1)
    return cells.gather(1, layout.condition_cells[conditions].view(-1, 1)).view(-1)


def sample_spans(raw: torch.Tensor, layout: TorchLayout,
                 generator: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
    """``(tanh values, one drawn slot per softmax span)`` from raw outputs (no grad).

    Each slot is drawn from the span's softmax by inverse CDF, which gives exactly the
    distribution of the argmax of a Gumbel-softmax sample, with one uniform per span.
    """
    n = raw.shape[0]
    scalars = torch.tanh(raw[:, layout.tanh_positions])
    indices = torch.empty((n, layout.n_softmax), dtype=torch.int64)
    u = torch.rand((n, layout.n_softmax, 1), generator=generator, dtype=raw.dtype)
    extended = layout.extend(raw)
    for group in layout.groups:
        cdf = torch.softmax(layout.padded(raw, group, extended), dim=2).cumsum_(dim=2)
        # Padded cells add 0, so a uniform above a rounded-down total lands past the
        # real slots; the clamp below puts it on the last real slot.
        indices[:, group.spans] = (cdf <= u[:, group.spans]).sum(dim=2)
    limits = torch.tensor(layout.softmax_widths, dtype=torch.int64) - 1
    return scalars, torch.minimum(indices, limits)
