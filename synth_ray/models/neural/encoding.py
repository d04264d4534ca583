"""The whole table in network space: codecs in column order, their spans, and the layout.

Each learned column contributes its value spans (continuous: ``[alpha tanh, modes
softmax]``; discrete: ``[categories softmax]``) followed, when it has nulls, by a
2-way softmax span ``[present, null]``. The span list is the contract with the
networks' output layer (:class:`SpanLayout` turns it into positions and offsets).

An :class:`EncodedTable` keeps the tanh values as floats and every softmax span as
the index of its hot slot, so the encoded table needs one number per span and row
however wide the one-hot blocks are; :mod:`.span_ops` builds dense rows per batch.

Round trip: ``decode(encode(frame))`` gives back discrete codes and null masks
exactly, and continuous values to float64 precision wherever they lie within four
standard deviations of a mode (see :class:`ModeSpecificNormalizer`); a capped
column's grouped categories come back as grouped categories drawn by frequency.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from synth_ray.errors import ArtifactError
from synth_ray.models.neural.column_codecs import (
    ColumnCodec,
    ContinuousCodec,
    DiscreteCodec,
    fit_codec,
)
from synth_ray.transforms.model_frame import ModelColumn, ModelColumnType, ModelFrame
from synth_ray.transforms.output_spans import OutputSpan, SpanActivation

__all__ = ["EncodedTable", "NetworkEncoding", "SpanLayout"]

_NULL_SPAN = OutputSpan(2, SpanActivation.SOFTMAX)


@dataclass(frozen=True)
class EncodedTable:
    """Rows in network space, compactly.

    Attributes:
        scalars: ``(n, n_tanh)`` float64, the tanh spans' values in span order.
        indices: ``(n, n_softmax)`` int64, the hot slot of each softmax span in span order.
    """

    scalars: np.ndarray
    indices: np.ndarray

    @property
    def n_rows(self) -> int:
        """Number of rows."""
        return int(self.indices.shape[0])


@dataclass(frozen=True)
class SpanLayout:
    """Where each span sits in a network's output vector.

    Attributes:
        spans: every span, in order.
        width: total width of the vector.
        tanh_positions: the columns produced by tanh, in span order.
        softmax_offsets: first column of each softmax span.
        softmax_widths: width of each softmax span.
        discrete_spans: which softmax spans (positions in ``softmax_offsets``) are
            discrete columns' category blocks: the conditional vector's blocks.
    """

    spans: tuple[OutputSpan, ...]
    width: int
    tanh_positions: np.ndarray
    softmax_offsets: np.ndarray
    softmax_widths: np.ndarray
    discrete_spans: np.ndarray

    @classmethod
    def from_spans(cls, spans: Sequence[OutputSpan], discrete_spans: Sequence[int]) -> SpanLayout:
        """Positions from a span list; ``discrete_spans`` index the softmax spans."""
        tanh: list[int] = []
        offsets: list[int] = []
        widths: list[int] = []
        position = 0
        for span in spans:
            if span.activation is SpanActivation.TANH:
                tanh.extend(range(position, position + span.width))
            else:
                offsets.append(position)
                widths.append(span.width)
            position += span.width
        return cls(spans=tuple(spans), width=position, tanh_positions=np.array(tanh, dtype=np.int64),
                   softmax_offsets=np.array(offsets, dtype=np.int64),
                   softmax_widths=np.array(widths, dtype=np.int64),
                   discrete_spans=np.array(discrete_spans, dtype=np.int64))

    def dense(self, encoded: EncodedTable) -> np.ndarray:
        """``(n, width)`` float32 rows: tanh values and one-hot blocks (for tests and tools)."""
        out = np.zeros((encoded.n_rows, self.width), dtype=np.float32)
        out[:, self.tanh_positions] = encoded.scalars
        rows = np.arange(encoded.n_rows)[:, None]
        out[rows, self.softmax_offsets + encoded.indices] = 1.0
        return out


class NetworkEncoding:
    """Model space <-> network space for a whole table."""

    def __init__(self, *, columns: Sequence[ModelColumn], codecs: Sequence[ColumnCodec]) -> None:
        self.columns = list(columns)
        self.codecs = list(codecs)
        spans: list[OutputSpan] = []
        discrete: list[int] = []
        n_softmax = 0
        for column, codec in zip(self.columns, self.codecs, strict=True):
            if isinstance(codec, DiscreteCodec):
                discrete.append(n_softmax)
            spans.extend(codec.spans)
            n_softmax += codec.n_indices
            if column.nullable:
                spans.append(_NULL_SPAN)
                n_softmax += 1
        self.layout = SpanLayout.from_spans(spans, discrete)

    @classmethod
    def fit(cls, frame: ModelFrame, *, columns: Sequence[ModelColumn], max_modes: int,
            max_categories: int, mode_concentration: float, seed: int) -> NetworkEncoding:
        """Fit each column's codec on its present values (all rows if none is present)."""
        codecs = []
        for i, column in enumerate(columns):
            values = frame.values[column.name]
            if column.nullable and not frame.nulls[column.name].all():
                values = values[~frame.nulls[column.name]]
            column_seed = int(np.random.SeedSequence((seed, i)).generate_state(1)[0])
            codecs.append(fit_codec(column, values, max_modes=max_modes,
                                    max_categories=max_categories,
                                    mode_concentration=mode_concentration, seed=column_seed))
        return cls(columns=columns, codecs=codecs)

    @property
    def spans(self) -> list[OutputSpan]:
        """Every span of the encoded row, in order."""
        return list(self.layout.spans)

    @property
    def width(self) -> int:
        """Width of an encoded row."""
        return self.layout.width

    def encode(self, frame: ModelFrame, *, rng: np.random.Generator | None = None) -> EncodedTable:
        """Rows in network space; ``rng`` draws each continuous value's mode from its posterior."""
        scalars: list[np.ndarray] = []
        indices: list[np.ndarray] = []
        for column, codec in zip(self.columns, self.codecs, strict=True):
            s, idx = codec.encode(frame.values[column.name], rng=rng)
            scalars.append(s)
            indices.append(idx)
            if column.nullable:
                indices.append(frame.nulls[column.name].astype(np.int64)[:, None])
        n = frame.n_rows
        return EncodedTable(
            scalars=np.concatenate(scalars, axis=1) if scalars else np.zeros((n, 0)),
            indices=np.concatenate(indices, axis=1) if indices else np.zeros((n, 0), np.int64))

    def decode(self, encoded: EncodedTable, *, rng: np.random.Generator | None = None) -> ModelFrame:
        """Model-space rows; ``rng`` draws grouped categories of capped columns."""
        frame = ModelFrame(n_rows=encoded.n_rows)
        s = i = 0
        for column, codec in zip(self.columns, self.codecs, strict=True):
            scalars = encoded.scalars[:, s:s + codec.n_scalars]
            indices = encoded.indices[:, i:i + codec.n_indices]
            frame.values[column.name] = codec.decode(scalars, indices, rng=rng)
            s, i = s + codec.n_scalars, i + codec.n_indices
            if column.nullable:
                frame.nulls[column.name] = encoded.indices[:, i] == 1
                i += 1
        return frame

    def decode_matrix(self, matrix: np.ndarray, *,
                      rng: np.random.Generator | None = None) -> ModelFrame:
        """Model-space rows from dense ``(n, width)`` rows; each block's argmax is its slot."""
        layout = self.layout
        if matrix.ndim != 2 or matrix.shape[1] != layout.width:
            raise ValueError(f"expected rows of width {layout.width}, got shape {matrix.shape}")
        indices = np.stack([matrix[:, o:o + w].argmax(axis=1) for o, w in
                            zip(layout.softmax_offsets, layout.softmax_widths, strict=True)],
                           axis=1) if layout.softmax_offsets.size else np.zeros((len(matrix), 0))
        encoded = EncodedTable(scalars=matrix[:, layout.tanh_positions].astype(np.float64),
                               indices=indices.astype(np.int64))
        return self.decode(encoded, rng=rng)

    def discrete_probabilities(self, encoded: EncodedTable) -> list[np.ndarray]:
        """Each discrete span's slot frequencies in ``encoded`` (the conditional vector's prior)."""
        out = []
        for span, k in zip(self.layout.discrete_spans,
                           self.layout.softmax_widths[self.layout.discrete_spans], strict=True):
            counts = np.bincount(encoded.indices[:, span], minlength=int(k)).astype(np.float64)
            out.append(counts / max(counts.sum(), 1.0))
        return out

    def config(self) -> dict[str, Any]:
        """JSON-ready codec parameters, one entry per column (capping recorded per column)."""
        return {"columns": [{"name": c.name, **codec.config()}
                            for c, codec in zip(self.columns, self.codecs, strict=True)],
                "width": self.width}

    def tensors(self) -> dict[str, np.ndarray]:
        """Capped columns' code arrays, keyed ``encoding/<column index>/<name>``."""
        return {f"encoding/{i}/{key}": value for i, codec in enumerate(self.codecs)
                for key, value in codec.tensors().items()}

    @classmethod
    def from_state(cls, *, columns: Sequence[ModelColumn], config: Mapping[str, Any],
                   tensors: Mapping[str, np.ndarray]) -> NetworkEncoding:
        """Inverse of :meth:`config` and :meth:`tensors`."""
        entries = config["columns"]
        if [e["name"] for e in entries] != [c.name for c in columns]:
            raise ArtifactError("the neural model's encoding does not list the model's columns")
        codecs: list[ColumnCodec] = []
        for i, (column, entry) in enumerate(zip(columns, entries, strict=True)):
            if column.type is ModelColumnType.DISCRETE:
                prefix = f"encoding/{i}/"
                own = {k.removeprefix(prefix): v for k, v in tensors.items() if k.startswith(prefix)}
                codecs.append(DiscreteCodec.from_state(entry, own))
            else:
                codecs.append(ContinuousCodec.from_config(entry))
        encoding = cls(columns=columns, codecs=codecs)
        if encoding.width != int(config["width"]):
            raise ArtifactError("the neural model's encoding width does not match its spans")
        return encoding
