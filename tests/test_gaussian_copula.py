"""The copula learns what it should: marginals, dependence, category frequencies."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import stats

import synth_ray


@pytest.fixture(scope="module")
def fake(diamonds_model) -> pd.DataFrame:
    return diamonds_model.sample(20_000, seed=1)


@pytest.mark.parametrize("column", ["carat", "depth", "price", "x"])
def test_marginals_match(diamonds, fake, column):
    assert stats.ks_2samp(diamonds[column], fake[column]).statistic < 0.03


def test_values_stay_in_range_with_their_decimals(diamonds, fake):
    for column in ["carat", "depth", "price", "x"]:
        assert fake[column].min() >= diamonds[column].min()
        assert fake[column].max() <= diamonds[column].max()
    assert (fake["carat"] * 100).round(9).mod(1).eq(0).all()  # 2 decimals, as in the real data
    assert fake["price"].dtype == np.int64


def test_rank_correlation_is_kept(diamonds, fake):
    for a, b in [("carat", "price"), ("x", "carat"), ("depth", "table")]:
        real = stats.spearmanr(diamonds[a], diamonds[b]).statistic
        synth = stats.spearmanr(fake[a], fake[b]).statistic
        assert synth == pytest.approx(real, abs=0.05), (a, b)


def test_category_frequencies_match(diamonds, fake):
    for column in ["cut", "color", "clarity"]:
        real = diamonds[column].value_counts(normalize=True)
        synth = fake[column].value_counts(normalize=True).reindex(real.index, fill_value=0)
        assert 0.5 * (real - synth).abs().sum() < 0.02, column
        assert set(fake[column]) <= set(diamonds[column])


def test_quality_score_is_high(diamonds, fake, diamonds_model):
    score = synth_ray.quality_score(diamonds, fake, diamonds_model.metadata)
    assert score.column_shapes > 0.97
    assert score.pair_trends > 0.9
    assert score.score > 0.94


def test_independent_columns_stay_independent():
    rng = np.random.default_rng(0)
    frame = pd.DataFrame({"a": rng.normal(size=5_000), "b": rng.exponential(size=5_000)})
    fake = synth_ray.fit(frame, seed=0).sample(20_000, seed=0)
    assert abs(stats.spearmanr(fake["a"], fake["b"]).statistic) < 0.05


def test_fit_is_deterministic(diamonds):
    a = synth_ray.fit(diamonds, seed=3).sample_arrow(1_000, seed=1)
    b = synth_ray.fit(diamonds, seed=3).sample_arrow(1_000, seed=1)
    assert a.equals(b)
