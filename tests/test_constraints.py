"""Constraints declared in a table spec: checked at fit, stored in the model, met by every row."""

from __future__ import annotations

import itertools

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest

import synth_ray
from synth_ray import ConfigError, DataError, SamplingError
from synth_ray.constraints import parse_formula

PAIRS = [("FR", "Paris"), ("FR", "Lyon"), ("DE", "Berlin"), ("DE", "Munich"), ("US", "Paris")]
SPEC = {"constraints": [
    {"type": "range", "column": "discount", "min": 0, "max": 0.25},
    {"type": "inequality", "low": "start", "high": "end"},
    {"type": "inequality", "low": "opened", "high": "closed"},
    {"type": "fixed_combinations", "columns": ["country", "city"]},
    {"type": "formula", "column": "total", "expression": "price * quantity - discount * price"},
]}


def orders(n: int = 2_000, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    price = np.round(rng.gamma(2, 20, n), 2)
    quantity = rng.integers(1, 10, n)
    discount = np.round(rng.uniform(0, 0.25, n), 2)
    start = np.round(rng.uniform(0, 100, n), 1)
    opened = pd.Timestamp("2024-01-01") + pd.to_timedelta(rng.integers(0, 300, n), unit="D")
    pick = rng.integers(0, len(PAIRS), n)
    return pd.DataFrame({
        "price": price, "quantity": quantity, "discount": discount,
        "total": np.round(price * quantity - discount * price, 2),
        "start": start, "end": np.round(start + rng.exponential(5, n), 1),
        "opened": opened, "closed": opened + pd.to_timedelta(rng.integers(0, 30, n), unit="D"),
        "country": [PAIRS[i][0] for i in pick], "city": [PAIRS[i][1] for i in pick],
    })


def check_every_row(fake: pd.DataFrame) -> None:
    assert fake["discount"].between(0, 0.25).all()
    assert (fake["start"] <= fake["end"]).all()
    assert (fake["opened"] <= fake["closed"]).all()
    assert set(zip(fake["country"], fake["city"], strict=True)) <= set(PAIRS)
    expected = np.round(fake["price"] * fake["quantity"] - fake["discount"] * fake["price"], 2)
    np.testing.assert_allclose(fake["total"], expected, rtol=0, atol=1e-9)


@pytest.fixture(scope="module")
def real() -> pd.DataFrame:
    return orders()


@pytest.fixture(scope="module")
def copula(real) -> synth_ray.Synthesizer:
    model = synth_ray.fit(real, spec=SPEC, seed=0)
    model.chunk_rows = 8_192
    return model


def test_every_row_of_a_large_copula_sample_meets_every_constraint(copula):
    check_every_row(copula.sample(100_000, seed=1))


def test_how_each_constraint_is_enforced(copula):
    constraints = copula.constraints
    assert constraints.reparametrised == (1,)  # numeric inequality learned as a difference
    assert "total" not in [c.name for c in copula.generator.columns]  # formulas are not learned
    assert {t.name: t for t in copula.transformer.learned}["discount"].maximum <= 0.25


def test_constraints_survive_save_and_load_and_any_split(copula, tmp_path):
    copula.save(tmp_path / "model")
    loaded = synth_ray.load(tmp_path / "model")
    n = 20_001
    whole = copula.sample_arrow(n, seed=3)
    assert loaded.sample_arrow(n, seed=3).equals(whole)
    parts = [loaded.sample_rows(a, b, seed=3) for a, b in itertools.pairwise([0, 5, 8_193, 15_000, n])]
    assert pa.concat_tables(parts).equals(whole)


def test_constraints_hold_with_conditions(copula):
    fake = copula.sample(5_000, seed=2, conditions={"city": "Paris"})
    assert (fake["city"] == "Paris").all()
    assert set(fake["country"]) <= {"FR", "US"}
    check_every_row(fake)
    with pytest.raises(SamplingError, match="country='DE', city='Paris' never occur together"):
        copula.sample_rows(0, 10, seed=0, conditions={"country": "DE", "city": "Paris"})


@pytest.mark.parametrize("model", ["ctgan", "tvae"])
def test_neural_models_meet_every_constraint(real, model):
    synth = synth_ray.fit(real.head(1_000), model=model, spec=SPEC, seed=0,
                          options={"epochs": 1, "batch_size": 500})
    synth.chunk_rows = 4_096
    check_every_row(synth.sample(12_000, seed=1))


@pytest.mark.parametrize(("constraint", "error", "message"), [
    ({"type": "ranges", "column": "price"}, ConfigError, "did you mean 'range'"),
    ({"type": "range", "column": "price"}, ConfigError, "needs min, max or both"),
    ({"type": "range", "column": "price", "min": 5, "max": 1}, ConfigError, "no row can satisfy"),
    ({"type": "range", "column": "price", "mn": 0}, ConfigError, "did you mean 'min'"),
    ({"type": "inequality", "low": "start", "high": "start"}, ConfigError, "two different columns"),
    ({"type": "fixed_combinations", "columns": ["city"]}, ConfigError, "two or more"),
    ({"type": "formula", "column": "total", "expression": "__import__('os').system('x')"},
     ConfigError, "cannot read"),
    ({"type": "formula", "column": "total", "expression": "price ** 2"}, ConfigError, "expected"),
    ({"type": "formula", "column": "total", "expression": "total + 1"}, ConfigError, "its own formula"),
    ({"type": "range", "column": "prize", "min": 0}, ConfigError, "did you mean 'price'"),
    ({"type": "range", "column": "city", "min": 0}, ConfigError, "'city' is categorical"),
    ({"type": "fixed_combinations", "columns": ["city", "price"]}, ConfigError, "'price' is numerical"),
    ({"type": "range", "column": "price", "max": 10}, DataError, r"does not hold in [\d,]+ of 2,000 real rows"),
    ({"type": "inequality", "low": "end", "high": "start"}, DataError, "does not hold"),
    ({"type": "formula", "column": "total", "expression": "price * quantity"}, DataError, "does not hold"),
])
def test_bad_constraints_are_refused(real, constraint, error, message):
    with pytest.raises(error, match=message):
        synth_ray.fit(real, spec={"constraints": [constraint]}, seed=0)


def test_formula_targets_cannot_be_constrained_or_doubled():
    with pytest.raises(ConfigError, match="constrain the formula's inputs"):
        synth_ray.load_table_spec({"constraints": [
            {"type": "formula", "column": "total", "expression": "price * quantity"},
            {"type": "range", "column": "total", "min": 0}]})


def test_formula_parser_is_arithmetic_only():
    formula = parse_formula("(a + 2) * -b / `unit price`")
    assert formula.columns == ("a", "b", "unit price")
    values = formula.evaluate({"a": np.array([1.0, 2.0]), "b": np.array([3.0, 1.0]),
                               "unit price": np.array([2.0, 0.0])})
    np.testing.assert_array_equal(values, [-4.5, -np.inf])
    for text in ["a +", "(a", "a b", "a.b", "f(a)", "a == b", ""]:
        with pytest.raises(ConfigError):
            parse_formula(text)
