"""Gaussian copula: empirical marginals joined by the correlation of normal scores.

Fit: each column's values are turned into normal scores (continuous: ranks mapped
through the normal quantile function; categories and null flags: the mean of the
standard normal over the category's slice of probability). Their correlation
matrix, made positive definite, gives a Cholesky factor ``L``.

Sample: ``z = L @ N(0, I)``; each continuous dimension maps back through a lookup
table of the empirical quantile function tabulated on a uniform grid of ``z``
(arithmetic indexing plus linear interpolation: no search, no ``Phi`` per value);
each discrete dimension through ``searchsorted`` on its thresholds in ``z``.

Conditional sampling (:meth:`GaussianCopula.propose`): a category is an interval of
its latent normal. For each row, the conditioned column whose category is least
likely is drawn exactly from the standard normal truncated to that interval, and the
other dimensions from their conditional Gaussian given it (``z += Sigma[:, j] *
(z_j' - z_j)``: regression on ``z_j``, exact for a Gaussian). Further conditions on the
same row are left to the caller's rejection.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Self

import numpy as np
from scipy import special  # scipy.stats is imported lazily: it costs ~1 s at start-up

from synth_ray.models.base import Generator
from synth_ray.transforms.model_frame import ModelColumn, ModelColumnType, ModelFrame

__all__ = ["GaussianCopula"]

_GRID_POINTS = 8193
_GRID_Z = 6.0
_MAX_CORR_ROWS = 200_000  # correlation from at most this many rows: ample precision, bounded time


def _interval_means(thresholds: np.ndarray) -> np.ndarray:
    """E[Z | t_{k-1} < Z < t_k] for a standard normal Z, for each interval."""
    edges = np.concatenate([[-np.inf], thresholds, [np.inf]])
    pdf = np.exp(-0.5 * edges**2) / np.sqrt(2.0 * np.pi)  # standard normal density; 0 at +-inf
    mass = np.diff(special.ndtr(edges))
    with np.errstate(invalid="ignore", divide="ignore"):
        means = (pdf[:-1] - pdf[1:]) / mass
    return np.nan_to_num(means)


def _discrete_thresholds(codes: np.ndarray, n_categories: int) -> tuple[np.ndarray, np.ndarray]:
    """Thresholds in z separating categories (by code order) and each row's normal score."""
    counts = np.bincount(codes, minlength=n_categories).astype(np.float64)
    cum = np.cumsum(counts)[:-1] / max(counts.sum(), 1.0)
    thresholds = special.ndtri(np.clip(cum, 0.0, 1.0))
    return thresholds, _interval_means(thresholds)[codes]


def _category_order(codes: np.ndarray, n_categories: int, continuous: np.ndarray) -> np.ndarray:
    """Each code's position on the latent normal axis of a discrete column.

    A copula can only express monotone dependence, so the order of categories on
    their axis decides which relations survive. Categories are ordered by their mean
    score on the continuous column they explain best (largest correlation ratio); with
    no continuous column, by code (most frequent first).
    """
    if len(continuous) == 0 or len(codes) < 2 or n_categories < 3:
        return np.arange(n_categories)
    counts = np.bincount(codes, minlength=n_categories)
    share = counts / len(codes)
    best_means, best_eta = np.arange(n_categories, dtype=np.float64), -1.0
    for row in continuous:
        means = np.bincount(codes, weights=row, minlength=n_categories) / np.maximum(counts, 1)
        eta = float((share * (means - row.mean()) ** 2).sum() / max(row.var(), 1e-12))
        if eta > best_eta:
            best_means, best_eta = means, eta
    return np.argsort(np.argsort(best_means, kind="stable"), kind="stable")


def _quantile_table(values: np.ndarray) -> np.ndarray:
    """The empirical quantile function evaluated at Phi(z) on the uniform z grid.

    Linear interpolation between order statistics (numpy's ``linear`` method),
    computed directly on the sorted values: one sort, no partitioning per quantile.
    """
    ordered = np.sort(values)
    pos = special.ndtr(np.linspace(-_GRID_Z, _GRID_Z, _GRID_POINTS)) * (len(ordered) - 1)
    lo = np.floor(pos).astype(np.intp)
    hi = np.minimum(lo + 1, len(ordered) - 1)
    weight = pos - lo
    with np.errstate(over="ignore", invalid="ignore"):
        table = ordered[lo] + weight * (ordered[hi] - ordered[lo])
    # Values near the float64 limit overflow the difference: the weighted mean cannot.
    return np.where(np.isfinite(table), table, ordered[lo] * (1 - weight) + ordered[hi] * weight)


