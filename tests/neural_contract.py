"""Checks every neural generator must pass, called by test_ctgan.py and test_tvae.py.

Each takes the model kind and uses the real pipeline (``synth_ray.fit``, the
``Synthesizer``'s chunked sampling, ``save``/``load``): nothing is mocked.
"""

from __future__ import annotations

import itertools
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest

import synth_ray
from synth_ray import ConfigError

TINY = {"epochs": 1, "batch_size": 100}


def uniform_baseline(real: pd.DataFrame, seed: int = 0) -> pd.DataFrame:
    """Independent columns, uniform over each real column's range or categories."""
    rng = np.random.default_rng(seed)
    out = {}
    for name, column in real.items():
        if isinstance(column.dtype, pd.CategoricalDtype):
            out[name] = pd.Categorical(rng.choice(column.cat.categories, len(real)),
                                       categories=column.cat.categories,
                                       ordered=column.cat.ordered)
        elif column.dtype.kind in "if":
            out[name] = rng.uniform(column.min(), column.max(), len(real)).astype(column.dtype)
        else:
            out[name] = rng.choice(column.unique(), len(real))
    return pd.DataFrame(out)


def check_fit_is_deterministic(model: str, frame: pd.DataFrame) -> None:
    """Same seed: same weights and rows; another seed: other weights."""
    a = synth_ray.fit(frame, model=model, options=TINY, seed=4)
    b = synth_ray.fit(frame, model=model, options=TINY, seed=4)
    c = synth_ray.fit(frame, model=model, options=TINY, seed=5)
    ta, tb, tc = a.generator.tensors(), b.generator.tensors(), c.generator.tensors()
    assert ta.keys() == tb.keys()
    for key in ta:
        np.testing.assert_array_equal(ta[key], tb[key], err_msg=key)
    assert any(not np.array_equal(ta[k], tc[k]) for k in ta if k.startswith("network/"))
    assert a.sample_arrow(500, seed=1).equals(b.sample_arrow(500, seed=1))


def check_chunked_sampling(synth: synth_ray.Synthesizer) -> None:
    """Any split of [0, n) into ``sample_rows`` ranges concatenates to ``sample_arrow(n)``."""
    synth.chunk_rows = 997  # small, odd chunks: the splits below cut through several
    try:
        whole = synth.sample_arrow(3_000, seed=11)
        assert whole.equals(synth.sample_arrow(3_000, seed=11, threads=1))
        for cuts in ([0, 3_000], [0, 1, 996, 997, 2_500, 3_000], [0, 1_500, 1_501, 3_000]):
            parts = [synth.sample_rows(lo, hi, seed=11) for lo, hi in itertools.pairwise(cuts)]
            assert pa.concat_tables(parts).equals(whole), cuts
        assert not synth.sample_arrow(3_000, seed=12).equals(whole)
    finally:
        synth.chunk_rows = 65_536


def check_save_and_load(synth: synth_ray.Synthesizer, folder: Path) -> None:
    """A saved model reloads (safetensors + JSON) and samples the same rows."""
    path = synth_ray.save(synth, folder / "model")
    assert sorted(p.name for p in path.iterdir()) == [
        "manifest.json", "model.json", "reference_hashes.safetensors", "reference_profile.json",
        "tensors.safetensors"]
    loaded = synth_ray.load(path)
    assert loaded.sample_arrow(2_000, seed=3).equals(synth.sample_arrow(2_000, seed=3))
    assert loaded.generator.config() == synth.generator.config()


def check_bad_input(model: str) -> None:
    """One-column tables, constant columns, epochs=0 and unknown options."""
    rng = np.random.default_rng(0)
    one = pd.DataFrame({"x": rng.gamma(2.0, 3.0, 300)})
    fake = synth_ray.fit(one, model=model, options=TINY).sample(400, seed=0)
    assert list(fake.columns) == ["x"] and fake["x"].between(one["x"].min(), one["x"].max()).all()
    category = pd.DataFrame({"c": rng.choice(["a", "b", "c"], 300, p=[0.7, 0.2, 0.1])})
    fake = synth_ray.fit(category, model=model, options={"epochs": 5, "batch_size": 100}
                         ).sample(2_000, seed=0)
    assert set(fake["c"]) <= {"a", "b", "c"} and (fake["c"] == "a").mean() > 0.4
    constant = pd.DataFrame({"k": [7.25] * 200, "y": rng.normal(size=200)})
    fake = synth_ray.fit(constant, model=model, options=TINY).sample(500, seed=0)
    assert set(fake["k"]) == {7.25}
    with pytest.raises(ConfigError, match=r"'epochs' must be an integer >= 1, got 0"):
        synth_ray.fit(one, model=model, options={"epochs": 0})
    with pytest.raises(ConfigError, match="did you mean 'batch_size'"):
        synth_ray.fit(one, model=model, options={"batchsize": 10})


def check_one_row(model: str) -> None:
    """A single real row is learned and reproduced (its category, seen once, as ``_RARE_``)."""
    frame = pd.DataFrame({"a": [1.5], "b": ["x"]})
    fake = synth_ray.fit(frame, model=model, options={"epochs": 2, "batch_size": 10}).sample(5, seed=0)
    assert fake["b"].tolist() == ["_RARE_"] * 5  # rare-category protection (k = 5) is on
    assert np.allclose(fake["a"], 1.5)
