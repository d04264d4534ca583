"""Mode-specific normalization: the variational mixture it rests on, and the encoding."""

from __future__ import annotations

import json

import numpy as np
import pytest

from synth_ray.errors import ConfigError, DataError
from synth_ray.transforms.mode_normalization import ModeSpecificNormalizer
from synth_ray.transforms.output_spans import OutputSpan, SpanActivation
from synth_ray.transforms.variational_gmm import fit_variational_gmm


def bimodal(n: int = 20_000, seed: int = 0) -> np.ndarray:
    """30% N(-5, 1) and 70% N(5, 1), shuffled."""
    rng = np.random.default_rng(seed)
    x = np.concatenate([rng.normal(-5.0, 1.0, int(0.3 * n)), rng.normal(5.0, 1.0, n - int(0.3 * n))])
    return rng.permutation(x)


def assert_round_trip(norm: ModeSpecificNormalizer, x: np.ndarray) -> None:
    """Every representable value comes back to 1e-9 relative (of the column's magnitude)."""
    ok = norm.representable(x)
    alpha, modes = norm.encode(x)
    back = norm.decode(alpha, modes)
    np.testing.assert_allclose(back[ok], x[ok], rtol=1e-9, atol=1e-12 * np.abs(x).max())


# --- the variational mixture -----------------------------------------------------------


def test_bimodal_mixture_is_found_as_two_modes():
    x = bimodal()
    mix = fit_variational_gmm(x, seed=0)
    assert len(mix.weights) == 2
    np.testing.assert_allclose(mix.weights, [0.3, 0.7], atol=0.05)
    np.testing.assert_allclose(mix.means, [-5.0, 5.0], atol=0.1)  # sd is 1
    np.testing.assert_allclose(mix.stds, [1.0, 1.0], atol=0.1)
    assert mix.weights.sum() == pytest.approx(1.0)


def test_one_gaussian_is_one_mode_and_separated_modes_are_all_kept():
    rng = np.random.default_rng(1)
    assert len(fit_variational_gmm(rng.normal(3.0, 2.0, 20_000), seed=0).weights) == 1
    ten = np.concatenate([rng.normal(10.0 * i, 1.0, 2_000) for i in range(10)])
    mix = fit_variational_gmm(ten, seed=0)
    np.testing.assert_allclose(mix.means, 10.0 * np.arange(10), atol=0.2)
    np.testing.assert_allclose(mix.weights, 0.1, atol=0.01)


def test_max_components_caps_the_modes():
    ten = np.concatenate([np.random.default_rng(2).normal(10.0 * i, 1.0, 500) for i in range(10)])
    mix = fit_variational_gmm(ten, max_components=3, seed=0)
    assert 1 <= len(mix.weights) <= 3
    assert np.all(np.diff(mix.means) > 0) and np.all(mix.stds > 0)


def test_integer_levels_each_get_a_narrow_mode():
    x = np.random.default_rng(3).integers(0, 5, 30_000).astype(np.float64)
    mix = fit_variational_gmm(x, seed=0)
    np.testing.assert_allclose(mix.means, [0, 1, 2, 3, 4], atol=1e-3)
    assert np.all(mix.stds > 0) and np.all(mix.stds < 0.05)
    np.testing.assert_allclose(mix.weights, 0.2, atol=0.02)


def test_huge_magnitudes_are_fitted_in_their_own_units():
    rng = np.random.default_rng(4)
    base = np.concatenate([rng.normal(-1.0, 0.1, 3_000), rng.normal(1.0, 0.1, 7_000)])
    for offset, scale in ((0.0, 1e250), (1.7e18, 1e9), (0.0, 1e-200)):
        mix = fit_variational_gmm(offset + scale * base, seed=0)
        assert np.all(np.isfinite(mix.means)) and np.all(mix.stds > 0)
        np.testing.assert_allclose(mix.weights, [0.3, 0.7], atol=0.05)
        np.testing.assert_allclose((mix.means - offset) / scale, [-1.0, 1.0], atol=0.01)
        np.testing.assert_allclose(mix.stds / scale, [0.1, 0.1], rtol=0.1)


def test_same_seed_same_mixture_and_the_subsample_follows_the_seed():
    x = bimodal(5_000)
    a = fit_variational_gmm(x, max_rows=500, seed=7)
    b = fit_variational_gmm(x, max_rows=500, seed=7)
    for u, v in zip(a, b, strict=True):
        np.testing.assert_array_equal(u, v)
    c = fit_variational_gmm(x, max_rows=500, seed=8)
    assert not np.array_equal(a.means, c.means)


