"""Bad input: handled correctly, or refused with a message naming the column/value and the fix.

One test per case listed in the foundation issue (section 8).
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest

import synth_ray
from synth_ray import ConfigError, DataError, InputFormatError, SamplingError, SchemaError


def test_empty_table_is_refused():
    with pytest.raises(DataError, match="0 rows: synth-ray needs at least one real row"):
        synth_ray.fit(pd.DataFrame({"a": pd.Series([], dtype=float)}))


def test_single_row_is_learned_and_reproduced():
    frame = pd.DataFrame({"a": [1.5], "b": ["x"], "when": pd.to_datetime(["2024-05-01"])})
    fake = synth_ray.fit(frame).sample(10, seed=0)
    assert fake["a"].tolist() == [1.5] * 10 and fake["b"].tolist() == ["_RARE_"] * 10  # seen once < k
    assert (fake["when"] == pd.Timestamp("2024-05-01")).all()


def test_all_null_column_stays_null_with_its_type():
    frame = pd.DataFrame({"a": np.arange(100.0), "empty": pd.Series([None] * 100, dtype="Float64")})
    model = synth_ray.fit(frame)
    fake = model.sample_arrow(50, seed=0)
    assert fake["empty"].null_count == 50 and fake.schema.field("empty").type == pa.float64()
    assert model.metadata["empty"].null_fraction == 1.0


def test_object_column_of_only_none():
    frame = pd.DataFrame({"a": np.arange(10), "nothing": [None] * 10})
    fake = synth_ray.fit(frame).sample_arrow(5, seed=0)
    assert fake["nothing"].null_count == 5


def test_constant_columns():
    frame = pd.DataFrame({"n": [7.25] * 200, "c": ["only"] * 200, "i": np.arange(200)})
    fake = synth_ray.fit(frame).sample(1_000, seed=0)
    assert set(fake["n"]) == {7.25} and set(fake["c"]) == {"only"}


def test_nan_is_null_and_inf_is_refused_by_name():
    frame = pd.DataFrame({"ok": [1.0, np.nan, 3.0, 4.0], "score": [1.0, 2.0, np.inf, 4.0]})
    with pytest.raises(DataError, match=r"column 'score' has 1 infinite value\(s\) .* at row 2"):
        synth_ray.fit(frame)
    model = synth_ray.fit(frame.drop(columns=["score"]))
    assert model.metadata["ok"].null_fraction == 0.25
    assert 0.1 < model.sample_arrow(4_000, seed=0)["ok"].null_count / 4_000 < 0.4


def test_mixed_types_in_object_column_are_refused_by_name():
    frame = pd.DataFrame({"fine": [1, 2, 3], "mixed": ["a", 2, 3.5]})
    with pytest.raises(SchemaError, match=r"column 'mixed' mixes value types \(float, int, str\)"):
        synth_ray.fit(frame)


def test_duplicate_column_names_are_refused():
    frame = pd.DataFrame([[1, 2, 3]], columns=["a", "b", "a"])
    with pytest.raises(SchemaError, match="duplicate column name 'a' appears 2 times"):
        synth_ray.fit(frame)


def test_hundred_thousand_categories():
    rng = np.random.default_rng(0)
    codes = rng.integers(0, 100_000, 300_000)
    frame = pd.DataFrame({"sku": [f"SKU{c:06d}" for c in codes], "qty": rng.poisson(2, 300_000)})
    model = synth_ray.fit(frame, spec={"rare_category_threshold": 0})  # ~3 rows each: all rare
    assert model.metadata["sku"].kind is synth_ray.ColumnKind.CATEGORICAL
    assert model.metadata["sku"].n_categories == len(np.unique(codes))
    fake = model.sample(50_000, seed=0)
    assert set(fake["sku"]) <= set(frame["sku"])
    assert fake["sku"].nunique() > 30_000


def test_unicode_column_names(tmp_path):
    frame = pd.DataFrame({"prix €": [1.0, 2.0, 3.0], "城市": ["北京", "上海", "北京"], "🙂": [1, 2, 3]})
    model = synth_ray.fit(frame, spec={"rare_category_threshold": 0})  # keep the unicode values
    loaded = synth_ray.load(model.save(tmp_path / "m"))
    fake = loaded.sample(20, seed=0)
    assert list(fake.columns) == ["prix €", "城市", "🙂"]
    assert set(fake["城市"]) <= {"北京", "上海"}


def test_unreadable_input(tmp_path):
    path = tmp_path / "data.parquet"
    path.write_bytes(b"PAR1 but not really")
    with pytest.raises(InputFormatError, match="data.parquet"):
        synth_ray.fit(path)


def test_wrong_format_input(tmp_path):
    path = tmp_path / "data.csv"
    path.write_bytes(bytes(range(256)) * 10)
    with pytest.raises(InputFormatError, match="cannot read .* as csv"):
        synth_ray.fit(path)


@pytest.mark.parametrize("rows", [0, -5])
def test_zero_and_negative_row_requests(diamonds_model, rows):
    if rows == 0:
        assert diamonds_model.sample(0, seed=0).empty
    else:
        with pytest.raises(SamplingError, match="got -5"):
            diamonds_model.sample(rows, seed=0)


def test_nested_and_binary_columns_are_refused_by_name():
    table = pa.table({"a": [1, 2], "tags": [["x"], ["y", "z"]]})
    with pytest.raises(SchemaError, match="column 'tags' has Arrow type list<item: string>"):
        synth_ray.fit(table)


def test_non_string_column_names_are_refused():
    with pytest.raises(SchemaError, match="column name 0 is a int"):
        synth_ray.fit(pd.DataFrame({0: [1, 2], 1: [3, 4]}))


def test_not_a_table():
    with pytest.raises(SchemaError, match="expected a pandas DataFrame or a pyarrow Table, got list"):
        synth_ray.fit([1, 2, 3])


# Regression tests for the bugs the property-based tests (tests/test_properties.py) found.


@pytest.mark.parametrize("arrow_type", [pa.int64(), pa.uint64()])
def test_integer_extremes_stay_in_range_and_exact(arrow_type):
    info = np.iinfo(arrow_type.to_pandas_dtype())
    values = [int(info.min), int(info.max), 0, 0, 1] * 20  # fit raised ArrowInvalid (float cast)
    model = synth_ray.fit(pa.table({"x": pa.array(values, arrow_type)}), seed=0)
    fake = model.sample_arrow(2_000, seed=0)["x"].to_pylist()
    assert fake.count(int(info.max)) > 0 and fake.count(int(info.min)) > 0  # not wrapped around
    assert all(int(info.min) <= v <= int(info.max) for v in fake)
    assert model.sample_arrow(2_000, seed=0).schema.field("x").type == arrow_type


def test_nanosecond_timestamps_are_learned():
    """pandas' datetime64[ns] columns could not be fitted at all (a float cast refused > 2**53)."""
    when = pd.to_datetime(["2024-01-01 00:00:00.000000001", "2024-06-30 12:00:00", "2025-01-01"],
                          format="ISO8601")
    frame = pd.DataFrame({"when": when.repeat(10)})
    fake = synth_ray.fit(frame, seed=0).sample(200, seed=0)
    assert fake["when"].dtype == "datetime64[ns]"
    assert fake["when"].between(when.min(), when.max()).all()
    assert fake["when"].isin(when).mean() > 0.3  # the real instants come back to the nanosecond


