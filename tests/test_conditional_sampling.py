"""Conditional sampling: fixed conditions, rebalancing to exact counts, per-row conditions.

Every check uses the real pipeline (fit, the chunked sampler, save/load, the CLI).
"""

from __future__ import annotations

import itertools

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest

import synth_ray
from synth_ray import SamplingError
from synth_ray.cli.main import main
from synth_ray.conditions import conditions_from_text, distribution_from_text, exact_counts

BALANCED = {"cut": {"Ideal": 0.5, "Fair": 0.3, "Good": 0.2}}
CHUNK = 4_096  # small chunks: samples span several of them and stay fast on a shared CPU


@pytest.fixture(scope="module")
def copula(diamonds: pd.DataFrame) -> synth_ray.Synthesizer:
    model = synth_ray.fit(diamonds, seed=0)
    model.chunk_rows = CHUNK
    return model


@pytest.fixture(scope="module")
def ctgan(diamonds: pd.DataFrame) -> synth_ray.Synthesizer:
    model = synth_ray.fit(diamonds.head(1_000), model="ctgan", seed=0,
                          options={"epochs": 2, "batch_size": 500})
    model.chunk_rows = CHUNK
    return model


def test_fixed_conditions_hold_in_every_row(copula):
    fake = copula.sample(10_000, seed=3, conditions={"cut": "Fair", "color": "J"})
    assert len(fake) == 10_000
    assert (fake["cut"] == "Fair").all() and (fake["color"] == "J").all()


def test_distribution_gives_exact_counts(copula):
    for n in (1, 7, 10_001):
        counts = copula.sample(n, seed=1, distribution=BALANCED)["cut"].value_counts()
        expected = dict(zip(["Ideal", "Fair", "Good"], exact_counts(np.array([0.5, 0.3, 0.2]), n),
                            strict=True))
        assert {k: int(v) for k, v in counts.items() if v} == {k: v for k, v in expected.items() if v}


def test_every_chunk_gets_nearly_its_share(copula):
    table = copula.sample_arrow(3 * copula.chunk_rows, seed=2, distribution=BALANCED)
    for chunk in range(3):
        part = table.slice(chunk * copula.chunk_rows, copula.chunk_rows)
        share = (part["cut"].to_pandas() == "Fair").mean()
        assert abs(share - 0.3) < 0.001


@pytest.mark.parametrize("request_", [{"conditions": {"cut": "Good"}}, {"distribution": BALANCED},
                                      {"conditions": {"color": "E"}, "distribution": BALANCED}])
def test_any_split_gives_the_same_rows(copula, request_):
    n = 3 * CHUNK + 1
    whole = copula.sample_arrow(n, seed=5, **request_)
    bounds = [0, 1, CHUNK - 1, CHUNK + 1, 2 * CHUNK + 100, n]
    parts = [copula.sample_rows(a, b, seed=5, total_rows=n, **request_)
             for a, b in itertools.pairwise(bounds)]
    assert pa.concat_tables(parts).equals(whole)
    assert copula.sample_arrow(n, seed=5, threads=1, **request_).equals(whole)
    assert pa.concat_tables(list(copula.iter_batches(n, seed=5, **request_))).equals(whole)
    assert not copula.sample_arrow(n, seed=6, **request_).equals(whole)


def test_copula_conditions_exactly_on_its_latent_interval(copula):
    """Conditioned rows follow the copula's own conditional law: unconditional rows filtered."""
    everything = copula.sample(200_000, seed=9)
    for cut in ["Premium", "Fair"]:
        fake = copula.sample(20_000, seed=4, conditions={"cut": cut})
        filtered = everything.loc[everything["cut"] == cut]
        for column in ["carat", "price"]:
            gap = abs(fake[column].mean() - filtered[column].mean()) / everything[column].std()
            assert gap < 0.03, (cut, column, gap)


def test_copula_conditionals_are_close_to_the_real_ones(diamonds, copula):
    """E[carat | cut] and E[price | cut] within 0.1 standard deviation of the real ones.

    Fair is left out: a copula only expresses monotone dependence, and the rarest cut
    holds the largest stones (known limitation, same with unconditional rows).
    """
    for cut in ["Ideal", "Premium", "Very Good"]:
        fake = copula.sample(20_000, seed=4, conditions={"cut": cut})
        real = diamonds.loc[diamonds["cut"] == cut]
        for column in ["carat", "price"]:
            gap = abs(fake[column].mean() - real[column].mean()) / diamonds[column].std()
            assert gap < 0.1, (cut, column, gap)
        shares = fake["color"].value_counts(normalize=True)
        real_shares = real["color"].value_counts(normalize=True).reindex(shares.index, fill_value=0)
        assert 0.5 * (shares - real_shares).abs().sum() < 0.12, cut


def test_per_row_conditions(copula):
    wanted = pd.DataFrame({"cut": ["Fair", None, "Ideal", "Good"] * 500,
                           "color": ["J", "E", None, "D"] * 500})
    fake = copula.sample(len(wanted), seed=1, conditions=wanted)
    for column in wanted:
        given = wanted[column].notna()
        assert (fake.loc[given, column].astype(str) == wanted.loc[given, column]).all()
    part = copula.sample_rows(1_000, 1_500, seed=1, conditions=wanted)
    assert part.equals(copula.sample_arrow(len(wanted), seed=1, conditions=wanted).slice(1_000, 500))