def test_weight_threshold_refits_the_survivors():
    rng = np.random.default_rng(5)
    x = np.concatenate([rng.normal(0.0, 1.0, 10_000), rng.normal(40.0, 1.0, 20)])
    assert len(fit_variational_gmm(x, seed=0).weights) == 2
    mix = fit_variational_gmm(x, weight_threshold=0.005, seed=0)
    assert len(mix.weights) == 1 and mix.weights[0] == pytest.approx(1.0)
    assert mix.stds[0] > 1.5  # widened over the 20 rows of the dropped mode


@pytest.mark.parametrize("bad", [np.array([]), np.array([1.0, np.nan]), np.array([np.inf, 0.0]),
                                 np.zeros((2, 2))])
def test_unusable_values_are_refused(bad):
    with pytest.raises(DataError):
        fit_variational_gmm(bad, seed=0)


@pytest.mark.parametrize("kwargs", [{"max_components": 0}, {"weight_concentration": 0.0},
                                    {"max_iter": 0}, {"tol": -1.0}, {"max_rows": 0},
                                    {"weight_threshold": 1.0}, {"seed": -1}])
def test_bad_arguments_are_refused(kwargs):
    with pytest.raises(ValueError, match=next(iter(kwargs))):
        fit_variational_gmm(np.arange(10.0), **{"seed": 0, **kwargs})


# --- the normalizer --------------------------------------------------------------------


def test_round_trip_of_a_continuous_mixture():
    x = bimodal()
    norm = ModeSpecificNormalizer.fit(x, seed=0)
    assert norm.n_modes == 2
    assert norm.representable(x).mean() > 0.999
    assert_round_trip(norm, x)
    alpha, modes = norm.encode(x)
    assert alpha.dtype == np.float64 and alpha.shape == x.shape
    assert modes.dtype == np.int64 and modes.shape == x.shape
    assert np.all(np.abs(alpha) <= 1.0)
    np.testing.assert_array_equal(modes, (x > 0).astype(np.int64))  # well separated


def test_round_trip_of_integer_columns_is_exact_after_rounding():
    rng = np.random.default_rng(6)
    for ints in (rng.poisson(3.0, 20_000), rng.integers(-1_000, 1_000, 20_000),
                 rng.integers(0, 4, 20_000) * 10**12):
        x = ints.astype(np.float64)
        norm = ModeSpecificNormalizer.fit(x, seed=0)
        ok = norm.representable(x)
        assert ok.mean() > 0.999
        back = norm.decode(*norm.encode(x))
        np.testing.assert_array_equal(np.rint(back[ok]), x[ok])


def test_a_constant_column_is_one_mode_and_exact():
    for value in (0.0, 42.0, -3.5e17):
        x = np.full(1_000, value)
        norm = ModeSpecificNormalizer.fit(x, seed=0)
        assert norm.n_modes == 1 and norm.means[0] == value and norm.stds[0] > 0
        alpha, modes = norm.encode(x)
        np.testing.assert_array_equal(alpha, 0.0)
        np.testing.assert_array_equal(modes, 0)
        np.testing.assert_array_equal(norm.decode(alpha, modes), x)


@pytest.mark.parametrize("x", [[7.25], [1.0, 2.0], [-1e6, 3e6], [5.0, 5.0]])
def test_one_and_two_rows(x):
    arr = np.array(x)
    norm = ModeSpecificNormalizer.fit(arr, seed=0)
    assert 1 <= norm.n_modes <= 2
    assert norm.representable(arr).all()
    np.testing.assert_allclose(norm.decode(*norm.encode(arr)), arr, rtol=1e-12)


def test_outliers_are_clipped_to_the_nearest_band_edge():
    norm = ModeSpecificNormalizer(weights=[0.5, 0.5], means=[0.0, 10.0], stds=[1.0, 1.0])
    x = np.array([-100.0, 3.0, 3.99, 4.0, 200.0])
    assert norm.representable(x).tolist() == [False, True, True, True, False]
    alpha, modes = norm.encode(x)
    assert modes.tolist() == [0, 0, 0, 0, 1]
    np.testing.assert_allclose(alpha, [-1.0, 0.75, 0.9975, 1.0, 1.0])
    np.testing.assert_allclose(norm.decode(alpha, modes), [-4.0, 3.0, 3.99, 4.0, 14.0])


