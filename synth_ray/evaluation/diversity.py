"""Diversity: whether the synthetic table covers the real one or collapses onto few rows.

* category coverage: mean over discrete columns of the share of real categories the
  synthetic sample contains; judged against what a perfect generator would be expected
  to cover with as many rows (rare categories are missed by chance), as their ratio;
* range coverage: mean over continuous columns of the share of the real 0.5th-99.5th
  percentile range that the synthetic values span (SDMetrics' RangeCoverage without the
  outliers that decide a min-max range);
* duplicate rate: share of synthetic rows repeating an earlier synthetic row (on the
  learned columns), against the same share in as many real rows: real tables have
  duplicates too, and only an excess means the generator collapsed.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyarrow as pa

from synth_ray.evaluation.column_stats import ColumnReport
from synth_ray.evaluation.row_hashes import duplicate_rate, row_hashes
from synth_ray.evaluation.verdicts import Check, make_check

__all__ = ["DiversityResult", "diversity", "diversity_checks"]


@dataclass(frozen=True)
class DiversityResult:
    """Coverage and duplicates.

    Attributes:
        category_coverage: mean share of real categories found (``None``: no discrete column).
        expected_category_coverage: the same for a perfect generator with as many rows.
        range_coverage: mean share of the real range spanned (``None``: no continuous column).
        duplicate_rate: share of synthetic rows that repeat another.
        real_duplicate_rate: share of real rows that repeat another, in as many rows.
        rows: rows of each table the duplicate rates are computed on.
    """

    category_coverage: float | None
    expected_category_coverage: float | None
    range_coverage: float | None
    duplicate_rate: float
    real_duplicate_rate: float
    rows: int


def _mean(values: list[float | None]) -> float | None:
    present = [v for v in values if v is not None]
    return float(np.mean(present)) if present else None


def diversity(columns: tuple[ColumnReport, ...], real: pa.Table, synthetic: pa.Table) -> DiversityResult:
    """Aggregate the columns' coverage; duplicates on equally many rows of both samples."""
    names = [c.name for c in columns]
    n = min(real.num_rows, synthetic.num_rows)
    return DiversityResult(
        category_coverage=_mean([c.category_coverage for c in columns]),
        expected_category_coverage=_mean([c.expected_category_coverage for c in columns]),
        range_coverage=_mean([c.range_coverage for c in columns]),
        duplicate_rate=duplicate_rate(row_hashes(synthetic.slice(0, n), names)),
        real_duplicate_rate=duplicate_rate(row_hashes(real.slice(0, n), names)),
        rows=n)


def diversity_checks(result: DiversityResult) -> list[Check]:
    """Category coverage, range coverage and duplicate verdicts (each when measurable)."""
    checks = []
    if result.category_coverage is not None and result.expected_category_coverage:
        ratio = result.category_coverage / result.expected_category_coverage
        checks.append(make_check(
            "diversity.category_coverage", "Category coverage", ratio,
            f"{result.category_coverage:.1%} of the real categories appear, where a perfect "
            f"generator would show {result.expected_category_coverage:.1%} (value: the ratio)"))
    if result.range_coverage is not None:
        checks.append(make_check(
            "diversity.range_coverage", "Range coverage", result.range_coverage,
            f"synthetic values span {result.range_coverage:.1%} of the real range (0.5th-99.5th "
            "percentiles, mean over continuous columns)"))
    excess = result.duplicate_rate - result.real_duplicate_rate
    checks.append(make_check(
        "diversity.duplicates", "Duplicate rows", excess,
        f"{result.duplicate_rate:.2%} of {result.rows:,} synthetic rows repeat another, vs "
        f"{result.real_duplicate_rate:.2%} of as many real rows (value: the excess)"))
    return checks
