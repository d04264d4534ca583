"""Reversible transforms: exact round trips, nulls, dtypes and the Arrow schema restored."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pyarrow as pa
import pytest

import synth_ray
from synth_ray.transforms.categorical import CategoricalTransform
from synth_ray.transforms.datetime import DatetimeTransform
from synth_ray.transforms.numerical import NumericalTransform
from synth_ray.transforms.table_transformer import TableTransformer


def round_trip(table: pa.Table) -> pa.Table:
    meta = synth_ray.infer_metadata(table)
    transformer = TableTransformer.fit(table, meta)
    frame = transformer.forward(table)
    learned = [c.name for c in transformer.learned]
    back = transformer.inverse(frame, context=lambda i: pytest.fail("no generated columns here"))
    return back.select(learned)


def test_learned_kinds_round_trip_exactly(mixed_table):
    learned = mixed_table.select(["amount", "quantity", "segment", "region", "is_member",
                                  "created_at", "birth_date"])
    back = round_trip(learned)
    assert back.schema.equals(learned.schema)
    assert back.equals(learned)


def test_full_precision_floats_round_trip():
    x = np.random.default_rng(1).normal(size=1_000) * 1e6
    table = pa.table({"x": x})
    assert round_trip(table).column("x").to_numpy().tolist() == x.tolist()


@pytest.mark.parametrize("unit", ["s", "ms", "us", "ns"])
def test_timestamps_of_every_unit_and_zone(unit):
    base = dt.datetime(2021, 3, 28, 0, 59, 59, 123456)
    values = [base + dt.timedelta(hours=h, microseconds=h * 17) for h in range(100)] + [None]
    arr = pa.array(values, type=pa.timestamp("us")).cast(pa.timestamp(unit, tz="Europe/Paris"),
                                                           safe=False)
    table = pa.table({"t": arr})
    assert round_trip(table).equals(table)


def test_datetime_precision_is_learned():
    days = pa.array([dt.date(2020, 1, 1) + dt.timedelta(days=3 * i) for i in range(10)])
    t = DatetimeTransform.fit(name="d", arrow_type=pa.date32(), values=days)
    assert t.step == 1  # days are the unit of date32
    secs = pa.array([dt.datetime(2020, 1, 1) + dt.timedelta(minutes=5 * i) for i in range(10)],
                    type=pa.timestamp("ns"))
    t = DatetimeTransform.fit(name="t", arrow_type=secs.type, values=secs)
    assert t.step == 60 * 10**9  # whole minutes
    x, _ = t.forward(secs)
    assert x.tolist() == [5.0 * i for i in range(10)]


def test_numerical_inverse_clips_rounds_and_casts():
    values = pa.array([1, 5, 9], type=pa.int16())
    t = NumericalTransform.fit(name="n", arrow_type=pa.int16(), values=values)
    out = t.inverse(np.array([-3.0, 4.6, 100.0]), np.array([False, False, True]))
    assert out.type == pa.int16()
    assert out.to_pylist() == [1, 5, None]


def test_categorical_codes_by_frequency_unseen_and_nulls():
    values = pa.array(["b", "a", "b", None, "c", "b", "a"])
    # rare_threshold=0: protection off (every value here is rare; see test_rare_categories.py)
    t = CategoricalTransform.fit(name="c", arrow_type=pa.string(), values=values, rare_threshold=0)
    assert t.categories == ["b", "a", "c"]
    codes, nulls = t.forward(pa.array(["a", "zzz", None]))
    assert codes.tolist() == [1, 0, 0]  # unseen -> the mode's code
    assert nulls.tolist() == [False, False, True]
    assert t.inverse(np.array([2, 0, 1]), np.array([False, True, False])).to_pylist() == ["c", None, "a"]


def test_schema_with_pandas_metadata_is_restored(diamonds, diamonds_model):
    fake = diamonds_model.sample(100, seed=3)
    assert list(fake.columns) == list(diamonds.columns)
    assert fake.dtypes.to_dict() == diamonds.dtypes.to_dict()