def test_the_mode_is_chosen_among_modes_that_can_represent_the_value():
    # A heavy narrow mode and a light wide one: at x = 5 the narrow one has the larger
    # weight but cannot represent the value, so the wide one is used.
    norm = ModeSpecificNormalizer(weights=[0.99, 0.01], means=[0.0, 0.0], stds=[1.0, 10.0])
    alpha, modes = norm.encode(np.array([0.5, 5.0]))
    assert modes.tolist() == [0, 1]
    np.testing.assert_allclose(alpha, [0.125, 0.125])
    for seed in range(5):
        _, sampled = norm.encode(np.array([5.0] * 100), rng=np.random.default_rng(seed))
        assert np.all(sampled == 1)


def test_sampled_modes_are_reproducible_and_follow_the_posterior():
    norm = ModeSpecificNormalizer(weights=[0.5, 0.5], means=[-0.5, 0.5], stds=[1.0, 1.0])
    x = np.zeros(20_000)  # equally likely under both modes
    a1, m1 = norm.encode(x, rng=np.random.default_rng(11))
    a2, m2 = norm.encode(x, rng=np.random.default_rng(11))
    np.testing.assert_array_equal(m1, m2)
    np.testing.assert_array_equal(a1, a2)
    assert abs(m1.mean() - 0.5) < 0.02
    _, m3 = norm.encode(x, rng=np.random.default_rng(12))
    assert not np.array_equal(m1, m3)
    np.testing.assert_array_equal(norm.decode(a1, m1), x)
    _, argmax = norm.encode(np.array([-0.1, 0.1]))
    assert argmax.tolist() == [0, 1]


def test_encode_matrix_layout_and_decode_from_soft_modes():
    x = bimodal(2_000)
    norm = ModeSpecificNormalizer.fit(x, seed=0)
    assert norm.output_spans == [OutputSpan(1, SpanActivation.TANH), OutputSpan(2, "softmax")]
    assert norm.output_width == sum(span.width for span in norm.output_spans) == 3
    mat = norm.encode_matrix(x)
    alpha, modes = norm.encode(x)
    assert mat.shape == (2_000, 3)
    np.testing.assert_array_equal(mat[:, 0], alpha)
    np.testing.assert_array_equal(mat[:, 1:].sum(axis=1), 1.0)
    np.testing.assert_array_equal(np.argmax(mat[:, 1:], axis=1), modes)
    soft = mat.copy()
    soft[:, 1:] = 0.2 + 0.6 * mat[:, 1:]  # softmax-like, same argmax
    np.testing.assert_array_equal(norm.decode_matrix(soft), norm.decode(alpha, modes))


def test_params_round_trip_through_json():
    x = bimodal(5_000)
    norm = ModeSpecificNormalizer.fit(x, seed=3)
    params = norm.to_params()
    assert set(params) == {"weights", "means", "stds"}
    assert all(type(v) is float for values in params.values() for v in values)
    again = ModeSpecificNormalizer.from_params(json.loads(json.dumps(params)))
    assert again.to_params() == params
    for first, second in zip(norm.encode(x), again.encode(x), strict=True):
        np.testing.assert_array_equal(first, second)


def test_same_seed_same_normalizer():
    x = bimodal(60_000)  # more than max_rows: the subsample is seeded too
    assert (ModeSpecificNormalizer.fit(x, seed=1).to_params()
            == ModeSpecificNormalizer.fit(x, seed=1).to_params())


def test_malformed_params_and_inputs_are_refused():
    good = {"weights": [1.0], "means": [0.0], "stds": [1.0]}
    with pytest.raises(ConfigError, match="did you mean 'stds'"):
        ModeSpecificNormalizer.from_params({**good, "stdz": [1.0]})
    with pytest.raises(ConfigError, match="missing"):
        ModeSpecificNormalizer.from_params({"weights": [1.0], "means": [0.0]})
    with pytest.raises(ConfigError, match="stds must be > 0"):
        ModeSpecificNormalizer.from_params({**good, "stds": [0.0]})
    with pytest.raises(ConfigError, match="sum to 1"):
        ModeSpecificNormalizer.from_params({**good, "weights": [0.5]})
    with pytest.raises(ConfigError, match="width"):
        OutputSpan(0, SpanActivation.TANH)
    with pytest.raises(ValueError, match="relu"):
        OutputSpan(1, "relu")
    norm = ModeSpecificNormalizer.from_params(good)
    with pytest.raises(DataError, match="modes must be integers"):
        norm.decode(np.zeros(2), np.array([0, 1]))
    with pytest.raises(DataError, match="expected shape"):
        norm.decode_matrix(np.zeros((2, 3)))
    with pytest.raises(DataError, match="NaN"):
        norm.encode(np.array([0.0, np.nan]))
