"""Golden values of the pure metric functions and of the verdict thresholds (issue 3)."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest
from scipy.stats import ks_2samp
from scipy.stats.contingency import association

import synth_ray
from synth_ray.evaluation.column_shapes import ks_complement, tv_complement
from synth_ray.evaluation.pair_trends import (
    bin_codes,
    contingency_similarity,
    correlation_similarity,
    cramers_v,
    pearson,
    select_pairs,
)
from synth_ray.evaluation.privacy import tail_ratio
from synth_ray.evaluation.row_hashes import duplicate_rate, match_rate, row_hashes
from synth_ray.evaluation.settings import EvaluationSettings
from synth_ray.evaluation.svg_charts import nice_ticks
from synth_ray.evaluation.verdicts import THRESHOLDS, Threshold, Verdict, make_check, worst

NAN = float("nan")


def test_ks_complement_golden_and_nulls():
    assert ks_complement(np.array([1.0, 2, 3, 4]), np.array([3.0, 4, 5, 6])) == 0.5
    assert ks_complement(np.array([1.0, 2, NAN]), np.array([1.0, 2.0])) == 1.0
    rng = np.random.default_rng(0)
    a, b = rng.normal(size=500), rng.normal(0.3, 1.2, size=700)
    assert ks_complement(a, b) == pytest.approx(1 - ks_2samp(a, b).statistic, abs=1e-12)


def test_shape_scores_when_one_side_is_empty():
    empty = np.array([NAN, NAN])
    assert ks_complement(np.array([1.0]), empty) == 0.0  # a dropped column scores 0
    assert math.isnan(ks_complement(empty, empty))        # all null in both: left out
    assert tv_complement(np.array([0, 1]), np.array([-1, -1])) == 0.0
    assert math.isnan(tv_complement(np.array([-1]), np.array([-1])))


def test_tv_complement_golden():
    assert tv_complement(np.array([0, 0, 1, 1]), np.array([0, 1, 1, 1])) == 0.75
    assert tv_complement(np.array([0, 1, -1]), np.array([2, 2])) == 0.0
    assert tv_complement(np.array([0, 1, -1, -1]), np.array([1, 0])) == 1.0  # nulls ignored


def test_pearson_and_correlation_similarity():
    assert pearson(np.array([1.0, 2, 3]), np.array([2.0, 4, 6])) == pytest.approx(1.0)
    assert pearson(np.array([1.0, 2, 3, NAN]), np.array([3.0, 2, 1, 7])) == pytest.approx(-1.0)
    assert math.isnan(pearson(np.array([1.0, 1, 1]), np.array([1.0, 2, 3])))
    assert correlation_similarity(0.8, 0.6) == pytest.approx(0.9)
    assert correlation_similarity(0.8, NAN) == pytest.approx(0.6)  # synthetic lost the trend
    assert math.isnan(correlation_similarity(NAN, 0.3))


def test_bin_codes_match_sdmetrics_digitize():
    codes = bin_codes(np.array([0.0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, NAN]))
    assert codes.tolist() == [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, -1]  # the max gets bin 11


def test_contingency_similarity_golden():
    real = (np.array([0, 0, 1, 1]), np.array([0, 1, 0, 1]))
    same = (np.array([1, 0, 1, 0]), np.array([1, 0, 0, 1]))
    assert contingency_similarity(real, same) == 1.0
    diagonal = (np.array([0, 0, 1, 1]), np.array([0, 0, 1, 1]))
    assert contingency_similarity(real, diagonal) == 0.5


def test_cramers_v_matches_scipy():
    assert cramers_v(np.array([0, 0, 1, 1]), np.array([0, 0, 1, 1])) == pytest.approx(1.0)
    assert cramers_v(np.array([0, 0, 1, 1]), np.array([0, 1, 0, 1])) == pytest.approx(0.0)
    assert math.isnan(cramers_v(np.array([0, 0, 0]), np.array([0, 1, 2])))
    rng = np.random.default_rng(1)
    a = rng.integers(0, 4, 2_000)
    b = (a + rng.integers(0, 3, 2_000)) % 5
    table = pd.crosstab(a, b).to_numpy()
    assert cramers_v(a, b) == pytest.approx(association(table, method="cramer"), abs=1e-12)


def test_cramers_v_of_large_sparse_tables():
    rng = np.random.default_rng(2)
    a = rng.integers(0, 5_000, 20_000)
    b = a // 1_000  # b is a function of a: perfectly associated
    table = pd.crosstab(a, b).to_numpy()
    assert cramers_v(a, b) == pytest.approx(association(table, method="cramer"), abs=1e-9)


def test_select_pairs_is_seeded_and_bounded():
    names = list("abcdef")
    assert len(select_pairs(names, max_pairs=100, rng=np.random.default_rng(0))) == 15
    first = select_pairs(names, max_pairs=4, rng=np.random.default_rng(3))
    assert first == select_pairs(names, max_pairs=4, rng=np.random.default_rng(3))
    assert len(first) == 4 and len(set(first)) == 4


def test_quality_score_golden_with_sdmetrics_thresholds():
    real = pd.DataFrame({"x": [1.0, 2, 3, 4], "y": [2.0, 4, 6, 8], "z": [5.0, 1, 4, 2]})
    fake = pd.DataFrame({"x": [1.0, 2, 3, 4], "y": [8.0, 6, 4, 2], "z": [1.0, 2, 4, 5]})
    meta = synth_ray.infer_metadata(pa.Table.from_pandas(real))
    score = synth_ray.quality_score(real, fake, meta)
    assert score.column_shapes == 1.0
    # x|y: r = 1 real, -1 synthetic, counts (|r| > 0.5) and scores 0; x|z and y|z have
    # |r| = 0.4 in the real table: no real trend, so they do not count (SDMetrics 0.32).
    assert score.pairs == {"x | y": 0.0}
    assert score.pair_trends == 0.0 and score.score == 0.5
    assert {p.first + p.second: p.counted for p in score.pair_details} == {
        "xy": True, "xz": False, "yz": False}
    assert score.standard_error is None  # nothing was sampled


def test_quality_score_without_any_real_trend_is_column_shapes_only():
    real = pd.DataFrame({"x": [1.0, 2, 3, 4], "z": [5.0, 1, 4, 2]})
    fake = pd.DataFrame({"x": [1.0, 2, 3, 5], "z": [5.0, 1, 4, 2]})
    score = synth_ray.quality_score(real, fake, synth_ray.infer_metadata(pa.Table.from_pandas(real)))
    assert math.isnan(score.pair_trends)
    assert score.score == score.column_shapes == pytest.approx((0.75 + 1.0) / 2)


@pytest.mark.parametrize(("key", "value", "expected"), [
    ("fidelity.quality", 0.80, Verdict.PASS), ("fidelity.quality", 0.79, Verdict.WARN),
    ("fidelity.quality", 0.65, Verdict.WARN), ("fidelity.quality", 0.649, Verdict.FAIL),
    ("detection.auc", 0.65, Verdict.PASS), ("detection.auc", 0.66, Verdict.WARN),
    ("detection.auc", 0.81, Verdict.FAIL), ("privacy.dcr_share", 0.50, Verdict.PASS),
    ("privacy.dcr_share", 0.55, Verdict.WARN), ("privacy.dcr_share", 0.61, Verdict.FAIL),
    ("privacy.dcr_tail", 0.79, Verdict.WARN), ("privacy.dcr_tail", 0.49, Verdict.FAIL),
    ("utility.gap", -0.2, Verdict.PASS), ("utility.gap", 0.10, Verdict.WARN),
    ("utility.gap", 0.16, Verdict.FAIL), ("diversity.duplicates", 0.011, Verdict.WARN),
    ("privacy.exact_matches", 0.002, Verdict.PASS), ("privacy.exact_matches", 0.02, Verdict.FAIL),
])
def test_verdict_thresholds(key, value, expected):
    assert THRESHOLDS[key].judge(value) is expected
    assert make_check(key, "label", value, "detail").verdict is expected


def test_unmeasurable_values_fail_and_worst_wins():
    assert Threshold(0.8, 0.6, higher_is_better=True).judge(NAN) is Verdict.FAIL
    assert worst([Verdict.PASS, Verdict.FAIL, Verdict.WARN]) is Verdict.FAIL
    assert worst([]) is None
    assert THRESHOLDS["fidelity.quality"].describe() == "pass >= 0.8, warn >= 0.65"


def test_privacy_tail_ratio():
    assert tail_ratio(0.0, 0.0) == 1.0
    assert tail_ratio(0.5, 0.0) == 10.0
    assert tail_ratio(0.01, 0.02) == 0.5


def test_row_hashes_ignore_physical_layout():
    plain = pa.table({"s": ["a", "b", None], "n": pa.array([1, 2, 3], pa.int64())})
    other = pa.table({"s": pa.array(["a", "b", None]).dictionary_encode(),
                      "n": pa.array([1.0, 2.0, 3.0])})
    assert (row_hashes(plain, ["s", "n"]) == row_hashes(other, ["s", "n"])).all()
    changed = pa.table({"s": ["a", "b", "c"], "n": pa.array([1, 2, 3], pa.int64())})
    assert (row_hashes(plain, ["s", "n"]) != row_hashes(changed, ["s", "n"])).tolist() == [
        False, False, True]
    assert row_hashes(plain, ["s", "n"])[0] != row_hashes(plain, ["n", "s"])[0]


def test_duplicate_and_match_rates():
    assert duplicate_rate(np.array([1, 1, 2, 3], dtype=np.uint64)) == 0.25
    assert match_rate(np.array([1, 5, 6, 7], dtype=np.uint64),
                      np.array([5, 9], dtype=np.uint64)) == 0.25


def test_settings_refuse_unknown_keys_and_bad_values():
    with pytest.raises(synth_ray.ConfigError, match="did you mean 'fidelity_rows'"):
        EvaluationSettings.from_mapping({"fidelity_row": 10})
    with pytest.raises(synth_ray.ConfigError, match="'detection_folds' must be an integer >= 2"):
        EvaluationSettings(detection_folds=1)


def test_nice_ticks():
    assert nice_ticks(0.0, 10.0, 6) == [0.0, 2.0, 4.0, 6.0, 8.0, 10.0]
    assert nice_ticks(0.2, 5.01, 6) == [1.0, 2.0, 3.0, 4.0, 5.0]