def _slopes(table: np.ndarray) -> tuple[np.ndarray, int]:
    """``table[i + 1] - table[i]`` (a 0 after the last point) as ``parts`` equal parts.

    A step from -1.7e308 to 1.7e308 overflows to inf (and ``0 * inf`` is NaN): such a
    column's steps are kept as two halves, each finite, added one after the other.
    """
    with np.errstate(over="ignore"):
        slopes = np.append(np.diff(table), 0.0)
    if np.isfinite(slopes).all():
        return slopes, 1
    return np.append(np.diff(table / 2.0), 0.0), 2


def _normal_scores(values: np.ndarray) -> np.ndarray:
    from scipy.stats import rankdata  # fit-time only

    ranks = rankdata(values, method="average")
    return special.ndtri(ranks / (len(values) + 1))


def _nearest_correlation(corr: np.ndarray) -> np.ndarray:
    corr = np.nan_to_num((corr + corr.T) / 2.0)
    np.fill_diagonal(corr, 1.0)
    eigval, eigvec = np.linalg.eigh(corr)
    fixed = (eigvec * np.clip(eigval, 1e-6, None)) @ eigvec.T
    scale = np.sqrt(np.diag(fixed))
    return fixed / np.outer(scale, scale)


def _outer_sum(factor: np.ndarray) -> np.ndarray:
    """``factor @ factor.T`` summed in a fixed order (same bits on every machine, unlike BLAS)."""
    out = np.zeros((factor.shape[0], factor.shape[0]))
    for k in range(factor.shape[1]):
        out += np.multiply.outer(factor[:, k], factor[:, k])
    return out


def _truncated_normal(lo: np.ndarray, hi: np.ndarray, u: np.ndarray) -> np.ndarray:
    """float32 draws of N(0, 1) within ``[ndtri(lo), ndtri(hi))`` by inverse CDF.

    ``lo``/``hi`` are normal probabilities. Upper-tail intervals are drawn in the mirrored
    lower tail, where probabilities keep their precision; the result is nudged inside
    the interval after rounding to float32 (the copula's latent precision).
    """
    upper = lo > 0.5
    a = np.where(upper, 1.0 - hi, lo)
    b = np.where(upper, 1.0 - lo, hi)
    x = special.ndtri(a + u * (b - a))
    x = np.where(upper, -x, x)
    low, high = special.ndtri(lo), special.ndtri(hi)
    out = x.astype(np.float32)
    floor = low.astype(np.float32)
    floor = np.where(floor < low, np.nextafter(floor, np.float32(np.inf)), floor)
    ceiling = high.astype(np.float32)
    ceiling = np.where(ceiling >= high, np.nextafter(ceiling, np.float32(-np.inf)), ceiling)
    return np.clip(out, floor, np.maximum(floor, ceiling)).astype(np.float32)