def test_nanosecond_timestamps_spanning_more_than_int64_from_their_origin():
    """1678 to 2261 in ns is more than int64 can count from the earliest value: it wrapped."""
    ints = [-9_000_000_000_000_000_000, 0, 9_000_000_000_000_000_000] * 10
    table = pa.table({"t": pa.array(ints, pa.timestamp("ns", tz="UTC"))})
    fake = synth_ray.fit(table, seed=0).sample_arrow(500, seed=0)
    got = fake["t"].cast(pa.int64()).to_numpy()
    assert got.min() >= ints[0] and got.max() <= ints[2]
    assert {ints[0], ints[2]} <= set(got.tolist())
    assert fake.schema == table.schema


def test_all_null_category_column_is_kept_all_null():
    """An all-null pandas category column crashed the fit (IndexError while hashing rows)."""
    frame = pd.DataFrame({"c": pd.Categorical([None] * 30), "v": np.arange(30.0)})  # no categories
    fake = synth_ray.fit(frame, seed=0).sample_arrow(10, seed=0)
    assert fake["c"].null_count == 10 and pa.types.is_dictionary(fake.schema.field("c").type)


def test_table_of_only_generated_columns():
    """Only id, pii and all-null columns leave the copula nothing to learn: it raised ValueError."""
    table = pa.table({"id": pa.array(range(50), pa.int64()),
                      "email": [f"user{i}@example.org" for i in range(50)],
                      "empty": pa.nulls(50, pa.string())})
    fake = synth_ray.fit(table, seed=0).sample_arrow(20, seed=0)
    assert fake["id"].to_pylist() == list(range(20))
    assert fake["empty"].null_count == 20 and all("@" in e for e in fake["email"].to_pylist())


