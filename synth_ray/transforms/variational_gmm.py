"""A 1-D Gaussian mixture fitted by variational Bayes (Bishop, PRML section 10.2).

The weights get a Dirichlet prior of small concentration and each mean and precision
a Normal-Gamma prior. Coordinate ascent alone rarely empties a component that shares
a mode with another, so components are then removed one at a time as long as a
removal raises the evidence lower bound (PRML section 10.2.4 compares models by that
bound): the number of modes is learned, not chosen. Used by
:mod:`synth_ray.transforms.mode_normalization`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import NamedTuple

import numpy as np
from scipy.special import digamma, gammaln

from synth_ray.errors import ConfigError, DataError
from synth_ray.randomness import check_seed

__all__ = ["GaussianMixture1D", "as_finite_1d", "fit_variational_gmm"]

# Priors, in standardised units (the fit works on (x - mean) / std). They are weak on
# purpose: the mean prior N(0, 1 / (beta0 * lambda)) has a standard deviation of ten
# data standard deviations, and the Gamma prior on each precision (the 1-D Wishart,
# nu0 = 1 degree of freedom, scale W0 = 1) counts as one pseudo-observation at squared
# distance 1. The latter keeps a component on a single repeated value (a constant
# stretch, one level of an integer column) from collapsing to zero variance.
_PRIOR_MEAN_PRECISION = 1e-2  # beta0
_PRIOR_DOF = 1.0  # nu0
_PRIOR_SCALE_INV = 1.0  # 1 / W0
_SHAPE0, _RATE0 = _PRIOR_DOF / 2, _PRIOR_SCALE_INV / 2  # that prior as Gamma(shape, rate)
_LGAMMA_SHAPE0, _LOG_RATE0 = math.lgamma(_SHAPE0), math.log(_RATE0)
_LOG_2PI = math.log(2 * math.pi)
# Values are grouped into bins this many per standard deviation; each bin keeps its
# count, mean and within-bin scatter, so the sufficient statistics stay exact and only
# the responsibilities are shared inside a bin (a restricted variational family, so
# the bound is still a bound). 50,000 values become a couple of thousand bins.
_BINS_PER_STD = 128
# A component holding fewer rows than this is dropped while fitting: its E[ln pi_k]
# is then about -1 / (alpha0 + N_k) < -500 and it would never recover.
_DEAD_COMPONENT_ROWS = 1e-3
# A constant column's single mode gets this standard deviation relative to max(|x|, 1).
_CONSTANT_RELATIVE_STD = 1e-6


class GaussianMixture1D(NamedTuple):
    """A fitted 1-D Gaussian mixture, components sorted by mean.

    Attributes:
        weights: mixing weights (posterior means), summing to 1.
        means: component means, in the input's units.
        stds: component standard deviations (all > 0), in the input's units.
    """

    weights: np.ndarray
    means: np.ndarray
    stds: np.ndarray


@dataclass(frozen=True)
class _Bins:
    """Standardised values grouped into narrow bins, with exact sufficient statistics."""

    values: np.ndarray  # mean of each bin
    counts: np.ndarray  # rows in each bin (float64)
    weighted: np.ndarray  # counts * values
    weighted_sq: np.ndarray  # sum of squares of the bin's rows
    spread: np.ndarray  # mean squared deviation from the bin mean


@dataclass(frozen=True)
class _Posterior:
    """Variational posterior of every component (Bishop eqs. 10.58-10.63, D = 1)."""

    alpha: np.ndarray  # Dirichlet concentration
    beta: np.ndarray  # precision scaling of the mean
    mean: np.ndarray  # m_k
    scale_inv: np.ndarray  # 1 / W_k
    dof: np.ndarray  # nu_k

    def without(self, k: int) -> _Posterior:
        """The posterior with component ``k`` removed."""
        keep = np.arange(self.alpha.size) != k
        return _Posterior(alpha=self.alpha[keep], beta=self.beta[keep], mean=self.mean[keep],
                          scale_inv=self.scale_inv[keep], dof=self.dof[keep])


@dataclass(frozen=True)
class _Settings:
    """The knobs of one fit, passed together to the inner loops."""

    alpha0: float
    max_iter: int
    tol: float
    weight_threshold: float


def as_finite_1d(x: np.ndarray, *, what: str) -> np.ndarray:
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
                    tol: float, max_rows: int, weight_threshold: float) -> None:
    """Refuse arguments that would make the fit meaningless, naming the argument."""
    for name, value in (("max_components", max_components), ("max_iter", max_iter),
                        ("max_rows", max_rows)):
        if isinstance(value, bool) or not isinstance(value, int | np.integer) or value < 1:
            raise ConfigError(f"{name} must be an integer >= 1, got {value!r}")
    if not (isinstance(weight_concentration, int | float) and math.isfinite(weight_concentration)
            and weight_concentration > 0):
        raise ConfigError(f"weight_concentration must be a finite number > 0, "
                          f"got {weight_concentration!r}")
    if not (isinstance(tol, int | float) and math.isfinite(tol) and tol >= 0):
        raise ConfigError(f"tol must be a finite number >= 0, got {tol!r}")
    if not (isinstance(weight_threshold, int | float) and 0 <= weight_threshold < 1):
        raise ConfigError(f"weight_threshold must be a number in [0, 1), got {weight_threshold!r}")


def _standardise(x: np.ndarray) -> tuple[np.ndarray, int, float, float]:
    """Map values to mean 0, std 1 without overflow, whatever their magnitude.

    Values are first scaled by a power of two (exact) so that ``|x| < 1``; only then
    are the mean and std taken, which cannot overflow even for values near 1e308.

    Returns:
        ``(z, exponent, center, scale)`` with ``x = ldexp(z * scale + center, exponent)``.
    """
    exponent = int(np.frexp(np.max(np.abs(x)))[1])
    scaled = np.ldexp(x, -exponent)
    center = float(np.mean(scaled))
    scale = float(np.std(scaled))
    return (scaled - center) / scale, exponent, center, scale


def _bin(z: np.ndarray) -> _Bins:
    """Group standardised values into bins of width ``1 / _BINS_PER_STD``.

    Equal values always share a bin, so an integer column with a few levels becomes a
    few bins with zero spread and is fitted exactly.
    """
    keys = np.floor(z * _BINS_PER_STD).astype(np.int64)
    _, inverse, counts_int = np.unique(keys, return_inverse=True, return_counts=True)
    counts = counts_int.astype(np.float64)
    values = np.bincount(inverse, weights=z) / counts
    scatter = np.bincount(inverse, weights=(z - values[inverse]) ** 2)
    return _Bins(values=values, counts=counts, weighted=counts * values,
                 weighted_sq=counts * values * values + scatter, spread=scatter / counts)


def _kmeanspp_centres(bins: _Bins, k: int, rng: np.random.Generator) -> np.ndarray:
    """Up to ``k`` distinct starting means, picked k-means++ style (weighted by counts).

    Each next centre is drawn with probability proportional to count times squared
    distance to the nearest centre so far, so centres spread over the modes. Fewer
    than ``k`` come back when there are fewer bins.
    """
    values, counts = bins.values, bins.counts
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


def _m_step(bins: _Bins, resp: np.ndarray, alpha0: float) -> _Posterior:
    """Posterior parameters from responsibilities (Bishop eqs. 10.51-10.53, 10.58-10.63)."""
    nk = resp @ bins.counts
    sx = resp @ bins.weighted
    sxx = resp @ bins.weighted_sq
    xbar = sx / np.maximum(nk, np.finfo(np.float64).tiny)
    scatter = np.maximum(sxx - sx * xbar, 0.0)  # N_k * S_k
    beta = _PRIOR_MEAN_PRECISION + nk
    shift = _PRIOR_MEAN_PRECISION * nk / beta * xbar * xbar  # m0 = 0: data are standardised
    return _Posterior(alpha=alpha0 + nk, beta=beta, mean=nk * xbar / beta,
                      scale_inv=_PRIOR_SCALE_INV + scatter + shift, dof=_PRIOR_DOF + nk)


def _e_step(bins: _Bins, post: _Posterior, alpha0: float) -> tuple[np.ndarray, float]:
    """Responsibilities and the evidence lower bound (Bishop eqs. 10.46, 10.64-10.66).

    ``log rho`` is averaged over the rows of a bin, hence the ``spread`` term. With
    responsibilities optimal for ``post``, the bound is ``sum_n log sum_k rho_nk`` minus
    the KL divergence of the weights, means and precisions from their priors; that KL
    is what makes a superfluous component cost more than it explains.

    Returns:
        ``(resp, bound)``: ``resp[k, b] = rho_kb / sum_j rho_jb`` (components on the
        first axis, so that reductions over components are row-wise and fast).
    """
    a_sum = float(post.alpha.sum())
    dig_alpha = digamma(post.alpha) - digamma(a_sum)  # E[ln pi_k]
    shape, rate = post.dof / 2, post.scale_inv / 2  # q(lambda_k) = Gamma(shape, rate)
    dig_shape = digamma(shape)
    log_rate = np.log(rate)
    const = dig_alpha + 0.5 * (dig_shape - log_rate - _LOG_2PI - 1.0 / post.beta)
    rho = bins.values - post.mean[:, None]
    rho *= rho
    rho += bins.spread
    rho *= (-0.5 * shape / rate)[:, None]
    rho += const[:, None]  # log rho
    top = rho.max(axis=0)
    rho -= top
    np.exp(rho, out=rho)
    total = rho.sum(axis=0)
    rho /= total
    expected = float(bins.counts @ (np.log(total) + top))
    k = post.alpha.size
    kl_pi = (math.lgamma(a_sum) - gammaln(post.alpha).sum() - math.lgamma(k * alpha0)
             + k * math.lgamma(alpha0) + ((post.alpha - alpha0) * dig_alpha).sum())
    ratio = _PRIOR_MEAN_PRECISION / post.beta
    kl_mean = 0.5 * (ratio + _PRIOR_MEAN_PRECISION * shape / rate * post.mean ** 2
                     - 1.0 - np.log(ratio))
    kl_precision = ((shape - _SHAPE0) * dig_shape - gammaln(shape) + _LGAMMA_SHAPE0
                    + _SHAPE0 * (log_rate - _LOG_RATE0) + shape * (_RATE0 - rate) / rate)
    return rho, expected - float(kl_pi + kl_mean.sum() + kl_precision.sum())


def _drop_dead(resp: np.ndarray, counts: np.ndarray) -> np.ndarray:
    """Responsibilities without components that hold (almost) no rows; keeps at least one."""
    nk = resp @ counts
    alive = nk >= _DEAD_COMPONENT_ROWS
    if alive.all():
        return resp
    alive[np.argmax(nk)] = True
    return resp[alive]


def _run_vb(bins: _Bins, resp: np.ndarray, settings: _Settings) -> tuple[_Posterior, float]:
    """Coordinate ascent from ``resp`` until the bound per row moves less than ``tol``.

    Returns:
        The posterior and its evidence lower bound (in standardised units).
    """
    n_rows = float(bins.counts.sum())
    previous = -math.inf
    for _ in range(settings.max_iter):
        post = _m_step(bins, _drop_dead(resp, bins.counts), settings.alpha0)
        resp, bound = _e_step(bins, post, settings.alpha0)
        if abs(bound - previous) < settings.tol * n_rows:
            break
        previous = bound
    return post, bound


def _prune(bins: _Bins, post: _Posterior, bound: float, settings: _Settings) -> _Posterior:
    """Remove components, lightest first, while a removal raises the bound.

    The rows of the removed component are reassigned by an E-step without it, then
    coordinate ascent runs again; the first removal that beats the current bound is
    kept and the search restarts from the new, smaller mixture.
    """
    while post.alpha.size > 1:
        for k in np.argsort(post.alpha, kind="stable"):
            resp, _ = _e_step(bins, post.without(int(k)), settings.alpha0)
            trial, trial_bound = _run_vb(bins, resp, settings)
            if trial_bound > bound:
                post, bound = trial, trial_bound
                break
        else:
            break
    return post


def _drop_light(bins: _Bins, post: _Posterior, settings: _Settings) -> _Posterior:
    """Remove components whose weight is at most the threshold, refitting after each.

    Refitting (rather than just discarding) lets the remaining components widen over
    the rows the light one held, e.g. the tail of a count column, so that those rows
    stay representable.
    """
    while post.alpha.size > 1:
        k = int(np.argmin(post.alpha))
        if post.alpha[k] / post.alpha.sum() > settings.weight_threshold:
            break
        resp, _ = _e_step(bins, post.without(k), settings.alpha0)
        post, _ = _run_vb(bins, resp, settings)
    return post


def _fit_bins(bins: _Bins, *, max_components: int, rng: np.random.Generator,
              settings: _Settings) -> _Posterior:
    """k-means++ start, coordinate ascent, pruning by the bound, then by weight."""
    centres = _kmeanspp_centres(bins, max_components, rng)
    resp = np.zeros((centres.size, bins.values.size))
    nearest = np.argmin(np.abs(centres[:, None] - bins.values), axis=0)
    resp[nearest, np.arange(bins.values.size)] = 1.0
    post = _prune(bins, *_run_vb(bins, resp, settings), settings)
    return _drop_light(bins, post, settings)


def _constant_mixture(value: float) -> GaussianMixture1D:
    """One mode on the constant, with a small positive std so ``alpha`` stays defined."""
    std = _CONSTANT_RELATIVE_STD * max(abs(value), 1.0)
    return GaussianMixture1D(weights=np.ones(1), means=np.array([value]), stds=np.array([std]))


def fit_variational_gmm(x: np.ndarray, *, max_components: int = 10,
                        weight_concentration: float = 1e-3, max_iter: int = 100,
                        tol: float = 1e-4, max_rows: int = 50_000, weight_threshold: float = 0.0,
                        seed: int) -> GaussianMixture1D:
    """Fit a 1-D Gaussian mixture by variational Bayes, keeping only the modes the data need.

    Args:
        x: finite values (model space).
        max_components: upper bound on the number of modes.
        weight_concentration: Dirichlet prior concentration on the weights; small
            values (the default 1e-3) favour few components.
        max_iter: maximum number of coordinate-ascent iterations per run (one run, then
            one per pruning trial).
        tol: a run stops once the evidence lower bound per row changes by less than this.
        max_rows: fit on a seeded subsample of at most this many values (speed).
        weight_threshold: components whose weight is at most this are removed one by
            one, the rest refitted each time (one component always stays).
        seed: seeds the subsample and the k-means++ initialisation; same seed and
            data, same mixture.

    Returns:
        Weights, means and stds of the surviving components, sorted by mean. A
        constant input gives one mode with a std of 1e-6 * max(|x|, 1).

    Raises:
        DataError: ``x`` is empty, not 1-D, or holds NaN or infinities.
        ConfigError: an argument is out of range.
    """
    _check_fit_args(max_components=max_components, weight_concentration=weight_concentration,
                    max_iter=max_iter, tol=tol, max_rows=max_rows,
                    weight_threshold=weight_threshold)
    rng = np.random.default_rng(check_seed(seed))
    arr = as_finite_1d(x, what="fit_variational_gmm")
    if arr.size == 0:
        raise DataError("fit_variational_gmm: no values to fit; the column has no rows")
    if arr.size > max_rows:
        arr = arr[np.sort(rng.choice(arr.size, size=max_rows, replace=False))]
    if arr.min() == arr.max():
        return _constant_mixture(float(arr[0]))
    z, exponent, center, scale = _standardise(arr)
    settings = _Settings(alpha0=float(weight_concentration), max_iter=int(max_iter),
                         tol=float(tol), weight_threshold=float(weight_threshold))
    post = _fit_bins(_bin(z), max_components=int(max_components), rng=rng, settings=settings)
    order = np.argsort(post.mean, kind="stable")
    weights = post.alpha[order] / post.alpha.sum()
    means = np.ldexp(post.mean[order] * scale + center, exponent)
    stds = np.ldexp(np.sqrt(post.scale_inv[order] / post.dof[order]) * scale, exponent)
    return GaussianMixture1D(weights=weights, means=means, stds=stds)
