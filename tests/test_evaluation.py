"""``synth_ray.evaluate``: the typed result, its JSON, the verdicts, and bad input (issue 3)."""

from __future__ import annotations

import json
import math

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest
from conftest import make_mixed_table

import synth_ray
from synth_ray import ConfigError, DataError, SchemaError
from synth_ray.evaluation.verdicts import THRESHOLDS, Verdict

SMALL = {"detection_rows": 400, "detection_folds": 3, "utility_rows": 600, "privacy_rows": 400}


@pytest.fixture(scope="module")
def mixed_result(mixed_table, mixed_model) -> synth_ray.EvaluationResult:
    fake = mixed_model.sample_arrow(3_000, seed=5)
    holdout = make_mixed_table(n=600, seed=1)
    return synth_ray.evaluate(mixed_table, fake, mixed_model.metadata, holdout=holdout,
                              target="segment", settings=SMALL)


@pytest.fixture(scope="module")
def wage_split() -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """Three disjoint thirds of ISLR/Wage: training, holdout, and a 'perfect' synthetic."""
    frame = synth_ray.load_dataset("wage").sample(frac=1.0, random_state=0).reset_index(drop=True)
    return frame.iloc[:1000], frame.iloc[1000:2000], frame.iloc[2000:3000]


def test_result_covers_every_metric(mixed_result):
    r = mixed_result
    assert 0.8 < r.quality.score <= 1.0 and 0.8 < r.quality.column_shapes <= 1.0
    assert {c.name for c in r.columns} == {"amount", "quantity", "segment", "region", "is_member",
                                           "created_at", "birth_date", "always_null"}
    assert r.detection is not None and 0.0 <= r.detection.auc <= 1.0
    assert r.detection.rows_per_class == 400 and r.detection.folds == 3
    assert r.utility is not None and r.utility.task == "classification"
    assert [m.name for m in r.utility.metrics] == ["macro_f1", "roc_auc"]
    assert r.utility.train_rows == 600 and r.utility.test_rows == 600
    assert r.privacy.dcr_share is not None and 0.3 < r.privacy.dcr_share < 0.7
    assert r.privacy.distance_rows == 400 and r.privacy.exact_match_rate == 0.0
    assert r.diversity.category_coverage == 1.0 and r.diversity.duplicate_rate == 0.0
    assert {c.key for c in r.checks} == set(THRESHOLDS)
    assert r.verdict in set(Verdict) and r.notes == ()


def test_ids_pii_and_all_null_columns_are_documented_not_scored(mixed_result):
    skipped = mixed_result.skipped
    assert skipped["order_id"].startswith("id column") and skipped["email"].startswith("pii (email)")
    assert skipped["always_null"] == "all null in both tables: only its null rate is compared"
    assert math.isnan(mixed_result.quality.columns["always_null"])
    assert "order_id" not in mixed_result.quality.columns


def test_datetimes_are_reported_as_dates(mixed_result):
    created = next(c for c in mixed_result.columns if c.name == "created_at")
    birth = next(c for c in mixed_result.columns if c.name == "birth_date")
    assert str(created.real_min).startswith("2024-01-0") and "T" in str(created.real_min)
    assert len(str(birth.real_min)) == 10 and str(birth.real_min) >= "1950-01-01"
    assert created.distribution.kind == "histogram" and len(created.distribution.edges) == 31
    assert sum(created.distribution.real) == pytest.approx(1.0)


def test_json_is_strict_and_complete(mixed_result, tmp_path):
    text = mixed_result.to_json(tmp_path / "m.json")
    data = json.loads((tmp_path / "m.json").read_text())
    assert data == json.loads(text)
    assert data["format"] == "synth-ray-evaluation" and data["format_version"] == 1
    assert data["verdict"] == mixed_result.verdict.value
    assert set(data["sections"]) == {"fidelity", "detection", "utility", "privacy", "diversity"}
    assert data["quality"]["columns"]["always_null"] is None  # NaN is written as null
    assert data["sampling"]["seed"] == 0 and data["settings"]["privacy_rows"] == 400
    assert "NaN" not in text and "Infinity" not in text


def test_same_seed_same_result_other_seed_other_samples(mixed_table, mixed_model):
    fake = mixed_model.sample_arrow(1_500, seed=1)
    settings = {**SMALL, "fidelity_rows": 1_000}
    a = synth_ray.evaluate(mixed_table, fake, mixed_model.metadata, settings=settings)
    b = synth_ray.evaluate(mixed_table, fake, mixed_model.metadata, settings=settings)
    c = synth_ray.evaluate(mixed_table, fake, mixed_model.metadata, settings={**settings, "seed": 1})
    assert repr(a.quality) == repr(b.quality) and a.detection == b.detection  # repr: NaN == NaN
    assert a.quality.score != c.quality.score
    assert a.sampling.real_sampled == 1_000 and a.sampling.synthetic_sampled == 1_000
    assert a.quality.standard_error is not None and 0 < a.quality.standard_error < 0.05
    assert "1,000 of 2,000 real rows" in a.sampling.describe()


def test_a_fresh_real_sample_passes_everything(wage_split):
    train, holdout, other = wage_split
    r = synth_ray.evaluate(train, other, holdout=holdout, target="wage", settings=SMALL)
    assert r.verdict is Verdict.PASS, [(c.key, c.value) for c in r.checks]
    assert abs(r.privacy.dcr_share - 0.5) < 0.05
    assert r.utility is not None and abs(r.utility.metrics[0].gap) < 0.05