def test_small_integer_key_columns():
    """An int8 key could never be sampled: a whole chunk of keys is made, and int8 holds 128."""
    table = pa.table({"id": pa.array(range(100), pa.int8()), "v": np.arange(100.0)})
    model = synth_ray.fit(table, seed=0)
    assert model.metadata["id"].kind is synth_ray.ColumnKind.NUMERICAL  # learned, not regenerated
    assert model.sample_arrow(10, seed=0).schema == table.schema
    wide = synth_ray.fit(table.set_column(0, "id", table["id"].cast(pa.int32())), seed=0)
    assert wide.metadata["id"].kind is synth_ray.ColumnKind.ID
    with pytest.raises(ConfigError, match="id column 'id' is int8 .* widen its type"):
        synth_ray.fit(table, spec={"columns": {"id": {"kind": "id"}}})


def test_floats_at_the_edge_of_float64_never_become_nan():
    """-1.7e308 next to 1.7e308 overflowed the quantile interpolation to inf - inf = NaN."""
    values = [-1.7e308, 1.7e308] * 10 + [None]
    table = pa.table({"x": pa.array(values, pa.float64())})
    model = synth_ray.fit(table, seed=0)
    fake = model.sample_arrow(5_000, seed=0)["x"]
    x = fake.drop_null().to_numpy()
    assert not np.isnan(x).any() and x.min() >= -1.7e308 and x.max() <= 1.7e308
    assert np.isfinite(model.transformer.to_dict()["columns"][0]["params"]["fill"])  # median overflowed


@pytest.mark.parametrize(("arrow_type", "hint"), [
    (pa.float16(), "cast it to float64"),
    (pa.time64("us"), "cast it to int64"),
    (pa.duration("s"), "cast it to int64"),
    (pa.string_view(), "cast it to string"),
])
def test_unsupported_scalar_types_are_refused_with_the_fix(arrow_type, hint):
    """float16 escaped as ArrowNotImplementedError; the others told users to declare a kind."""
    column = pa.array([1, 2], pa.int64()).cast(arrow_type) if arrow_type != pa.string_view() \
        else pa.array(["a", "b"], pa.string_view())
    with pytest.raises(SchemaError, match=f"column 'odd' has Arrow type .*{hint}"):
        synth_ray.fit(pa.table({"odd": column}))


def test_nan_inside_a_float_dictionary_is_null():
    """A pandas category column of floats with NaN raised KeyError: nan (NaN is null everywhere)."""
    frame = pd.DataFrame({"c": pd.Categorical([1.5, np.nan, 2.5, 1.5] * 10)})
    table = pa.table({"c": pa.DictionaryArray.from_arrays(pa.array([0, 1, 2, 0] * 10, pa.int8()),
                                                          pa.array([1.5, np.nan, 2.5]))})
    for data in (table, frame):
        model = synth_ray.fit(data, spec={"rare_category_threshold": 0}, seed=0)
        assert model.metadata["c"].null_fraction == 0.25
        fake = model.sample_arrow(400, seed=0)["c"]
        assert set(fake.to_pylist()) == {1.5, 2.5, None}


@pytest.mark.parametrize(("arrow_type", "declared", "expected"), [
    (pa.bool_(), {"kind": "id"}, "declared id but holds Arrow type bool; keys are integers or strings"),
    (pa.float64(), {"kind": "id"}, "declared id but holds Arrow type double"),
    (pa.int64(), {"kind": "pii", "pii_type": "email"}, "declared pii but holds Arrow type int64"),
    (pa.date32(), {"kind": "pii", "pii_type": "phone"}, "declared pii but holds Arrow type date32"),
    (pa.int64(), {"min": "abc"}, "numerical, so its min must be a finite number, got 'abc'"),
    (pa.int64(), {"max": float("nan")}, "numerical, so its max must be a finite number, got nan"),
    (pa.float64(), {"min": 5, "max": 1}, "has min 5 > max 1"),
    (pa.float64(), {"min": 5}, r"has min 5 > max 1\.0 \(the spec's bound, or the real column's"),
])
def test_spec_declarations_the_column_cannot_hold_are_refused_by_name(arrow_type, declared, expected):
    """These escaped as ArrowInvalid/ValueError at sampling or fit, or made a constant column."""
    values = pa.array([1, 0, 1, 0], pa.int32() if arrow_type == pa.date32() else pa.int64())
    table = pa.table({"c": values.cast(arrow_type)})
    with pytest.raises(ConfigError, match=f"column 'c' .*{expected}"):
        synth_ray.fit(table, spec={"columns": {"c": declared}})


