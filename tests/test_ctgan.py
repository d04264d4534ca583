"""CTGAN: learns the table, honours the sampling contract, saves safely, refuses bad input."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import torch
from neural_contract import (
    check_bad_input,
    check_chunked_sampling,
    check_fit_is_deterministic,
    check_one_row,
    check_save_and_load,
    uniform_baseline,
)

import synth_ray

MODEL = "ctgan"


@pytest.fixture(scope="module")
def ctgan(diamonds: pd.DataFrame) -> synth_ray.Synthesizer:
    return synth_ray.fit(diamonds, model=MODEL, options={"epochs": 8}, seed=0)


@pytest.fixture(scope="module")
def fake(ctgan: synth_ray.Synthesizer) -> pd.DataFrame:
    return ctgan.sample(5_000, seed=1)


def test_quality_is_clearly_above_independent_uniform_columns(diamonds, ctgan, fake):
    score = synth_ray.quality_score(diamonds, fake, ctgan.metadata).score
    baseline = synth_ray.quality_score(diamonds, uniform_baseline(diamonds), ctgan.metadata).score
    assert score > baseline + 0.08, (score, baseline)


def test_categories_and_ranges_are_real(diamonds, fake):
    for column in ["cut", "color", "clarity"]:
        assert set(fake[column]) <= set(diamonds[column])
        real = diamonds[column].value_counts(normalize=True)
        synth = fake[column].value_counts(normalize=True).reindex(real.index, fill_value=0)
        assert 0.5 * (real - synth).abs().sum() < 0.2, column
    for column in ["carat", "price"]:
        assert fake[column].between(diamonds[column].min(), diamonds[column].max()).all()


def test_generator_learns_to_honour_its_condition(ctgan):
    """Conditioned on a discrete column's rarest category, it makes that category often."""
    generator = ctgan.generator
    layout = generator.encoding.layout
    assert len(generator.history["losses"]) == 8
    torch_rng = torch.Generator().manual_seed(0)
    for column, frequencies in enumerate(generator.space.frequencies):
        rarest = int(np.argmin(frequencies))
        conditions = torch.full((4_000,), generator.space.slot(column, rarest))
        _, slots = generator.generate(4_000, torch_rng, conditions)
        hit_rate = (slots[:, layout.discrete_spans[column]] == rarest).float().mean().item()
        assert hit_rate > 2 * frequencies[rarest], (column, hit_rate, frequencies[rarest])


def test_fit_is_deterministic(diamonds):
    check_fit_is_deterministic(MODEL, diamonds.head(600))


def test_chunked_sampling_is_partition_invariant(ctgan):
    check_chunked_sampling(ctgan)


def test_save_and_load_reproduce_samples(ctgan, tmp_path):
    check_save_and_load(ctgan, tmp_path)


def test_bad_input():
    check_bad_input(MODEL)


def test_single_row():
    check_one_row(MODEL)


def test_wide_category_is_capped_in_the_conditional_vector():
    rng = np.random.default_rng(0)
    n = 4_000
    frame = pd.DataFrame({"shop": [f"S{c:05d}" for c in rng.zipf(1.5, n) % 2_000],
                          "amount": rng.gamma(2.0, 10.0, n)})
    synth = synth_ray.fit(frame, model=MODEL, seed=0, spec={"rare_category_threshold": 0},  # every shop
                          options={"epochs": 1, "batch_size": 200, "max_categories": 50})
    generator = synth.generator
    assert generator.space.dim == 50 and generator.encoding.width <= 50 + 1 + 10
    entry = generator.config()["encoding"]["columns"][0]
    assert entry["width"] == 50 and entry["grouped"] == frame["shop"].nunique() - 49
    fake = synth.sample(3_000, seed=0)
    assert set(fake["shop"]) <= set(frame["shop"])


def test_validation_keeps_the_best_epoch(diamonds):
    synth = synth_ray.fit(diamonds.head(2_000), model=MODEL, seed=0,
                          options={"epochs": 4, "validation_fraction": 0.2, "patience": 2,
                                   "validation_rows": 400})
    history = synth.generator.history
    scores = dict(history["validation"])
    assert len(scores) == history["epochs_run"] and 0.0 < max(scores.values()) <= 1.0
    assert scores[history["best_epoch"]] == max(scores.values())
