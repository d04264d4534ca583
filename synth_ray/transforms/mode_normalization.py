"""Mode-specific normalization of a continuous column (CTGAN, Xu et al., NeurIPS 2019).

A continuous column is often multi-modal and heavy-tailed; min-max scaling then
squashes most values into a sliver of ``[-1, 1]`` and a network's ``tanh`` output
cannot hit them. Mode-specific normalization fits a 1-D Gaussian mixture to the
column and represents each value ``x`` by a mode ``k`` (one-hot, learned by a
``softmax`` head) and the position inside that mode, ``alpha = (x - mu_k) / (4 sigma_k)``
(learned by a ``tanh`` head). The way back is ``x = alpha * 4 sigma_k + mu_k``.

The mixture is a variational Bayesian Gaussian mixture (Bishop, PRML section 10.2):
a Dirichlet prior of small concentration on the weights lets the data switch off
the components it does not need, so the number of modes is learned, not chosen.
Everything here works on the float64 model-space arrays that
:mod:`synth_ray.transforms.numerical` and :mod:`synth_ray.transforms.datetime`
produce (finite, nulls already imputed).
"""

from __future__ import annotations

import enum
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, NamedTuple

import numpy as np
from scipy.special import digamma

from synth_ray.config_checks import check_keys
from synth_ray.errors import ConfigError, DataError
from synth_ray.randomness import check_seed

__all__ = [
    "GaussianMixture1D",
    "ModeSpecificNormalizer",
    "OutputSpan",
    "SpanActivation",
    "fit_variational_gmm",
]

# Priors, in standardised units (the fit works on (x - mean) / std). They are weak on
# purpose: the mean prior N(0, 1 / (beta0 * lambda)) has a standard deviation of ten
# data standard deviations, and the Gamma prior on each precision (a Wishart in 1-D,
# nu0 = 1 degree of freedom, scale W0 = 1) counts as one pseudo-observation at squared
# distance 1. The last is what keeps a component on a single repeated value (a
# constant stretch, an integer level) from collapsing to zero variance.
_PRIOR_MEAN_PRECISION = 1e-2  # beta0
_PRIOR_DOF = 1.0  # nu0
_PRIOR_SCALE_INV = 1.0  # 1 / W0
# A component whose responsibilities sum to less than this many rows is dropped while
# fitting: E[ln pi_k] is then about -1 / (alpha0 + N_k) and it never recovers.
_DEAD_COMPONENT_ROWS = 1e-3
# Relative standard deviation given to a constant column's single mode.
_CONSTANT_RELATIVE_STD = 1e-6
_PARAM_KEYS = ("weights", "means", "stds")


class SpanActivation(enum.StrEnum):
    """The output activation a network uses for one span of an encoded column.

    Attributes:
        TANH: one value in ``[-1, 1]`` (the position ``alpha`` inside a mode).
        SOFTMAX: a one-hot block (the mode, or a category elsewhere).
    """

    TANH = "tanh"
    SOFTMAX = "softmax"


@dataclass(frozen=True)
class OutputSpan:
    """A contiguous block of an encoded column and how a network must produce it.

    Attributes:
        width: number of columns in the block.
        activation: the activation of the network's output layer for this block.
    """

    width: int
    activation: SpanActivation


class GaussianMixture1D(NamedTuple):
    """A fitted 1-D Gaussian mixture, components sorted by mean.

    Attributes:
        weights: mixing weights, summing to 1.
        means: component means, in the input's units.
        stds: component standard deviations (all > 0), in the input's units.
    """

    weights: np.ndarray
    means: np.ndarray
    stds: np.ndarray


@dataclass(frozen=True)
class _Posterior:
    """Variational posterior of every component (Bishop eqs. 10.58-10.63, D = 1)."""

    alpha: np.ndarray  # Dirichlet concentration
    beta: np.ndarray  # precision scaling of the mean
    mean: np.ndarray  # m_k
    scale_inv: np.ndarray  # 1 / W_k
    dof: np.ndarray  # nu_k


def _as_finite_1d(x: np.ndarray, *, what: str) -> np.ndarray:
    """``x`` as a 1-D float64 array, refusing NaN and infinities with a clear message."""
    arr = np.asarray(x, dtype=np.float64)
    if arr.ndim != 1:
        raise DataError(f"{what}: expected a 1-D array of values, got shape {arr.shape}")
    bad = ~np.isfinite(arr)
    if bad.any():
        raise DataError(
            f"{what}: {int(bad.sum())} of {arr.size} values are NaN or infinite; mode-specific "
            "normalization works in model space, so impute nulls (the column transform's "
            "forward does) and drop infinities first"
        )
    return arr