def test_timestamps_whose_local_time_leaves_year_9999_are_learned():
    """9999-12-31 18:30Z is year 10000 in Kolkata: reading the range raised OverflowError."""
    when = [dt.datetime(9999, 12, 31, 18, 30, tzinfo=dt.UTC), dt.datetime(2000, 1, 1, tzinfo=dt.UTC)]
    table = pa.table({"t": pa.array(when * 5, pa.timestamp("s", tz="Asia/Kolkata"))})
    model = synth_ray.fit(table, seed=0)
    assert model.metadata["t"].max == "9999-12-31T18:30:00+00:00"  # the instant, in UTC
    assert model.metadata["t"].min == "2000-01-01T05:30:00+05:30"
    fake = model.sample_arrow(100, seed=0)
    got = fake["t"].cast(pa.int64()).to_numpy()  # as_py() cannot hold year 10000 in Kolkata
    assert fake.schema == table.schema and got.min() >= 946_684_800 and got.max() <= 253_402_281_000


SPEC_TABLE = pa.table({"price": [1.0, 2.0, 3.0] * 5, "qty": [1, 2, 3] * 5, "city": ["a", "b", "c"] * 5})


@pytest.mark.parametrize(("spec", "expected"), [
    ({"colums": {}}, "table spec: unknown key 'colums': did you mean 'columns'?"),
    ({"columns": [1]}, "table spec: 'columns' must map column names to their specs"),
    ({"columns": {"price": {"knd": "numerical"}}}, "spec of column 'price': unknown key 'knd': did you mean 'kind'?"),
    ({"columns": {"price": {"kind": "numeric"}}}, "spec of column 'price': .*kind is one of numerical, categorical"),
    ({"columns": {"price": {"decimals": "2"}}}, "spec of column 'price': decimals must be an integer from 0 to 15"),
    ({"columns": {"price": "numerical"}}, "spec of column 'price': expected a mapping of keys to values, got str"),
    ({"columns": {"nope": {"kind": "id"}}}, "table spec: unknown column 'nope': valid columns are 'price'"),
    ({"columns": {"city": {"pii_type": "emial"}}}, "spec of column 'city': .*pii_type one of email, phone"),
    ({"columns": {"city": {"kind": "pii"}}}, "spec of column 'city': kind 'pii' needs a pii_type"),
    ({"columns": {"price": {"min": [1]}}}, "column 'price' is numerical, so its min must be a finite number"),
    ({"constraints": {"type": "range"}}, "table spec: 'constraints' must be a list of constraints"),
    ({"constraints": [{"type": "rang", "column": "price"}]}, "constraint #1: unknown constraint type 'rang'"),
    ({"constraints": [{"type": "range", "column": "price", "min": "0"}]}, "constraint #1: 'min' must be a finite"),
    ({"constraints": [{"type": "range", "column": "nope", "min": 0}]}, "unknown column 'nope'"),
    ({"constraints": [{"type": "inequality", "low": "price"}]}, "constraint #1: 'high' must be a column name"),
    ({"constraints": ["price > 0"]}, "constraint #1: expected a mapping such as {type: range"),
    ({"constraints": [{"type": "formula", "column": "price", "expression": "qty * nope"}]}, "unknown column 'nope'"),
    ({"constraints": [{"type": "formula", "column": "price", "expression": "qty ** 2"}]}, "formula 'qty \\*\\* 2'"),
])
def test_malformed_table_specs_are_refused_with_the_key_and_the_fix(spec, expected):
    with pytest.raises(ConfigError, match=expected):
        synth_ray.fit(SPEC_TABLE, spec=spec)


def test_malformed_spec_files_are_refused_with_the_file(tmp_path):
    for name, text, expected in [("s.yaml", "columns: {price: {kind: [", "s.yaml' is not valid YAML/JSON"),
                                 ("s.json", "{\"columns\": ", "s.json' is not valid YAML/JSON"),
                                 ("l.yaml", "- price\n- qty\n", "table spec: expected a mapping of keys")]:
        (tmp_path / name).write_text(text)
        with pytest.raises(ConfigError, match=expected):
            synth_ray.fit(SPEC_TABLE, spec=tmp_path / name)
    with pytest.raises(ConfigError, match="cannot read table spec .*missing.yaml"):
        synth_ray.fit(SPEC_TABLE, spec=tmp_path / "missing.yaml")


@pytest.mark.parametrize("spec", [[1, 2], 5])
def test_a_spec_of_the_wrong_type_is_refused(spec):
    with pytest.raises(ConfigError, match=f"table spec must be a path .* got {type(spec).__name__}"):
        synth_ray.fit(SPEC_TABLE, spec=spec)
