"""Rare-category protection: a value seen in fewer than k real rows never leaves the fit.

One small table with frequent and rare values in a text column, a dictionary column and
an integer-category column; every model samples many rows without a rare value, the
placeholder comes out at about the rare values' combined share, and no saved model
directory holds a rare value's bytes.
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest

import synth_ray
from synth_ray.errors import ConfigError, SamplingError
from synth_ray.table_spec import ColumnSpec, TableSpec, load_table_spec
from synth_ray.transforms.categorical import (
    DEFAULT_RARE_THRESHOLD,
    RARE_TOKEN,
    CategoricalTransform,
    protect_categories,
)

N = 1_500
RARE_CITIES = [f"rare-city-{i:02d}" for i in range(40)]  # 1, 2, 3, 4, 1, 2, ... rows: 100 in all
RARE_GRADES = ["rare-grade-x", "rare-grade-unused"]      # 2 rows, and a dictionary entry never used
RARE_CODES = [7770001, 7770002]                            # 3 rows and 1 row
RARE_SHARE = 100 / N
SAMPLE_ROWS = 20_000
MODELS = {
    "copula": None,
    "ctgan": {"epochs": 2, "batch_size": 500, "threads": 1},
    "tvae": {"epochs": 2, "batch_size": 500, "threads": 1},
    "argn": {"epochs": 4, "hidden": 48, "threads": 1},
}


def _rare_table() -> pd.DataFrame:
    rng = np.random.default_rng(7)
    rare = [city for i, city in enumerate(RARE_CITIES) for _ in range(i % 4 + 1)]
    city = np.array(["Paris"] * 600 + ["Lyon"] * 450 + ["Nice"] * 350 + rare, dtype=object)
    rng.shuffle(city)
    grade = rng.choice(["A", "B", "C"], N, p=[0.5, 0.3, 0.2]).astype(object)
    grade[[5, 17]] = RARE_GRADES[0]
    code = rng.choice([10, 20, 30], N, p=[0.6, 0.3, 0.1])
    code[[3, 9, 11]] = RARE_CODES[0]
    code[12] = RARE_CODES[1]
    flag = np.zeros(N, dtype=bool)
    flag[[1, 2]] = True  # booleans are exempt: both values are public
    base = {"Paris": 10.0, "Lyon": 20.0, "Nice": 30.0}
    x = np.round([base.get(c, 50.0) for c in city] + rng.normal(0, 2, N), 2)
    return pd.DataFrame({
        "city": city,
        "grade": pd.Categorical(grade, categories=["A", "B", "C", *RARE_GRADES]),
        "code": pd.Categorical(code, categories=[10, 20, 30, *RARE_CODES]),
        "flag": flag,
        "x": x,
    })


@pytest.fixture(scope="module")
def real() -> pd.DataFrame:
    return _rare_table()


@pytest.fixture(scope="module", params=list(MODELS))
def fitted(request, real) -> tuple[str, synth_ray.Synthesizer]:
    model = request.param
    return model, synth_ray.fit(real, model=model, options=MODELS[model], seed=0)


def _leaks(text: bytes) -> list[str]:
    found = [v for v in RARE_CITIES + RARE_GRADES if v.encode() in text]
    return found + [str(v) for v in RARE_CODES
                    if re.search(rb"(?<![\d.])" + str(v).encode() + rb"(?![\d.])", text)]


def test_the_table_has_what_the_tests_need(real):
    counts = real["city"].value_counts()
    assert counts[RARE_CITIES].max() == DEFAULT_RARE_THRESHOLD - 1 and counts[RARE_CITIES].sum() == 100
    assert real["grade"].value_counts()[RARE_GRADES].tolist() == [2, 0]
    assert real["code"].value_counts()[RARE_CODES].tolist() == [3, 1]
    assert _leaks(b"rare-city-07 7770002") == ["rare-city-07", "7770002"]
    assert _leaks(b"0.37770001 17770001 7770001.5") == []


def test_no_model_emits_a_rare_value_and_the_placeholder_takes_their_share(fitted, real):
    model, synth = fitted
    fake = synth.sample(SAMPLE_ROWS, seed=1)
    assert set(fake["city"].dropna()) <= {"Paris", "Lyon", "Nice", RARE_TOKEN}
    assert set(fake["grade"].dropna()) <= {"A", "B", "C", RARE_TOKEN}
    assert set(fake["code"].dropna()) <= {10, 20, 30}
    assert list(fake["grade"].cat.categories) == ["A", "B", "C", RARE_TOKEN]
    assert list(fake["code"].cat.categories) == [10, 20, 30]
    assert fake["code"].dtype.categories.dtype == np.int64 and fake["code"].notna().all()
    if model in ("copula", "argn"):  # the neural models are barely trained here
        share = (fake["city"] == RARE_TOKEN).mean()
        assert abs(share - RARE_SHARE) < 0.02, share
        mode_share = (fake["code"] == 10).mean()  # the mode absorbs the 4 rare integer rows
        assert abs(mode_share - (real["code"] == 10).mean() - 4 / N) < 0.05


def test_every_engine_and_conditioning_sample_through_the_same_protected_codes(fitted):
    _, synth = fitted
    table = synth.sample_rows(1_000, 3_000, seed=5)
    assert not set(table.column("city").to_pylist()) & set(RARE_CITIES)
    fake = synth.sample(500, seed=2, conditions={"grade": "A"})
    assert (fake["grade"] == "A").all() and not set(fake["city"]) & set(RARE_CITIES)


def test_the_saved_model_holds_no_rare_value(fitted, tmp_path):
    model, synth = fitted
    folder = synth_ray.save(synth, tmp_path / model)
    files = [p for p in Path(folder).rglob("*") if p.is_file()]
    assert {p.name for p in files} >= {"reference_profile.json"}
    assert {p.name: _leaks(p.read_bytes()) for p in files} == {p.name: [] for p in files}
    loaded = synth_ray.load(folder)
    assert loaded.sample(2_000, seed=1).equals(synth.sample(2_000, seed=1))


def test_the_reference_profile_has_the_placeholder_not_the_rare_values(real):
    synth = synth_ray.fit(real, seed=0)
    city = synth.reference.columns["city"].categorical
    assert city.complete and set(city.values) == {"Paris", "Lyon", "Nice", RARE_TOKEN}
    assert dict(zip(city.values, city.shares, strict=True))[RARE_TOKEN] == pytest.approx(RARE_SHARE)
    code = synth.reference.columns["code"].categorical
    assert list(code.values) == [10, 20, 30]
    assert code.shares[0] == pytest.approx(((real["code"] == 10).sum() + 4) / N)
    flag = synth.reference.columns["flag"].categorical
    assert set(flag.values) == {False, True}  # booleans are exempt


def test_the_gx_gate_accepts_the_placeholder(real, tmp_path):
    pytest.importorskip("great_expectations", reason="needs the gx extra")
    from expectations import build_suite, validate_synthetic

    synth = synth_ray.fit(real, seed=0)
    folder = synth_ray.save(synth, tmp_path / "model")
    fake = synth.sample(5_000, seed=3)
    assert (fake["city"] == RARE_TOKEN).sum() > 100
    sets = {e.column: list(e.value_set) for e in build_suite(model_dir=folder).expectations
            if e.expectation_type == "expect_column_values_to_be_in_set"}
    assert RARE_TOKEN in sets["city"] and not set(sets["city"]) & set(RARE_CITIES)
    assert RARE_TOKEN in sets["grade"] and not set(sets["grade"]) & set(RARE_GRADES)
    # This table's few distinct rows repeat real rows by chance, and the copula is loose on
    # the city-x pair: those checks are not what this test is about.
    loose = {"max_copy_rate": 1.0, "max_association_delta": 1.0}
    result = validate_synthetic(fake, model_dir=folder, expected_rows=5_000, thresholds=loose)
    assert result.success, result.summary
    fake.loc[0, "city"] = RARE_CITIES[0]  # a real rare value is not an allowed value
    result = validate_synthetic(fake, model_dir=folder, expected_rows=5_000, thresholds=loose)
    assert not result.success and len(result.failures) == 1, result.summary
    assert "'city'" in result.failures[0] and "in_set" in result.failures[0]


def test_conditioning_on_a_rare_value_is_refused_naming_the_column(real):
    synth = synth_ray.fit(real, seed=0)
    with pytest.raises(SamplingError, match=r"column 'city'.*'rare-city-03' is protected.*fewer than 5"):
        synth.sample(10, seed=0, conditions={"city": "rare-city-03"})
    with pytest.raises(SamplingError, match=r"column 'code'.*7770001 is protected"):
        synth.sample(10, seed=0, conditions={"code": RARE_CODES[0]})
    with pytest.raises(SamplingError, match=r"column 'grade'.*protected"):
        synth.sample(10, seed=0, distribution={"grade": {"A": 1.0, RARE_GRADES[0]: 1.0}})
    per_row = pd.DataFrame({"city": ["Paris", "rare-city-00"]})
    with pytest.raises(SamplingError, match=r"column 'city'.*'rare-city-00' is protected"):
        synth.sample(2, seed=0, conditions=per_row)
    fake = synth.sample(50, seed=0, conditions={"city": RARE_TOKEN})
    assert (fake["city"] == RARE_TOKEN).all() and (fake["x"] > 40).mean() > 0.5


def test_threshold_zero_or_one_disables_protection(real):
    for k in (0, 1):
        synth = synth_ray.fit(real, spec={"rare_category_threshold": k}, seed=0)
        city = next(t for t in synth.transformer.learned if t.name == "city")
        assert isinstance(city, CategoricalTransform)
        assert RARE_TOKEN not in city.categories and set(RARE_CITIES) <= set(city.categories)
    fake = synth.sample(SAMPLE_ROWS, seed=1)
    assert fake["city"].isin(RARE_CITIES).mean() == pytest.approx(RARE_SHARE, abs=0.02)
    assert set(fake["code"]) & set(RARE_CODES)
    assert RARE_GRADES[1] in list(fake["grade"].cat.categories)  # the whole dictionary is kept


def _categories(synth: synth_ray.Synthesizer, name: str) -> list:
    return next(t for t in synth.transformer.learned if t.name == name).categories


def test_the_spec_overrides_k_per_table_and_per_column(real, tmp_path):
    spec_file = tmp_path / "spec.yaml"
    spec_file.write_text("rare_category_threshold: 0\ncolumns:\n  city: {rare_category_threshold: 400}\n")
    synth = synth_ray.fit(real, spec=spec_file, seed=0)
    assert _categories(synth, "city") == ["Paris", "Lyon", RARE_TOKEN]  # Nice (350) < 400 too
    assert set(RARE_CODES) <= set(_categories(synth, "code"))  # the table's k = 0 applies
    assert synth.metadata["city"].rare_category_threshold == 400
    assert synth.metadata["code"].rare_category_threshold == 0
    assert synth.metadata["flag"].rare_category_threshold is None
    python = TableSpec(columns={"grade": ColumnSpec(rare_category_threshold=3)})
    synth = synth_ray.fit(real, spec=python, seed=0)
    assert _categories(synth, "grade")[-1] == RARE_TOKEN and RARE_CITIES[0] not in _categories(synth, "city")
    assert synth_ray.fit(real, spec={"columns": {"grade": {"rare_category_threshold": 2}}},
                         seed=0).transformer.learned[1].categories == ["A", "B", "C", RARE_GRADES[0]]


def test_bad_thresholds_are_refused_with_the_key_and_the_fix(real):
    with pytest.raises(ConfigError, match=r"spec of column 'city': rare_category_threshold must be a "
                                          r"non-negative integer.*got -1"):
        load_table_spec({"columns": {"city": {"rare_category_threshold": -1}}})
    with pytest.raises(ConfigError, match=r"table spec: rare_category_threshold .*got 'five'"):
        load_table_spec({"rare_category_threshold": "five"})
    with pytest.raises(ConfigError, match=r"nearest.*rare_category_threshold|rare_category_threshold"):
        load_table_spec({"rare_category_treshold": 3})
    with pytest.raises(ConfigError, match=r"column 'flag'.*is boolean.*remove it"):
        synth_ray.fit(real, spec={"columns": {"flag": {"rare_category_threshold": 5}}}, seed=0)
    small = pd.DataFrame({"code": pd.Categorical([1, 2, 2, 3]), "x": [1.0, 2.0, 3.0, 4.0]})
    with pytest.raises(ConfigError, match=r"column 'code': each of its 3 values is seen in fewer than 5"):
        synth_ray.fit(small, seed=0)
    text = pd.DataFrame({"word": ["a", "b", "b", "c"], "x": [1.0, 2.0, 3.0, 4.0]})
    assert set(synth_ray.fit(text, seed=0).sample(50, seed=0)["word"]) == {RARE_TOKEN}


def test_protect_categories_golden_values():
    got = protect_categories([("b", 3), ("a", 9), ("c", 3), ("_RARE_", 6), ("d", 5)], name="t",
                             value_type=pa.string(), threshold=4)
    assert (got.categories, got.counts, got.other_code, got.protected_rows) == (
        ["_RARE_", "a", "d"], [12, 9, 5], 0, 6)
    got = protect_categories([(3, 1), (1, 7), (2, 7)], name="t",
                             value_type=pa.int64(), threshold=None)
    assert (got.categories, got.counts, got.threshold, got.other_code) == ([1, 2], [8, 7], 5, 0)
    got = protect_categories([(True, 1), (False, 7)], name="t",
                             value_type=pa.bool_(), threshold=5)
    assert (got.categories, got.threshold, got.protected_rows) == ([False, True], 0, 0)


def _assert_protected(synth: synth_ray.Synthesizer, folder: Path) -> None:
    city = next(t for t in synth.transformer.learned if t.name == "city")
    assert dict(zip(city.categories, city.counts, strict=True))[RARE_TOKEN] == 100
    assert synth.reference.columns["city"].categorical.values[-1] == RARE_TOKEN
    assert not set(synth.sample(SAMPLE_ROWS, seed=1)["city"]) & set(RARE_CITIES)
    synth_ray.save(synth, folder)
    assert not [p.name for p in folder.rglob("*") if p.is_file() and _leaks(p.read_bytes())]


def test_spark_fits_protect_rare_values_of_the_whole_table(spark, real, tmp_path):
    from spark_udfs import fit_dataframe

    synth = fit_dataframe(spark.createDataFrame(real[["city", "flag", "x"]]), max_rows=500, seed=0)
    assert synth.training.rows <= 500  # categories are counted by Spark over all 1,500 rows:
    _assert_protected(synth, tmp_path / "spark")
    assert synth.reference.columns["city"].categorical.shares[-1] == pytest.approx(RARE_SHARE)


def test_ray_train_fits_protect_rare_values(ray_cluster, real, tmp_path):
    from synth_ray.on_ray import fit_on_ray

    synth = fit_on_ray(real[["city", "flag", "x"]], model="tvae", workers=1, epochs=1, seed=0,
                       options={"batch_size": 500, "threads": 1}, storage_path=tmp_path / "train")
    assert synth.training.stats_rows == N
    _assert_protected(synth, tmp_path / "ray")
