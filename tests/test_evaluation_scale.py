"""Sampling: the metrics of a sample agree with the full data's within their sampling error."""

from __future__ import annotations

import math

import pytest
from conftest import make_mixed_table

import synth_ray


@pytest.fixture(scope="module")
def big_tables(diamonds, diamonds_model):
    """150,000 'real' and 300,000 synthetic rows of a deliberately weaker generator."""
    weak = synth_ray.fit(diamonds.sample(400, random_state=3), seed=0)
    return diamonds_model.sample_arrow(150_000, seed=1), weak.sample_arrow(300_000, seed=2)


def test_sampled_quality_agrees_with_the_full_data(big_tables, diamonds_model):
    real, fake = big_tables
    meta = diamonds_model.metadata
    full = synth_ray.quality_score(real, fake, meta, max_rows=300_000)
    assert full.rows_compared == (150_000, 300_000) and full.standard_error is None
    assert full.score < 0.99  # the weaker generator leaves something to measure
    for seed in (0, 1, 2):
        sampled = synth_ray.quality_score(real, fake, meta, max_rows=20_000, seed=seed)
        assert sampled.rows_compared == (20_000, 20_000)
        assert sampled.standard_error is not None and 0 < sampled.standard_error < 0.01
        assert abs(sampled.score - full.score) <= 3 * sampled.standard_error, seed


def test_sampled_null_rates_and_coverage_agree_with_the_full_data(mixed_model):
    real = make_mixed_table(n=40_000, seed=7)
    fake = mixed_model.sample_arrow(120_000, seed=3)
    settings = {"detection_rows": 300, "detection_folds": 2, "privacy_rows": 300}
    full = synth_ray.evaluate(real, fake, mixed_model.metadata,
                              settings={**settings, "fidelity_rows": 120_000})
    sampled = synth_ray.evaluate(real, fake, mixed_model.metadata,
                                 settings={**settings, "fidelity_rows": 10_000})
    assert "10,000 of 120,000 synthetic rows" in sampled.sampling.describe()
    for f, s in zip(full.columns, sampled.columns, strict=True):
        p = f.synthetic_null_rate
        error = math.sqrt(p * (1 - p) / 10_000) + math.sqrt(p * (1 - p) / 120_000)
        assert abs(s.synthetic_null_rate - p) <= 4 * error + 1e-12, f.name
    assert sampled.diversity.category_coverage == full.diversity.category_coverage == 1.0