def _check_fit_args(*, max_components: int, weight_concentration: float, max_iter: int,
                    tol: float, max_rows: int) -> None:
    """Refuse arguments that would make the fit meaningless, naming the argument."""
    for name, value in (("max_components", max_components), ("max_iter", max_iter),
                        ("max_rows", max_rows)):
        if isinstance(value, bool) or not isinstance(value, int | np.integer) or value < 1:
            raise ConfigError(f"{name} must be an integer >= 1, got {value!r}")
    if not (math.isfinite(weight_concentration) and weight_concentration > 0):
        raise ConfigError(f"weight_concentration must be a finite number > 0, "
                          f"got {weight_concentration!r}")
    if not (math.isfinite(tol) and tol >= 0):
        raise ConfigError(f"tol must be a finite number >= 0, got {tol!r}")


def _standardise(values: np.ndarray) -> tuple[np.ndarray, int, float, float]:
    """Map distinct values to mean 0, std 1 without overflow, whatever their magnitude.

    Values are first scaled by a power of two (exact) so that ``|v| < 1``; only then
    are the mean and std taken, which cannot overflow even for values near 1e308.

    Returns:
        ``(z, exponent, center, scale)`` with ``v = ldexp(z * scale + center, exponent)``.
    """
    exponent = int(np.frexp(np.max(np.abs(values)))[1])
    scaled = np.ldexp(values, -exponent)
    center = float(np.mean(scaled))
    scale = float(np.std(scaled))
    return (scaled - center) / scale, exponent, center, scale


def _kmeanspp_centres(values: np.ndarray, counts: np.ndarray, k: int,
                      rng: np.random.Generator) -> np.ndarray:
    """Up to ``k`` distinct starting means, picked k-means++ style (weighted by counts).

    Each next centre is drawn with probability proportional to count times squared
    distance to the nearest centre so far, so centres spread over the modes. Fewer
    than ``k`` come back when there are fewer distinct values.
    """
    centres = [values[rng.choice(values.size, p=counts / counts.sum())]]
    d2 = (values - centres[0]) ** 2
    while len(centres) < k:
        p = counts * d2
        total = p.sum()
        if total <= 0:
            break
        centres.append(values[rng.choice(values.size, p=p / total)])
        d2 = np.minimum(d2, (values - centres[-1]) ** 2)
    return np.asarray(centres)


def _m_step(values: np.ndarray, counts: np.ndarray, resp: np.ndarray,
            alpha0: float) -> _Posterior:
    """Posterior parameters from responsibilities (Bishop eqs. 10.51-10.53, 10.58-10.63)."""
    nk = counts @ resp
    sx = (counts * values) @ resp
    sxx = (counts * values * values) @ resp
    xbar = sx / np.maximum(nk, np.finfo(np.float64).tiny)
    scatter = np.maximum(sxx - sx * xbar, 0.0)  # N_k * S_k
    beta = _PRIOR_MEAN_PRECISION + nk
    # m0 = 0: the data are standardised.
    shift = _PRIOR_MEAN_PRECISION * nk / beta * xbar * xbar
    return _Posterior(alpha=alpha0 + nk, beta=beta, mean=nk * xbar / beta,
                      scale_inv=_PRIOR_SCALE_INV + scatter + shift, dof=_PRIOR_DOF + nk)


def _e_step(values: np.ndarray, post: _Posterior) -> tuple[np.ndarray, np.ndarray]:
    """Responsibilities and per-value log normaliser (Bishop eqs. 10.46, 10.64-10.66).

    Returns:
        ``(resp, log_norm)``: ``resp[n, k] = rho_nk / sum_j rho_nj``, and
        ``log_norm[n] = log sum_k rho_nk``.
    """
    e_log_pi = digamma(post.alpha) - digamma(post.alpha.sum())
    e_log_lambda = digamma(post.dof / 2) + math.log(2.0) - np.log(post.scale_inv)
    e_precision = post.dof / post.scale_inv
    const = e_log_pi + 0.5 * e_log_lambda - 0.5 * math.log(2 * math.pi) - 0.5 / post.beta
    log_rho = const - 0.5 * e_precision * (values[:, None] - post.mean) ** 2
    top = log_rho.max(axis=1, keepdims=True)
    rho = np.exp(log_rho - top)
    total = rho.sum(axis=1, keepdims=True)
    return rho / total, (np.log(total) + top)[:, 0]