def test_copies_of_training_rows_fail_privacy(wage_split):
    train, holdout, _ = wage_split
    copies = train.sample(frac=1.0, random_state=1)
    r = synth_ray.evaluate(train, copies, holdout=holdout, settings={**SMALL, "privacy_rows": 1000})
    verdicts = {c.key: c.verdict for c in r.checks}
    assert r.privacy.exact_match_rate == 1.0
    assert r.privacy.dcr_share > 0.95
    assert {verdicts[k] for k in ("privacy.exact_matches", "privacy.dcr_share", "privacy.dcr_tail",
                                  "privacy.nndr_tail")} == {Verdict.FAIL}
    # the classifier is systematically wrong on copies (AUC < 0.5): judged as 1 - AUC
    detection = next(c for c in r.checks if c.key == "detection.auc")
    assert r.detection is not None and r.detection.auc < 0.45
    assert detection.value == pytest.approx(1 - r.detection.auc)


def test_regression_utility_and_collapsed_generator(wage_split):
    train, holdout, _ = wage_split
    collapsed = pd.concat([train.iloc[:5]] * 200, ignore_index=True)  # 1,000 rows, 5 distinct
    r = synth_ray.evaluate(train, collapsed, holdout=holdout, target="age", settings=SMALL)
    checks = {c.key: c for c in r.checks}
    assert r.utility is not None and r.utility.task == "regression"
    assert checks["utility.gap"].verdict is Verdict.FAIL
    assert r.diversity.duplicate_rate == pytest.approx(0.995)
    assert checks["diversity.duplicates"].verdict is Verdict.FAIL
    assert checks["diversity.category_coverage"].verdict is not Verdict.PASS


# ---------------------------------------------------------------- bad input, one test each


@pytest.fixture(scope="module")
def small() -> pd.DataFrame:
    rng = np.random.default_rng(0)
    return pd.DataFrame({"a": rng.normal(size=200), "b": rng.choice(["x", "y"], 200),
                         "c": rng.integers(0, 5, 200)})


def test_missing_column_is_named(small):
    with pytest.raises(SchemaError, match=r"the synthetic table lacks column\(s\) 'c' of the real"):
        synth_ray.evaluate(small, small.drop(columns=["c"]))


def test_extra_column_is_named(small):
    with pytest.raises(SchemaError, match=r"holdout table has column\(s\) 'extra' that the real"):
        synth_ray.evaluate(small, small, holdout=small.assign(extra=1))


def test_incompatible_dtype_is_named(small):
    with pytest.raises(SchemaError, match=r"column 'a' holds number values \(double\) in the real "
                                          r"table but text values \((large_)?string\) in the synthetic"):
        synth_ray.evaluate(small, small.assign(a=small["a"].astype(str)))


def test_compatible_dtypes_are_accepted(small):
    widened = pa.table({"a": small["a"], "b": pa.array(small["b"]).dictionary_encode(),
                        "c": small["c"].astype("float64")})
    r = synth_ray.evaluate(small, widened, settings=SMALL)
    assert r.quality.score == 1.0 and r.privacy.exact_match_rate == 1.0


def test_empty_inputs_are_refused(small):
    with pytest.raises(DataError, match="the synthetic table has 0 rows: .*synth-ray sample"):
        synth_ray.evaluate(small, small.iloc[:0])
    with pytest.raises(DataError, match="the real table has 0 rows"):
        synth_ray.evaluate(small.iloc[:0], small)


def test_missing_target_suggests_a_column(small):
    with pytest.raises(SchemaError, match="target: unknown column 'bb': did you mean 'b'"):
        synth_ray.evaluate(small, small, holdout=small, target="bb")


def test_constant_target_is_refused(small):
    constant = small.assign(b="x")
    with pytest.raises(DataError, match=r"target column 'b' has a single value \(x\)"):
        synth_ray.evaluate(constant, constant, holdout=constant, target="b")


def test_all_null_target_is_refused(small):
    empty = small.assign(a=np.nan)
    with pytest.raises(DataError, match="target column 'a' is all null in the real table"):
        synth_ray.evaluate(empty, empty, holdout=empty, target="a")


def test_target_needs_a_holdout(small):
    with pytest.raises(ConfigError, match="target 'b' needs a holdout"):
        synth_ray.evaluate(small, small, target="b")


def test_all_null_synthetic_column_scores_zero_and_fails_null_rates(small):
    dropped = small.assign(a=np.nan)
    r = synth_ray.evaluate(small, dropped, settings=SMALL)
    checks = {c.key: c for c in r.checks}
    assert r.quality.columns["a"] == 0.0
    assert checks["fidelity.null_rates"].value == 1.0
    assert checks["fidelity.null_rates"].verdict is Verdict.FAIL


def test_metadata_of_another_table_is_refused(small):
    other = synth_ray.infer_metadata(pa.table({"z": [1, 2, 3]}))
    with pytest.raises(SchemaError, match="the metadata does not describe the real table"):
        synth_ray.evaluate(small, small, other)


def test_only_regenerated_columns_is_refused():
    ids = pd.DataFrame({"customer_id": np.arange(50), "email": [f"u{i}@x.org" for i in range(50)]})
    with pytest.raises(DataError, match="no column can be compared"):
        synth_ray.evaluate(ids, ids)


def test_target_that_is_the_only_learned_column_is_refused():
    frame = pd.DataFrame({"order_id": np.arange(100), "kind": ["a", "b"] * 50})
    with pytest.raises(ConfigError, match="'kind' is the only learned column"):
        synth_ray.evaluate(frame, frame, holdout=frame, target="kind")
