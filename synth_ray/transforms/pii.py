"""Personal-data columns: fake values of the real column's shape, never its values."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from synth_ray.fake_values import DEFAULT_PHONE_MASK, fake_strings, phone_mask_of
from synth_ray.metadata import PiiType
from synth_ray.transforms.base import GeneratedColumn, GenerationContext
from synth_ray.transforms.strings import cast_strings

__all__ = ["PiiColumn"]

_CHARS_PER_SENTENCE = 70  # Faker's 10-word sentences average about this many characters


class PiiColumn(GeneratedColumn):
    """An e-mail, phone, person-name, address or free-text column.

    Only the shape is learned: the phone format (digits masked as ``#``), the
    typical length of free text (in sentences) and the null fraction.
    """

    kind_name = "pii"

    def __init__(self, *, name: str, arrow_type: pa.DataType, pii_type: PiiType,
                 null_fraction: float, phone_mask: str = DEFAULT_PHONE_MASK, sentences: int = 1,
                 locale: str = "en_US") -> None:
        super().__init__(name=name, arrow_type=arrow_type)
        self.pii_type = pii_type
        self.null_fraction = null_fraction
        self.phone_mask, self.sentences, self.locale = phone_mask, sentences, locale

    @classmethod
    def fit(cls, *, name: str, arrow_type: pa.DataType, values: pa.Array,
            pii_type: PiiType) -> PiiColumn:
        """Learn the shape of the values (format, length, null fraction)."""
        probe = values.drop_null().slice(0, 10_000).cast(pa.string()).to_pylist()
        mask = phone_mask_of(probe) if pii_type is PiiType.PHONE else DEFAULT_PHONE_MASK
        mean_len = sum(len(v) for v in probe) / len(probe) if probe else 0.0
        sentences = max(1, min(8, round(mean_len / _CHARS_PER_SENTENCE)))
        return cls(name=name, arrow_type=arrow_type, pii_type=pii_type,
                   null_fraction=values.null_count / max(len(values), 1), phone_mask=mask,
                   sentences=sentences)

    def generate(self, ctx: GenerationContext) -> pa.Array:
        """Fake values with the learned null fraction."""
        values = fake_strings(self.pii_type, n=ctx.n_rows, rng=ctx.rng, seed=ctx.seed,
                              column=self.name, locale=self.locale, phone_mask=self.phone_mask,
                              sentences=self.sentences)
        if self.null_fraction > 0:
            nulls = ctx.rng.random(ctx.n_rows) < self.null_fraction
            values = pc.if_else(pa.array(nulls), pa.scalar(None, pa.string()), values)
        return cast_strings(values, self.arrow_type)

    def params(self) -> dict[str, Any]:
        """Type, null fraction, phone mask, sentences, locale."""
        return {"pii_type": self.pii_type.value, "null_fraction": self.null_fraction,
                "phone_mask": self.phone_mask, "sentences": self.sentences, "locale": self.locale}

    @classmethod
    def from_params(cls, *, name: str, arrow_type: pa.DataType,
                    params: Mapping[str, Any]) -> PiiColumn:
        """Rebuild from :meth:`params`."""
        return cls(name=name, arrow_type=arrow_type, pii_type=PiiType(params["pii_type"]),
                   null_fraction=float(params["null_fraction"]), phone_mask=str(params["phone_mask"]),
                   sentences=int(params["sentences"]), locale=str(params["locale"]))