class GaussianCopula(Generator):
    """The fast default generator; deterministic fit, no training loop."""

    kind = "copula"

    def __init__(self, *, columns: Sequence[ModelColumn], cholesky: np.ndarray,
                 tables: Mapping[str, np.ndarray]) -> None:
        super().__init__(columns=columns)
        self.cholesky = cholesky
        self.tables = dict(tables)  # continuous: quantile table; discrete/null: thresholds
        self._cholesky32 = cholesky.astype(np.float32)
        self._slopes = {  # table[i + 1] - table[i] (in parts near float64's edge), 0 after the last
            c.name: _slopes(self.tables[f"{c.name}/value"])
            for c in self.columns if c.type is ModelColumnType.CONTINUOUS
        }
        kinds = {c.name: c.type.value for c in self.columns}
        self._dims = [(c.name, "value", kinds[c.name]) for c in self.columns] + [
            (c.name, "null", "null") for c in self.columns if c.nullable
        ]
        self._sigma = _outer_sum(cholesky).astype(np.float32)  # correlation of the latents
        self._dim_of = {name: i for i, (name, part, _) in enumerate(self._dims) if part == "value"}

    @classmethod
    def fit(cls, frame: ModelFrame, *, columns: Sequence[ModelColumn],
            options: Mapping[str, Any], seed: int) -> Self:
        """Learn marginals and the correlation of normal scores (``options`` must be empty)."""
        from synth_ray.models.options import check_no_options

        check_no_options(options, model=cls.kind)
        tables: dict[str, np.ndarray] = {}
        scores = {c.name: np.zeros(frame.n_rows) for c in columns}
        present = {c.name: ~frame.nulls[c.name] if c.nullable else slice(None) for c in columns}
        for col in columns:  # continuous first: category orders are chosen from their scores
            if col.type is ModelColumnType.CONTINUOUS:
                values = frame.values[col.name][present[col.name]]
                tables[f"{col.name}/value"] = (
                    _quantile_table(values) if len(values) else np.zeros(_GRID_POINTS))
                if len(values):
                    scores[col.name][present[col.name]] = _normal_scores(values)
        continuous = np.array([scores[c.name] for c in columns
                               if c.type is ModelColumnType.CONTINUOUS])
        for col in columns:
            if col.type is ModelColumnType.DISCRETE:
                codes = frame.values[col.name][present[col.name]]
                order = _category_order(codes, col.n_categories, continuous[:, present[col.name]]
                                        if len(continuous) else continuous)
                thresholds, score = _discrete_thresholds(order[codes], col.n_categories)
                tables[f"{col.name}/value"] = thresholds
                tables[f"{col.name}/codes"] = np.argsort(order).astype(np.int32)
                scores[col.name][present[col.name]] = score
        nulls = []
        for col in columns:
            if col.nullable:
                thresholds, null_scores = _discrete_thresholds(frame.nulls[col.name].astype(np.intp), 2)
                tables[f"{col.name}/null"] = thresholds
                nulls.append(null_scores)
        matrix = np.array([scores[c.name] for c in columns] + nulls).reshape(-1, frame.n_rows)
        return cls(columns=columns, cholesky=cls._cholesky(matrix, seed), tables=tables)

    @staticmethod
    def _cholesky(scores: np.ndarray, seed: int) -> np.ndarray:
        d, n = scores.shape
        if d == 0:
            return np.zeros((0, 0))
        if n > _MAX_CORR_ROWS:
            rows = np.random.default_rng(seed).choice(n, _MAX_CORR_ROWS, replace=False)
            scores = scores[:, rows]
        if n < 2:
            return np.eye(d)
        with np.errstate(invalid="ignore", divide="ignore"):
            corr = np.corrcoef(scores) if d > 1 else np.ones((1, 1))
        corr = np.where(np.isfinite(corr), corr, 0.0)
        return np.linalg.cholesky(_nearest_correlation(np.atleast_2d(corr)))

    def sample(self, n: int, *, rng: np.random.Generator) -> ModelFrame:
        """``n`` rows: correlated normals mapped through the stored marginals."""
        noise = rng.standard_normal((len(self._dims), n), dtype=np.float32)
        return self._frame(self._correlate(noise))

    def propose(self, n: int, *, rng: np.random.Generator,
                required: Mapping[str, np.ndarray]) -> ModelFrame:
        """``n`` rows, each drawn from the copula given its rarest required category.

        The chosen column's latent is drawn from the normal truncated to the category's
        interval and the other latents from their conditional Gaussian given it.
        """
        conditioned = [c for c in required if c in self._dim_of
                       and f"{c}/codes" in self.tables]
        if not conditioned:
            return self.sample(n, rng=rng)
        noise = rng.standard_normal((len(self._dims), n), dtype=np.float32)
        z = self._correlate(noise)
        bounds = [self._interval(c, required[c]) for c in conditioned]
        mass = np.stack([np.where(required[c] >= 0, hi - lo, np.inf)
                         for c, (lo, hi) in zip(conditioned, bounds, strict=True)])
        pick = mass.argmin(axis=0)
        rows = np.flatnonzero(np.isfinite(mass.min(axis=0)))
        u = rng.random(n)
        if rows.size:
            choice = pick[rows]
            lo = np.stack([b[0] for b in bounds])[choice, rows]
            hi = np.stack([b[1] for b in bounds])[choice, rows]
            dims = np.array([self._dim_of[c] for c in conditioned])[choice]
            latent = _truncated_normal(lo, hi, u[rows])
            delta = latent - z[dims, rows]
            z[:, rows] += self._sigma[:, dims] * delta[None, :].astype(np.float32)
            z[dims, rows] = latent
        return self._frame(z)

    def _interval(self, column: str, codes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Each code's latent interval, as normal probabilities ``(Phi(low), Phi(high))``."""
        order = np.argsort(self.tables[f"{column}/codes"])  # code -> position on the axis
        edges = special.ndtr(np.concatenate([[-np.inf], self.tables[f"{column}/value"], [np.inf]]))
        position = order[np.clip(codes, 0, order.size - 1)]
        return edges[position], edges[position + 1]

    def _frame(self, z: np.ndarray) -> ModelFrame:
        """Correlated latents ``z`` (dims x rows) mapped through the marginals."""
        n = z.shape[1]
        frame = ModelFrame(n_rows=n)
        for row, (name, part, kind) in zip(z, self._dims, strict=True):
            table = self.tables[f"{name}/{part}"]
            if kind == "null":
                frame.nulls[name] = row > table[0]
            elif kind == "continuous":
                frame.values[name] = self._lookup(row, table, *self._slopes[name])
            else:
                position = np.searchsorted(table, row, side="right")
                frame.values[name] = self.tables[f"{name}/codes"][position]
        return frame

    def _correlate(self, noise: np.ndarray) -> np.ndarray:
        """``L @ noise`` with elementwise operations in a fixed order.

        A BLAS matrix product may sum in a different order depending on its thread
        count and CPU kernel, and the last-bit differences flip rounded values: rows
        would then depend on which machine or worker made them. Elementwise IEEE
        operations give the same bits everywhere.
        """
        out = np.empty_like(noise)
        term = np.empty_like(noise[0]) if len(noise) else noise
        for i in range(noise.shape[0]):
            row = out[i]
            np.multiply(noise[0], self._cholesky32[i, 0], out=row)
            for j in range(1, i + 1):
                np.multiply(noise[j], self._cholesky32[i, j], out=term)
                row += term
        return out

    @staticmethod
    def _lookup(z: np.ndarray, table: np.ndarray, slopes: np.ndarray, parts: int) -> np.ndarray:
        """Quantile table at ``z`` by linear interpolation on the uniform grid (in place on z)."""
        scale = np.float32((_GRID_POINTS - 1) / (2 * _GRID_Z))
        z += np.float32(_GRID_Z)
        z *= scale
        np.clip(z, 0.0, np.float32(_GRID_POINTS - 1), out=z)
        idx = z.astype(np.intp)
        z -= idx
        out = table[idx]
        step = z * slopes[idx]
        for _ in range(parts):
            out += step
        return out

    def config(self) -> dict[str, Any]:
        """Grid settings (tables and the Cholesky factor are tensors)."""
        return {"grid_points": _GRID_POINTS, "grid_z": _GRID_Z}

    @staticmethod
    def _check_grid(config: Mapping[str, Any]) -> None:
        if (config.get("grid_points"), config.get("grid_z")) != (_GRID_POINTS, _GRID_Z):
            from synth_ray.errors import ArtifactError

            raise ArtifactError(
                f"this copula was saved with grid {config.get('grid_points')}/{config.get('grid_z')}, "
                f"this synth-ray samples with {_GRID_POINTS}/{_GRID_Z}; use the synth-ray version "
                "that wrote it, or refit"
            )

    def tensors(self) -> dict[str, np.ndarray]:
        """Cholesky factor and per-column tables."""
        return {"cholesky": self.cholesky, **{f"table/{k}": v for k, v in self.tables.items()}}

    @classmethod
    def from_state(cls, *, columns: Sequence[ModelColumn], config: Mapping[str, Any],
                   tensors: Mapping[str, np.ndarray]) -> Self:
        """Rebuild from :meth:`config` and :meth:`tensors`."""
        cls._check_grid(config)
        tables = {k.removeprefix("table/"): v for k, v in tensors.items() if k.startswith("table/")}
        return cls(columns=columns, cholesky=np.asarray(tensors["cholesky"]), tables=tables)