def test_ctgan_conditions_and_rebalancing(ctgan):
    fake = ctgan.sample(5_000, seed=2, conditions={"cut": "Fair"})
    assert (fake["cut"] == "Fair").all()
    both = ctgan.sample(3_000, seed=2, conditions={"cut": "Good", "clarity": "SI1"})
    assert (both["cut"] == "Good").all() and (both["clarity"] == "SI1").all()
    n = 9_001
    whole = ctgan.sample_arrow(n, seed=3, distribution=BALANCED)
    counts = whole["cut"].to_pandas().value_counts()
    assert dict(counts[counts > 0]) == dict(zip(["Ideal", "Fair", "Good"],
                                                exact_counts(np.array([0.5, 0.3, 0.2]), n), strict=True))
    parts = [ctgan.sample_rows(a, b, seed=3, distribution=BALANCED, total_rows=n)
             for a, b in itertools.pairwise([0, 4_000, 4_097, n])]
    assert pa.concat_tables(parts).equals(whole)


def test_tvae_conditions_by_rejection(diamonds):
    model = synth_ray.fit(diamonds.head(1_000), model="tvae", seed=0,
                          options={"epochs": 2, "batch_size": 500})
    model.chunk_rows = 2_048
    fake = model.sample(3_000, seed=1, conditions={"color": "E"})
    assert (fake["color"] == "E").all()


def test_bad_conditions_are_refused_by_name(copula):
    cases = [
        ({"conditions": {"cutt": "Ideal"}}, "unknown conditionable column 'cutt': did you mean 'cut'"),
        ({"conditions": {"cut": "Perfect"}}, "the value 'Perfect' is protected or unknown.*'Ideal'"),
        ({"conditions": {"price": 300}}, "'price': it is numerical"),
        ({"distribution": {"cut": {"Ideal": -1}}}, "non-negative number"),
        ({"distribution": {"cut": {"Ideal": 0}}}, "positive weight"),
        ({"distribution": {"cut": {"Ideal": 1}, "color": {"E": 1}}}, "one column"),
        ({"conditions": {"cut": "Fair"}, "distribution": {"cut": {"Ideal": 1}}}, "both a condition"),
        ({"conditions": pd.DataFrame({"cut": ["Fair"] * 3})}, "3 rows of conditions for a sample of 10"),
    ]
    for kwargs, message in cases:
        with pytest.raises(SamplingError, match=message):
            copula.sample(10, seed=0, **kwargs)
    with pytest.raises(SamplingError, match="total_rows"):
        copula.sample_rows(0, 10, distribution=BALANCED)


def test_too_rare_conditions_fail_after_bounded_rounds(diamonds, monkeypatch):
    monkeypatch.setattr("synth_ray.conditional_rows.MAX_ROUNDS", 3)
    monkeypatch.setattr("synth_ray.conditional_rows.MAX_CANDIDATES", 1 << 14)
    spec = {"constraints": [{"type": "fixed_combinations", "columns": ["cut", "color"]}]}
    real = diamonds.loc[~((diamonds["cut"] == "Fair") & (diamonds["color"] == "J"))]
    model = synth_ray.fit(real, seed=0, spec=spec)
    model.chunk_rows = 512
    with pytest.raises(SamplingError, match=r"rarely makes rows with cut='Fair', color='J'"):
        model.sample(10, seed=0, conditions=pd.DataFrame({"cut": ["Fair"] * 10, "color": ["J"] * 10}))
    with pytest.raises(SamplingError, match="never occur together"):  # fixed in every row: told upfront
        model.sample(10, seed=0, conditions={"cut": "Fair", "color": "J"})


def test_text_forms_and_the_cli(copula, tmp_path):
    assert conditions_from_text(["cut=Ideal", "color = E"]) == {"cut": "Ideal", "color": "E"}
    assert distribution_from_text("cut=Ideal:0.5,Very Good:0.5") == {
        "cut": {"Ideal": 0.5, "Very Good": 0.5}}
    for bad in (["cut"], ["cut=Ideal", "cut=Fair"]):
        with pytest.raises(SamplingError):
            conditions_from_text(bad)
    with pytest.raises(SamplingError, match="VALUE:WEIGHT"):
        distribution_from_text("cut=Ideal")
    copula.save(tmp_path / "model")
    out = tmp_path / "fair.csv"
    assert main(["sample", str(tmp_path / "model"), "--rows", "1001", "--out", str(out), "-q",
                 "--condition", "color=E", "--distribution", "cut=Ideal:0.5,Fair:0.5"]) == 0
    written = pd.read_csv(out)
    assert (written["color"] == "E").all()
    assert written["cut"].value_counts().to_dict() == {"Ideal": 501, "Fair": 500}
    assert main(["sample", str(tmp_path / "model"), "--rows", "5", "--out", str(out), "-q",
                 "--condition", "cut=Perfect"]) == 3