def _drop_dead(resp: np.ndarray, counts: np.ndarray) -> np.ndarray:
    """Responsibilities without components that hold (almost) no rows; keeps at least one."""
    nk = counts @ resp
    alive = nk >= _DEAD_COMPONENT_ROWS
    if alive.all():
        return resp
    alive[np.argmax(nk)] = True
    return resp[:, alive]


def _run_vb(values: np.ndarray, counts: np.ndarray, resp: np.ndarray, *, alpha0: float,
            max_iter: int, tol: float) -> _Posterior:
    """Alternate M and E steps until the mean log normaliser moves less than ``tol``.

    The mean log normaliser (per row) is the data term of the evidence lower bound; it
    settles when responsibilities stop moving, which is all the encoding needs.
    """
    n_rows = counts.sum()
    previous = -math.inf
    for _ in range(max_iter):
        resp = _drop_dead(resp, counts)
        resp, log_norm = _e_step(values, _m_step(values, counts, resp, alpha0))
        current = float(counts @ log_norm) / n_rows
        if abs(current - previous) < tol:
            break
        previous = current
    return _m_step(values, counts, _drop_dead(resp, counts), alpha0)


def _constant_mixture(value: float) -> GaussianMixture1D:
    """One mode on the constant, with a small positive std so ``alpha`` stays defined."""
    std = _CONSTANT_RELATIVE_STD * max(abs(value), 1.0)
    return GaussianMixture1D(weights=np.ones(1), means=np.array([value]), stds=np.array([std]))


def fit_variational_gmm(x: np.ndarray, *, max_components: int = 10,
                        weight_concentration: float = 1e-3, max_iter: int = 100,
                        tol: float = 1e-4, max_rows: int = 50_000,
                        seed: int) -> GaussianMixture1D:
    """Fit a 1-D Gaussian mixture by variational Bayes, letting unneeded components die.

    Args:
        x: finite values (model space).
        max_components: upper bound on the number of modes.
        weight_concentration: Dirichlet prior concentration on the weights; small
            values (the default 1e-3) drive the weights of unneeded components to ~0.
        max_iter: maximum number of EM iterations.
        tol: stop once the mean per-row log normaliser changes by less than this.
        max_rows: fit on a seeded subsample of at most this many values (speed).
        seed: seeds the subsample and the k-means++ initialisation; same seed and
            data, same mixture.

    Returns:
        Weights, means and stds of the surviving components, sorted by mean.

    Raises:
        DataError: ``x`` is empty, not 1-D, or holds NaN or infinities.
        ConfigError: an argument is out of range.
    """
    _check_fit_args(max_components=max_components, weight_concentration=weight_concentration,
                    max_iter=max_iter, tol=tol, max_rows=max_rows)
    rng = np.random.default_rng(check_seed(seed))
    arr = _as_finite_1d(x, what="fit_variational_gmm")
    if arr.size == 0:
        raise DataError("fit_variational_gmm: no values to fit; the column has no rows")
    if arr.size > max_rows:
        arr = arr[np.sort(rng.choice(arr.size, size=max_rows, replace=False))]
    # Equal values have equal responsibilities: fit on distinct values with counts,
    # which makes integer and heavily tied columns cheap.
    values, counts_int = np.unique(arr, return_counts=True)
    if values.size == 1:
        return _constant_mixture(float(values[0]))
    counts = counts_int.astype(np.float64)
    z, exponent, center, scale = _standardise(values)
    centres = _kmeanspp_centres(z, counts, max_components, rng)
    nearest = np.argmin(np.abs(z[:, None] - centres), axis=1)
    resp = np.zeros((z.size, centres.size))
    resp[np.arange(z.size), nearest] = 1.0
    post = _run_vb(z, counts, resp, alpha0=weight_concentration, max_iter=max_iter, tol=tol)
    order = np.argsort(post.mean, kind="stable")
    weights = post.alpha[order] / post.alpha.sum()
    means = np.ldexp(post.mean[order] * scale + center, exponent)
    stds = np.ldexp(np.sqrt(post.scale_inv[order] / post.dof[order]) * scale, exponent)
    return GaussianMixture1D(weights=weights / weights.sum(), means=means, stds=stds)
