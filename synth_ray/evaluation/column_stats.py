"""Per-column comparisons beyond the shape score: nulls, ranges, categories, overlays.

For each learned column: the null rate of each table; for continuous columns the
min and max of each table, the share of synthetic values outside the real range and
the range coverage (SDMetrics' RangeCoverage, how much of a real range the synthetic
values span, over the real 0.5th-99.5th percentiles rather than the outlier-driven
min and max); for discrete columns the category coverage (share of the real
categories the synthetic sample contains), what a perfect generator would be expected
to cover with as many rows (``mean_c 1 - (1 - p_c)^n``: rare categories can be missed
by chance), and the share of synthetic values in categories the real sample lacks.
It also bins both tables for the report's distribution overlays.
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass

import numpy as np

from synth_ray.evaluation.encoding import EncodedColumn
from synth_ray.evaluation.quality import QualityScore
from synth_ray.evaluation.verdicts import Check, make_check
from synth_ray.metadata import ColumnKind, TableMetadata

__all__ = ["ColumnReport", "Distribution", "column_reports", "fidelity_checks", "format_value"]

_HISTOGRAM_BINS = 30
_MAX_VALUE_BARS = 40  # continuous columns with at most this many distinct values: one bar each
_TOP_CATEGORIES = 12
_TAIL = 0.005  # histograms span the 0.5th to 99.5th percentiles; the tails go to the end bins


@dataclass(frozen=True)
class Distribution:
    """What a column's overlay plot draws: both tables' shares per bin or per value.

    Attributes:
        kind: ``histogram`` (``edges`` has one more entry than the shares) or ``bars``.
        real: share of the real non-null values in each bin or bar.
        synthetic: the same for the synthetic values.
        edges: histogram only: the bin edges (datetimes: seconds since the epoch).
        labels: bars only: the label of each bar.
    """

    kind: str
    real: tuple[float, ...]
    synthetic: tuple[float, ...]
    edges: tuple[float, ...] = ()
    labels: tuple[str, ...] = ()


@dataclass(frozen=True)
class ColumnReport:
    """One column's fidelity details.

    Attributes:
        name: the column.
        kind: its kind.
        metric: the shape metric (``KSComplement`` or ``TVComplement``).
        shape: its shape similarity (NaN when all null in both tables).
        real_null_rate: share of nulls in the real sample.
        synthetic_null_rate: share of nulls in the synthetic sample.
        real_min: continuous only: smallest real value (datetimes as ISO-8601 text).
        real_max: continuous only: largest real value.
        synthetic_min: continuous only: smallest synthetic value.
        synthetic_max: continuous only: largest synthetic value.
        out_of_range_rate: continuous only: share of synthetic values outside the real range.
        range_coverage: continuous only: share of the real 0.5th-99.5th percentile range
            that the synthetic values span.
        category_coverage: discrete only: share of the real categories found in the synthetic.
        expected_category_coverage: discrete only: what a perfect generator would cover.
        new_category_rate: discrete only: share of synthetic values of unseen categories.
        distribution: the binned shares the report plots.
    """

    name: str
    kind: ColumnKind
    metric: str
    shape: float
    real_null_rate: float
    synthetic_null_rate: float
    distribution: Distribution
    real_min: float | str | None = None
    real_max: float | str | None = None
    synthetic_min: float | str | None = None
    synthetic_max: float | str | None = None
    out_of_range_rate: float | None = None
    range_coverage: float | None = None
    category_coverage: float | None = None
    expected_category_coverage: float | None = None
    new_category_rate: float | None = None


def format_value(value: float, *, kind: ColumnKind, unit: str | None) -> float | str:
    """A continuous value for people: datetimes (seconds since epoch) as ISO-8601 text."""
    if kind is not ColumnKind.DATETIME or math.isnan(value):
        return value
    moment = dt.datetime(1970, 1, 1) + dt.timedelta(seconds=value)
    return moment.date().isoformat() if unit == "D" else moment.isoformat()


def _shares(counts: np.ndarray) -> tuple[float, ...]:
    total = counts.sum()
    return tuple(float(c) for c in (counts / total if total else counts.astype(float)))


def _value_bars(r: np.ndarray, s: np.ndarray) -> Distribution | None:
    values = np.unique(np.concatenate([r, s]))
    if len(values) > _MAX_VALUE_BARS:
        return None
    labels = tuple(f"{v:g}" for v in values)
    count = len(values)
    return Distribution(kind="bars", labels=labels,
                        real=_shares(np.bincount(np.searchsorted(values, r), minlength=count)),
                        synthetic=_shares(np.bincount(np.searchsorted(values, s), minlength=count)))


def _histogram(column: EncodedColumn) -> Distribution:
    r, s = column.real[~np.isnan(column.real)], column.synthetic[~np.isnan(column.synthetic)]
    both = np.concatenate([r, s])
    if len(both) == 0:
        return Distribution(kind="histogram", real=(), synthetic=())
    if column.kind is ColumnKind.NUMERICAL and (bars := _value_bars(r, s)) is not None:
        return bars
    lo, hi = (float(v) for v in np.quantile(both, [_TAIL, 1 - _TAIL]))
    if hi <= lo:
        lo, hi = lo - 0.5, hi + 0.5
    edges = np.linspace(lo, hi, _HISTOGRAM_BINS + 1)

    def counts(x: np.ndarray) -> np.ndarray:
        return np.histogram(np.clip(x, lo, hi), bins=edges)[0]

    return Distribution(kind="histogram", edges=tuple(float(e) for e in edges),
                        real=_shares(counts(r)), synthetic=_shares(counts(s)))


def _category_bars(column: EncodedColumn) -> Distribution:
    size = len(column.categories)
    r = np.bincount(column.real[column.real >= 0], minlength=size)
    s = np.bincount(column.synthetic[column.synthetic >= 0], minlength=size)
    top = min(_TOP_CATEGORIES, column.real_categories) or min(_TOP_CATEGORIES, size)
    labels = list(column.categories[:top])
    r_bars, s_bars = list(r[:top]), list(s[:top])
    if size > top:
        labels.append(f"{size - top:,} other")
        r_bars.append(r[top:].sum())
        s_bars.append(s[top:].sum())
    total_r, total_s = max(r.sum(), 1), max(s.sum(), 1)
    return Distribution(kind="bars", labels=tuple(labels),
                        real=tuple(float(v) / total_r for v in r_bars),
                        synthetic=tuple(float(v) / total_s for v in s_bars))


def _range_details(r: np.ndarray, s: np.ndarray) -> tuple[float | None, float | None]:
    """(out-of-range rate, range coverage) of synthetic values ``s`` against real ``r``.

    Coverage is RangeCoverage over the real 0.5th-99.5th percentile range rather than
    the min-max range: a single outlier decides the min-max range, so much that a fresh
    sample of real diamonds covers only 89% of it, while any faithful sample spans the
    central 99%.
    """
    if len(r) == 0 or len(s) == 0:
        return None, None
    outside = float(np.mean((s < r.min()) | (s > r.max())))
    lo, hi = (float(v) for v in np.quantile(r, [_TAIL, 1 - _TAIL]))
    s_min, s_max = float(s.min()), float(s.max())
    if hi <= lo:
        return outside, 1.0 if s_min <= lo <= s_max else 0.0
    missed = max(s_min - lo, 0.0) + max(hi - s_max, 0.0)
    return outside, float(np.clip(1.0 - missed / (hi - lo), 0.0, 1.0))


def _continuous_report(column: EncodedColumn, shape: float, unit: str | None) -> ColumnReport:
    r, s = column.real[~np.isnan(column.real)], column.synthetic[~np.isnan(column.synthetic)]
    outside, coverage = _range_details(r, s)

    def fmt(x: np.ndarray, pick: str) -> float | str | None:
        if len(x) == 0:
            return None
        return format_value(float(getattr(x, pick)()), kind=column.kind, unit=unit)

    return ColumnReport(
        name=column.name, kind=column.kind, metric="KSComplement", shape=shape,
        real_null_rate=1.0 - len(r) / len(column.real),
        synthetic_null_rate=1.0 - len(s) / len(column.synthetic),
        distribution=_histogram(column), real_min=fmt(r, "min"), real_max=fmt(r, "max"),
        synthetic_min=fmt(s, "min"), synthetic_max=fmt(s, "max"),
        out_of_range_rate=outside, range_coverage=coverage)


def _discrete_report(column: EncodedColumn, shape: float) -> ColumnReport:
    r, s = column.real[column.real >= 0], column.synthetic[column.synthetic >= 0]
    k = column.real_categories
    seen = np.bincount(s, minlength=len(column.categories)) if len(s) else np.zeros(
        len(column.categories), dtype=np.int64)
    coverage = expected = None
    if k:
        p = np.bincount(r, minlength=k)[:k] / len(r)
        coverage = float(np.mean(seen[:k] > 0))
        expected = float(np.mean(1.0 - np.power(1.0 - p, len(s))))
    return ColumnReport(
        name=column.name, kind=column.kind, metric="TVComplement", shape=shape,
        real_null_rate=1.0 - len(r) / len(column.real),
        synthetic_null_rate=1.0 - len(s) / len(column.synthetic),
        distribution=_category_bars(column), category_coverage=coverage,
        expected_category_coverage=expected,
        new_category_rate=float(seen[k:].sum() / len(s)) if len(s) else None)


def column_reports(columns: list[EncodedColumn], shapes: dict[str, float],
                   metadata: TableMetadata) -> tuple[ColumnReport, ...]:
    """Every learned column's details, in the table's order."""
    return tuple(
        _continuous_report(c, shapes[c.name], metadata[c.name].unit) if c.continuous
        else _discrete_report(c, shapes[c.name]) for c in columns)


def fidelity_checks(quality: QualityScore, columns: tuple[ColumnReport, ...]) -> list[Check]:
    """The quality-score verdict and the null-rate verdict (on the worst column)."""
    checks = [make_check(
        "fidelity.quality", "Quality score (SDMetrics definition)", quality.score,
        f"mean of column shapes {quality.column_shapes:.3f} and column pair trends "
        f"{quality.pair_trends:.3f} ({len(quality.pairs)} pairs with a real trend)")]
    if columns:
        worst = max(columns, key=lambda c: abs(c.synthetic_null_rate - c.real_null_rate))
        gap = abs(worst.synthetic_null_rate - worst.real_null_rate)
        detail = (f"largest difference in column {worst.name!r}: {worst.real_null_rate:.2%} null "
                  f"in the real table, {worst.synthetic_null_rate:.2%} in the synthetic one"
                  if gap > 0 else "every column has the same share of nulls in both tables")
        checks.append(make_check("fidelity.null_rates", "Null rates", gap, detail))
    return checks
