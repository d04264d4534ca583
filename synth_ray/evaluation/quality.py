"""The overall quality score: mean of Column Shapes and Column Pair Trends.

Defined as SDMetrics 0.32's QualityReport defines it (see :mod:`column_shapes` and
:mod:`pair_trends` for the two properties and the few documented differences), so
users can compare numbers across tools:

* Column Shapes: the mean shape similarity over the learned columns (NaN ones left out);
* Column Pair Trends: the mean trend similarity over the pairs with a real trend
  (``|r| > 0.5`` or Cramér's V ``> 0.3`` in the real data); NaN when no pair has one;
* score: the mean of the two (just Column Shapes when no pair counts).

Id and pii columns are not scored (they are regenerated, not learned). Large tables are
compared on uniform samples of ``max_rows`` rows, drawn with ``seed`` (stated in the
result); when a table was sampled, the score's sampling error is estimated from
disjoint sub-samples (:func:`sampling_error`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace

import numpy as np

from synth_ray.evaluation.column_shapes import ks_complement, tv_complement
from synth_ray.evaluation.encoding import EncodedColumn
from synth_ray.evaluation.pair_trends import (
    REAL_ASSOCIATION_THRESHOLD,
    REAL_CORRELATION_THRESHOLD,
    PairTrend,
    bin_codes,
    contingency_similarity,
    correlation_similarity,
    cramers_v,
    pearson,
)
from synth_ray.metadata import TableMetadata
from synth_ray.table_input import TableLike

__all__ = ["QualityScore", "quality_score", "sampling_error", "score_fidelity"]


@dataclass(frozen=True)
class QualityScore:
    """Fidelity of a synthetic table, in [0, 1] (1 = same distributions).

    Attributes:
        score: mean of ``column_shapes`` and ``pair_trends`` (SDMetrics' overall score).
        column_shapes: mean per-column shape similarity.
        pair_trends: mean similarity of the pairs that count (``nan`` when none does).
        columns: per-column shape similarity.
        pairs: similarity of each pair that counts, keyed ``"a | b"``.
        rows_compared: rows of (real, synthetic) used.
        pair_details: every scored pair, counted or not, with its real and synthetic trend.
        standard_error: estimated sampling error of ``score`` (``None`` when nothing was
            sampled: the score is then exact for the tables given).
    """

    score: float
    column_shapes: float
    pair_trends: float
    columns: dict[str, float] = field(default_factory=dict)
    pairs: dict[str, float] = field(default_factory=dict)
    rows_compared: tuple[int, int] = (0, 0)
    pair_details: tuple[PairTrend, ...] = ()
    standard_error: float | None = None


def _pair_inputs(column: EncodedColumn) -> tuple[np.ndarray, np.ndarray]:
    """Codes of a column for contingency tables: binned per table if continuous."""
    if column.continuous:
        return bin_codes(column.real), bin_codes(column.synthetic)
    return column.real, column.synthetic


def _score_pair(a: EncodedColumn, b: EncodedColumn,
                coded: dict[str, tuple[np.ndarray, np.ndarray]]) -> PairTrend:
    if a.continuous and b.continuous:
        r_real, r_synth = pearson(a.real, b.real), pearson(a.synthetic, b.synthetic)
        return PairTrend(first=a.name, second=b.name, metric="correlation",
                         score=correlation_similarity(r_real, r_synth), real=r_real,
                         synthetic=r_synth,
                         counted=not math.isnan(r_real) and abs(r_real) > REAL_CORRELATION_THRESHOLD)
    (ra, sa), (rb, sb) = coded[a.name], coded[b.name]
    v_real, v_synth = cramers_v(ra, rb), cramers_v(sa, sb)
    return PairTrend(first=a.name, second=b.name, metric="contingency",
                     score=contingency_similarity((ra, rb), (sa, sb)), real=v_real,
                     synthetic=v_synth,
                     counted=not math.isnan(v_real) and v_real > REAL_ASSOCIATION_THRESHOLD)


def _mean(values: list[float]) -> float:
    finite = [v for v in values if not math.isnan(v)]
    return float(np.mean(finite)) if finite else float("nan")


def score_fidelity(columns: list[EncodedColumn],
                   pairs: list[tuple[str, str]]) -> QualityScore:
    """The quality score of encoded samples, over the given column pairs."""
    by_name = {c.name: c for c in columns}
    shapes = {c.name: (ks_complement(c.real, c.synthetic) if c.continuous
                       else tv_complement(c.real, c.synthetic)) for c in columns}
    needed = {name for pair in pairs for name in pair}
    coded = {name: _pair_inputs(by_name[name]) for name in needed}
    details = tuple(_score_pair(by_name[a], by_name[b], coded) for a, b in pairs)
    counted = {f"{p.first} | {p.second}": p.score for p in details
               if p.counted and not math.isnan(p.score)}
    column_shapes, pair_trends = _mean(list(shapes.values())), _mean(list(counted.values()))
    rows = (len(columns[0].real), len(columns[0].synthetic)) if columns else (0, 0)
    return QualityScore(score=_mean([column_shapes, pair_trends]), column_shapes=column_shapes,
                        pair_trends=pair_trends, columns=shapes, pairs=counted,
                        rows_compared=rows, pair_details=details)


def sampling_error(columns: list[EncodedColumn], pairs: list[tuple[str, str]], *, score: float,
                   split_real: bool, split_synthetic: bool, replicates: int) -> float | None:
    """Sampling error of the quality ``score`` of these samples, from disjoint sub-samples.

    The sampled side(s) are cut into ``replicates`` equal parts (the samples are in
    random order, so each part is a uniform sample of ``n / replicates`` rows) and each
    part is scored. The root-mean-square deviation of the part scores from ``score``,
    divided by ``sqrt(replicates)``, estimates the error at ``n`` rows: the spread of the
    score, plus part of its small-sample bias (KS and TV distances grow as samples
    shrink, so a sampled score reads a little low). A side that was not sampled is used
    whole in every part: it is the data, not a sample of it.
    """
    if not columns or not (split_real or split_synthetic) or math.isnan(score):
        return None
    n_real, n_synth = len(columns[0].real), len(columns[0].synthetic)
    parts_real = np.array_split(np.arange(n_real), replicates) if split_real else None
    parts_synth = np.array_split(np.arange(n_synth), replicates) if split_synthetic else None
    scores = []
    for i in range(replicates):
        subset = [c.subset(real=None if parts_real is None else parts_real[i],
                           synthetic=None if parts_synth is None else parts_synth[i])
                  for c in columns]
        scores.append(score_fidelity(subset, pairs).score)
    finite = np.array([s for s in scores if not math.isnan(s)])
    if len(finite) < 2:
        return None
    return float(np.sqrt(np.mean((finite - score) ** 2) / len(finite)))


def quality_score(real: TableLike, synthetic: TableLike, metadata: TableMetadata, *,
                  max_rows: int = 100_000, seed: int = 0) -> QualityScore:
    """Score ``synthetic`` against ``real`` (both tables of ``metadata``'s columns).

    Args:
        real: the real table (pandas DataFrame or Arrow table).
        synthetic: the synthetic table, with the same columns.
        metadata: the real table's metadata (``model.metadata``): which columns are learned.
        max_rows: rows of each table compared at most (a uniform sample beyond that).
        seed: seed of the samples and of the pair sample.

    Raises:
        SchemaError: the tables have different columns or incompatible types.
        DataError: a table has no rows.
    """
    from synth_ray.evaluation.encoding import encode_columns
    from synth_ray.evaluation.inputs import check_tables, draw_samples
    from synth_ray.evaluation.pair_trends import select_pairs
    from synth_ray.evaluation.settings import EvaluationSettings, rng_for
    from synth_ray.table_input import to_arrow

    settings = EvaluationSettings(seed=seed, fidelity_rows=max_rows)
    real_t, synth_t = to_arrow(real), to_arrow(synthetic)
    check_tables(real_t, synth_t, None, metadata)
    samples = draw_samples(real_t, synth_t, None, metadata=metadata, rows=max_rows, seed=seed)
    columns = encode_columns(samples, metadata)
    pairs = select_pairs([c.name for c in columns], max_pairs=settings.max_pairs,
                         rng=rng_for(seed, "pairs"))
    quality = score_fidelity(columns, pairs)
    info = samples.info
    error = sampling_error(columns, pairs, score=quality.score,
                           split_real=info.real_sampled < info.real_rows,
                           split_synthetic=info.synthetic_sampled < info.synthetic_rows,
                           replicates=settings.replicates)
    return replace(quality, standard_error=error)
