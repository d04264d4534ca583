"""TVAE: learns the table, honours the sampling contract, saves safely, bounds its width."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from neural_contract import (
    check_bad_input,
    check_chunked_sampling,
    check_fit_is_deterministic,
    check_one_row,
    check_save_and_load,
    uniform_baseline,
)

import synth_ray

MODEL = "tvae"


@pytest.fixture(scope="module")
def tvae(diamonds: pd.DataFrame) -> synth_ray.Synthesizer:
    return synth_ray.fit(diamonds, model=MODEL, options={"epochs": 8}, seed=0)


@pytest.fixture(scope="module")
def fake(tvae: synth_ray.Synthesizer) -> pd.DataFrame:
    return tvae.sample(5_000, seed=1)


def test_quality_is_clearly_above_independent_uniform_columns(diamonds, tvae, fake):
    score = synth_ray.quality_score(diamonds, fake, tvae.metadata)
    baseline = synth_ray.quality_score(diamonds, uniform_baseline(diamonds), tvae.metadata)
    assert score.score > baseline.score + 0.1, (score.score, baseline.score)
    assert score.column_shapes > 0.85


def test_training_lowers_the_loss_and_keeps_sigma_in_bounds(tvae):
    losses = tvae.generator.history["losses"]
    assert losses[-1]["loss"] < 0.7 * losses[0]["loss"]
    sigma = tvae.generator.decoder.sigma.detach().numpy()
    assert sigma.min() >= 0.01 - 1e-7 and sigma.max() <= 1.0


def test_fit_is_deterministic(diamonds):
    check_fit_is_deterministic(MODEL, diamonds.head(600))


def test_chunked_sampling_is_partition_invariant(tvae):
    check_chunked_sampling(tvae)


def test_save_and_load_reproduce_samples(tvae, tmp_path):
    check_save_and_load(tvae, tmp_path)


def test_bad_input():
    check_bad_input(MODEL)


def test_single_row():
    check_one_row(MODEL)


def test_hundred_thousand_categories_keep_the_network_small():
    n = 100_000
    rng = np.random.default_rng(0)
    frame = pd.DataFrame({"sku": [f"SKU{i:06d}" for i in rng.permutation(n)],
                          "qty": rng.poisson(3, n)})
    spec = {"columns": {"sku": {"kind": "categorical", "rare_category_threshold": 0}}}  # all seen once
    synth = synth_ray.fit(frame, model=MODEL, spec=spec, seed=0,
                          options={"epochs": 1, "batch_size": 2_000})
    generator = synth.generator
    entry = generator.config()["encoding"]["columns"][0]
    assert entry == {"name": "sku", "n_categories": n, "width": 1_000, "grouped": n - 999,
                     "grouped_row_share": pytest.approx((n - 999) / n)}
    assert generator.encoding.width < 1_100
    weights = sum(v.size for k, v in generator.tensors().items() if k.startswith("network/"))
    assert weights < 300_000  # ~1,000 outputs wide, not 100,000
    fake = synth.sample(5_000, seed=0)
    assert set(fake["sku"]) <= set(frame["sku"])
    assert fake["sku"].nunique() > 2_000  # the grouped tail is sampled back, not dropped
