"""Mode-specific normalization of a continuous column (CTGAN, Xu et al., NeurIPS 2019).

A continuous column is often multi-modal and heavy-tailed; min-max scaling then
squashes most values into a sliver of ``[-1, 1]`` that a network's ``tanh`` output
hardly resolves. Mode-specific normalization fits a 1-D Gaussian mixture to the
column and represents each value ``x`` by a mode ``k`` (one-hot, produced by a
``softmax`` head) and its position inside that mode,
``alpha = (x - mu_k) / (4 sigma_k)`` (produced by a ``tanh`` head). The way back is
``x = alpha * 4 sigma_k + mu_k``.

The mixture comes from :func:`synth_ray.transforms.variational_gmm.fit_variational_gmm`.
Everything here works on the finite float64 model-space arrays that
:mod:`synth_ray.transforms.numerical` and :mod:`synth_ray.transforms.datetime` produce.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from synth_ray.config_checks import check_keys
from synth_ray.errors import ConfigError, DataError
from synth_ray.transforms.output_spans import OutputSpan, SpanActivation
from synth_ray.transforms.variational_gmm import as_finite_1d, fit_variational_gmm

__all__ = ["ModeSpecificNormalizer"]

_PARAM_KEYS = ("weights", "means", "stds")


def _check_mixture(weights: np.ndarray, means: np.ndarray, stds: np.ndarray) -> None:
    """Refuse a mixture the encoder cannot use, saying which part is wrong."""
    if not (weights.ndim == means.ndim == stds.ndim == 1
            and weights.size == means.size == stds.size >= 1):
        raise ConfigError(
            "mode-specific normalization: weights, means and stds must be flat lists of the "
            f"same length >= 1, got {weights.size}, {means.size} and {stds.size} entries"
        )
    if not (np.isfinite(weights).all() and np.isfinite(means).all()
            and np.isfinite(stds).all()):
        raise ConfigError("mode-specific normalization: weights, means and stds must be finite")
    if (weights <= 0).any() or abs(float(weights.sum()) - 1.0) > 1e-9:
        raise ConfigError(f"mode-specific normalization: weights must be > 0 and sum to 1, "
                          f"got {weights.tolist()}")
    if (stds <= 0).any():
        raise ConfigError(f"mode-specific normalization: stds must be > 0, got {stds.tolist()}")


def _sample_modes(log_post: np.ndarray, uniforms: np.ndarray) -> np.ndarray:
    """One mode per row, drawn from the row's (unnormalised) log posterior.

    Inverse-CDF sampling: the cumulative sum is divided by its last entry, which makes
    that entry exactly 1, so ``u < 1`` always selects a mode and a mode of probability
    zero is never selected.
    """
    probs = np.exp(log_post - log_post.max(axis=1, keepdims=True))
    cdf = np.cumsum(probs, axis=1)
    cdf /= cdf[:, -1:]
    return np.asarray((cdf <= uniforms[:, None]).sum(axis=1), dtype=np.int64)


class ModeSpecificNormalizer:
    """One continuous column's mode-specific normalization (CTGAN's continuous encoding).

    A value ``x`` is encoded as a mode ``k`` and ``alpha = (x - mu_k) / (4 sigma_k)``.
    ``alpha`` is clipped to ``[-1, 1]`` so that a ``tanh`` head can produce it. To keep
    values representable, the mode is picked only among the modes whose
    ``[mu_k - 4 sigma_k, mu_k + 4 sigma_k]`` band contains ``x`` (by posterior argmax, or
    drawn from the posterior restricted to those modes when an ``rng`` is given, as the
    CTGAN paper does). Only a value outside every band, further than 4 sigma from every
    mode, is clipped: it is given the nearest band's mode and comes back as that band's
    edge. Such values are rare in the fitted data (a Gaussian puts about 6 in 100,000
    rows beyond 4 sigma; a mode lighter than the threshold is refitted onto its
    neighbours, which usually covers its rows) and :meth:`representable` says which
    values round-trip.

    Example:
        >>> import numpy as np
        >>> x = np.random.default_rng(0).normal(size=1_000)
        >>> norm = ModeSpecificNormalizer.fit(x, seed=0)
        >>> alpha, modes = norm.encode(x)
        >>> bool(np.allclose(norm.decode(alpha, modes), x))
        True
    """

    def __init__(self, *, weights: Sequence[float] | np.ndarray,
                 means: Sequence[float] | np.ndarray, stds: Sequence[float] | np.ndarray) -> None:
        w, mu, sd = (np.array(v, dtype=np.float64) for v in (weights, means, stds))
        _check_mixture(w, mu, sd)
        self._weights, self._means, self._stds = w, mu, sd
        self._half_widths = 4.0 * sd
        # Log posterior up to a per-row constant: log w_k - log sigma_k - (x - mu_k)^2 / (2 sigma_k^2).
        self._log_prior = np.log(w) - np.log(sd)

    @classmethod
    def fit(cls, x: np.ndarray, *, seed: int, max_components: int = 10,
            weight_threshold: float = 0.005, weight_concentration: float = 1e-3,
            max_iter: int = 100, tol: float = 1e-4,
            max_rows: int = 50_000) -> ModeSpecificNormalizer:
        """Fit the modes of ``x`` (see :func:`fit_variational_gmm` for the arguments).

        Modes whose weight is at most ``weight_threshold`` are dropped (their rows are
        refitted onto the others) and the rest renormalised, so the network never
        has to learn a mode that holds almost no rows.
        """
        mixture = fit_variational_gmm(
            x, max_components=max_components, weight_concentration=weight_concentration,
            max_iter=max_iter, tol=tol, max_rows=max_rows, weight_threshold=weight_threshold,
            seed=seed)
        keep = mixture.weights > weight_threshold
        keep[np.argmax(mixture.weights)] = True
        weights = mixture.weights[keep] / mixture.weights[keep].sum()
        return cls(weights=weights.tolist(), means=mixture.means[keep].tolist(),
                   stds=mixture.stds[keep].tolist())

    @property
    def n_modes(self) -> int:
        """Number of modes (width of the one-hot block)."""
        return int(self._weights.size)

    @property
    def weights(self) -> np.ndarray:
        """Mode weights, summing to 1 (a copy)."""
        return self._weights.copy()

    @property
    def means(self) -> np.ndarray:
        """Mode means (a copy)."""
        return self._means.copy()

    @property
    def stds(self) -> np.ndarray:
        """Mode standard deviations (a copy)."""
        return self._stds.copy()

    @property
    def output_spans(self) -> list[OutputSpan]:
        """Layout of :meth:`encode_matrix`: ``alpha`` (tanh), then the modes (softmax)."""
        return [OutputSpan(1, SpanActivation.TANH),
                OutputSpan(self.n_modes, SpanActivation.SOFTMAX)]

    @property
    def output_width(self) -> int:
        """Number of columns of :meth:`encode_matrix`: ``1 + n_modes``."""
        return 1 + self.n_modes

    def representable(self, x: np.ndarray) -> np.ndarray:
        """Boolean mask: True where ``x`` lies within 4 sigma of some mode (decodes exactly)."""
        raw = self._raw_alpha(as_finite_1d(x, what="ModeSpecificNormalizer.representable"))
        return np.asarray((np.abs(raw) <= 1.0).any(axis=1))

    def encode(self, x: np.ndarray, *,
               rng: np.random.Generator | None = None) -> tuple[np.ndarray, np.ndarray]:
        """Encode values as ``(alpha, mode)``.

        Args:
            x: finite values, shape ``(n,)``.
            rng: ``None`` picks each row's most probable representable mode; a
                generator draws it from the posterior over representable modes (one
                uniform per row, so the same generator state gives the same modes).

        Returns:
            ``alpha`` (float64 in ``[-1, 1]``, shape ``(n,)``) and ``mode`` (int64 in
            ``[0, n_modes)``, shape ``(n,)``).
        """
        raw = self._raw_alpha(as_finite_1d(x, what="ModeSpecificNormalizer.encode"))
        n = int(raw.shape[0])
        inside = np.abs(raw) <= 1.0
        any_inside = inside.any(axis=1)
        log_post = np.where(inside, self._log_prior - 8.0 * raw * raw, -np.inf)
        if rng is None:
            modes = np.argmax(log_post, axis=1).astype(np.int64)
        else:
            uniforms = rng.random(size=n)
            modes = np.zeros(n, dtype=np.int64)
            modes[any_inside] = _sample_modes(log_post[any_inside], uniforms[any_inside])
        outside = ~any_inside
        modes[outside] = np.argmin(np.abs(raw[outside]), axis=1)
        alpha = np.clip(raw[np.arange(n), modes], -1.0, 1.0)
        return alpha, modes

    def encode_matrix(self, x: np.ndarray, *,
                      rng: np.random.Generator | None = None) -> np.ndarray:
        """``[alpha, one-hot(mode)]`` as one float64 matrix of shape ``(n, 1 + n_modes)``."""
        alpha, modes = self.encode(x, rng=rng)
        out = np.zeros((alpha.size, self.output_width))
        out[:, 0] = alpha
        out[np.arange(alpha.size), 1 + modes] = 1.0
        return out

    def decode(self, alpha: np.ndarray, modes: np.ndarray) -> np.ndarray:
        """Values from ``(alpha, mode)``: ``alpha * 4 sigma_k + mu_k``, float64, shape ``(n,)``.

        ``alpha`` is used as given (not clipped): a ``tanh`` head already keeps it in
        ``[-1, 1]``, and anything else extrapolates linearly.
        """
        a = np.asarray(alpha, dtype=np.float64)
        m = np.asarray(modes)
        if a.ndim != 1 or m.shape != a.shape:
            raise DataError(f"ModeSpecificNormalizer.decode: alpha and modes must be 1-D of the "
                            f"same length, got shapes {a.shape} and {m.shape}")
        if m.size and (not np.issubdtype(m.dtype, np.integer) or m.min() < 0
                       or m.max() >= self.n_modes):
            raise DataError(f"ModeSpecificNormalizer.decode: modes must be integers in "
                            f"[0, {self.n_modes}), got dtype {m.dtype} and range "
                            f"[{m.min()}, {m.max()}]")
        return np.asarray(a * self._half_widths[m] + self._means[m])

    def decode_matrix(self, matrix: np.ndarray) -> np.ndarray:
        """Values from an ``(n, 1 + n_modes)`` matrix; the mode is the argmax of the mode block.

        The mode block may be one-hot or soft (softmax probabilities or logits).
        """
        mat = np.asarray(matrix, dtype=np.float64)
        if mat.ndim != 2 or mat.shape[1] != self.output_width:
            raise DataError(f"ModeSpecificNormalizer.decode_matrix: expected shape "
                            f"(n, {self.output_width}), got {mat.shape}")
        return self.decode(mat[:, 0], np.argmax(mat[:, 1:], axis=1))

    def to_params(self) -> dict[str, Any]:
        """JSON-ready parameters: plain lists of floats (exact through ``json``)."""
        return {"weights": self._weights.tolist(), "means": self._means.tolist(),
                "stds": self._stds.tolist()}

    @classmethod
    def from_params(cls, params: Mapping[str, Any]) -> ModeSpecificNormalizer:
        """Rebuild from :meth:`to_params`; unknown or missing keys raise ConfigError."""
        check_keys(params, allowed=_PARAM_KEYS, where="mode-specific normalization params")
        missing = [key for key in _PARAM_KEYS if key not in params]
        if missing:
            raise ConfigError(f"mode-specific normalization params: missing key(s) {missing}")
        return cls(weights=params["weights"], means=params["means"], stds=params["stds"])

    def __repr__(self) -> str:
        return f"ModeSpecificNormalizer(n_modes={self.n_modes})"

    def _raw_alpha(self, x: np.ndarray) -> np.ndarray:
        """Unclipped ``(x - mu_k) / (4 sigma_k)`` for every row and mode, shape ``(n, K)``."""
        return np.asarray((x[:, None] - self._means) / self._half_widths)
