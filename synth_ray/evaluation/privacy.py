"""Privacy: whether the synthetic table gives away the rows it was trained on.

Judged against a real holdout the generator never saw, as mostlyai-qa, SDMetrics and
TabSyn do: a synthetic row that is merely *plausible* is as close to the training rows
as a fresh real row is; one that *memorized* a training row is closer. So each metric
compares the synthetic rows with the holdout rows, never with an absolute bound:

* exact matches: share of synthetic rows equal (on every learned column) to a row of
  the full training table, against the same share for holdout rows (real tables have
  duplicates of their own; only the excess is a leak);
* DCR share: share of synthetic rows whose closest record is a training row rather than
  a holdout row (ties count half), reweighted to equal set sizes, so that a generator
  that copies neither lands at 50% and one that copies lands near 100%. Without the
  reweighting, the training rows searched would have to be as few as the holdout rows,
  and a copy of a training row left out of that sample would look innocent: with a 20%
  holdout, a generator copying every training row would score only about 62%. When
  ``n_t`` training and ``n_h`` holdout rows are searched, a row that copies neither has
  its closest record among the training rows with probability ``p = n_t / (n_t + n_h)``
  (the real rows are exchangeable); a raw share ``s`` is reported as
  ``s (1 - p) / (s (1 - p) + (1 - s) p)``, which is ``s`` itself when ``n_t = n_h``;
* DCR tail: 5th percentile of the distance to the closest training record (DCR) of
  synthetic rows, divided by that of holdout rows (< 1: the closest synthetic rows hug
  training rows more tightly than real rows do);
* NNDR tail: the same ratio for the nearest-neighbour distance ratio (closest / second
  closest training record), which is small when a row sits next to one record in
  particular, the re-identification risk of an outlier.

Distances are those of :mod:`distances`. Without a holdout only the exact-match rate
is measured, and no verdict is given. :func:`privacy_of` measures privacy alone, on
bounded samples, for a gate that must decide before a table is published.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyarrow as pa

from synth_ray.evaluation.column_stats import Distribution
from synth_ray.evaluation.distances import embed, nearest_distances
from synth_ray.evaluation.encoding import EncodedColumn
from synth_ray.evaluation.inputs import Samples
from synth_ray.evaluation.row_hashes import match_rate, row_hashes
from synth_ray.evaluation.verdicts import Check, make_check
from synth_ray.metadata import TableMetadata

__all__ = ["PrivacyResult", "balanced_share", "exact_matches", "measure_privacy", "privacy_checks",
           "privacy_of", "tail_ratio"]

_TAIL = 0.05
_RATIO_CAP = 10.0
_HISTOGRAM_BINS = 40


@dataclass(frozen=True)
class PrivacyResult:
    """Exact matches and distances to the closest training records.

    Attributes:
        exact_match_rate: share of synthetic rows equal to some training row.
        exact_match_rows: synthetic rows checked (against every training row).
        holdout_exact_match_rate: the same share for holdout rows (``None`` without one).
        dcr_share: share of synthetic rows closer to training than to holdout rows,
            reweighted to equally many of each (0.5: no memorization).
        dcr_synthetic_q05: 5th percentile of the synthetic rows' DCR to training rows.
        dcr_holdout_q05: 5th percentile of the holdout rows' DCR to training rows.
        dcr_synthetic_median: median synthetic DCR.
        dcr_holdout_median: median holdout DCR.
        nndr_synthetic_q05: 5th percentile of the synthetic rows' NNDR.
        nndr_holdout_q05: 5th percentile of the holdout rows' NNDR.
        distance_rows: training rows searched.
        holdout_distance_rows: holdout rows searched (as many as training rows when the
            holdout is large enough, else all of them).
        distance_queries: synthetic rows whose neighbours were searched.
        dcr_histogram: DCR to training rows; ``real`` holds the holdout rows' shares.
    """

    exact_match_rate: float
    exact_match_rows: int
    holdout_exact_match_rate: float | None = None
    dcr_share: float | None = None
    dcr_synthetic_q05: float | None = None
    dcr_holdout_q05: float | None = None
    dcr_synthetic_median: float | None = None
    dcr_holdout_median: float | None = None
    nndr_synthetic_q05: float | None = None
    nndr_holdout_q05: float | None = None
    distance_rows: int = 0
    distance_queries: int = 0
    dcr_histogram: Distribution | None = None
    holdout_distance_rows: int = 0


def _nndr(distances: np.ndarray) -> np.ndarray:
    """Closest / second-closest distance; 1 where both are 0 (a duplicated record)."""
    if distances.shape[1] < 2:
        return np.ones(len(distances))
    first, second = distances[:, 0], distances[:, 1]
    return np.divide(first, second, out=np.ones_like(first), where=second > 0)


def _histogram(holdout: np.ndarray, synthetic: np.ndarray) -> Distribution:
    hi = float(np.quantile(np.concatenate([holdout, synthetic]), 0.99)) or 1.0
    edges = np.linspace(0.0, hi, _HISTOGRAM_BINS + 1)

    def shares(x: np.ndarray) -> tuple[float, ...]:
        counts = np.histogram(np.clip(x, 0.0, hi), bins=edges)[0]
        return tuple(float(c) for c in counts / max(len(x), 1))

    return Distribution(kind="histogram", edges=tuple(float(e) for e in edges),
                        real=shares(holdout), synthetic=shares(synthetic))


def exact_matches(training: pa.Table, synthetic: pa.Table, holdout: pa.Table | None,
                  columns: list[str]) -> tuple[float, float | None]:
    """Shares of synthetic (and holdout) rows equal to a row of the *full* training table.

    The full table, not a sample: a copy of a training row left out of a sample would
    go unseen, and hashing costs 8 bytes a training row.
    """
    reference = row_hashes(training, columns)
    synthetic_rate = match_rate(row_hashes(synthetic, columns), reference)
    if holdout is None:
        return synthetic_rate, None
    return synthetic_rate, match_rate(row_hashes(holdout, columns), reference)


def balanced_share(closer: float, *, training: int, holdout: int) -> float:
    """The share ``closer`` of rows nearer to ``training`` records, as if both sets were equally large.

    A row that copies neither set is nearer to the training set with probability
    ``p = training / (training + holdout)``; the odds ``closer / (1 - closer)`` are divided by
    ``p / (1 - p)``, so that ``p`` maps to 0.5, 1 stays 1 and 0 stays 0.
    """
    p = training / (training + holdout)
    weighted = closer * (1.0 - p)
    return float(weighted / (weighted + (1.0 - closer) * p))


def _distances(columns: list[EncodedColumn], *, rows: int, exact_match_rate: float,
               exact_match_rows: int, holdout_exact_match_rate: float) -> PrivacyResult:
    held = columns[0].holdout if columns[0].holdout is not None else ()
    m_train, m_holdout = min(rows, len(columns[0].real)), min(rows, len(held))
    queries = min(rows, len(columns[0].synthetic))
    train = embed(columns, "real", slice(0, m_train))
    holdout = embed(columns, "holdout", slice(0, m_holdout))
    synthetic = embed(columns, "synthetic", slice(0, queries))
    s_train = nearest_distances(train, synthetic, k=2)
    s_holdout = nearest_distances(holdout, synthetic, k=1)[:, 0]
    h_train = nearest_distances(train, holdout, k=2)
    dcr_s, dcr_h = s_train[:, 0], h_train[:, 0]
    closer = float(np.mean(dcr_s < s_holdout) + 0.5 * np.mean(dcr_s == s_holdout))
    return PrivacyResult(
        exact_match_rate=exact_match_rate, exact_match_rows=exact_match_rows,
        holdout_exact_match_rate=holdout_exact_match_rate,
        dcr_share=balanced_share(closer, training=m_train, holdout=m_holdout),
        dcr_synthetic_q05=float(np.quantile(dcr_s, _TAIL)),
        dcr_holdout_q05=float(np.quantile(dcr_h, _TAIL)),
        dcr_synthetic_median=float(np.median(dcr_s)), dcr_holdout_median=float(np.median(dcr_h)),
        nndr_synthetic_q05=float(np.quantile(_nndr(s_train), _TAIL)),
        nndr_holdout_q05=float(np.quantile(_nndr(h_train), _TAIL)),
        distance_rows=m_train, holdout_distance_rows=m_holdout, distance_queries=queries,
        dcr_histogram=_histogram(dcr_h, dcr_s))


def measure_privacy(training: pa.Table, samples: Samples, columns: list[EncodedColumn], *,
                    rows: int) -> PrivacyResult:
    """Exact matches against the full training table; distances when there is a holdout.

    Args:
        training: the full real table the generator learned from.
        samples: the evaluation's samples (distances use ``rows`` rows of each).
        columns: the encoded learned columns.
        rows: synthetic rows queried, and training and holdout rows searched (each).
    """
    names = [c.name for c in columns]
    rate, holdout_rate = exact_matches(training, samples.synthetic, samples.holdout, names)
    if holdout_rate is None:
        return PrivacyResult(exact_match_rate=rate, exact_match_rows=samples.synthetic.num_rows)
    return _distances(columns, rows=rows, exact_match_rate=rate,
                      exact_match_rows=samples.synthetic.num_rows,
                      holdout_exact_match_rate=holdout_rate)


def privacy_of(training: pa.Table, synthetic: pa.Table, holdout: pa.Table, *,
               metadata: TableMetadata, rows: int, seed: int = 0) -> PrivacyResult:
    """The privacy metrics alone (no fidelity, detection or utility): what a gate computes.

    Each table is sampled (seeded, ``rows`` rows at most) and cast to the training
    table's types exactly as :func:`synth_ray.evaluation.evaluate` does, so the numbers
    are the report's; exact matches are still counted against every training row.

    Args:
        training: the real rows the generator learned from.
        synthetic: the synthetic table to judge.
        holdout: real rows the generator never saw.
        metadata: the model's metadata (which columns are learned).
        rows: synthetic rows queried, and training and holdout rows searched (each).
        seed: seed of the samples.

    Raises:
        SchemaError: the tables have different columns or incompatible types.
        DataError: a table is empty, or no column is learned.
    """
    from synth_ray.errors import DataError
    from synth_ray.evaluation.encoding import encode_columns
    from synth_ray.evaluation.inputs import check_tables, draw_samples

    check_tables(training, synthetic, holdout, metadata)
    samples = draw_samples(training, synthetic, holdout, metadata=metadata, rows=rows, seed=seed)
    columns = encode_columns(samples, metadata)
    if not columns:
        raise DataError("no learned column to compare: every column is an id or pii column, "
                        "regenerated rather than learned, so no synthetic row can copy a real one")
    return measure_privacy(training, samples, columns, rows=rows)


def tail_ratio(synthetic: float, holdout: float) -> float:
    """``synthetic / holdout`` (1 when both are 0; capped at 10 so it stays a number)."""
    if holdout <= 0:
        return 1.0 if synthetic <= 0 else _RATIO_CAP
    return min(synthetic / holdout, _RATIO_CAP)


def privacy_checks(result: PrivacyResult) -> list[Check]:
    """The four privacy verdicts (none without a holdout: there is nothing to judge against)."""
    if result.holdout_exact_match_rate is None or result.dcr_share is None:
        return []
    excess = result.exact_match_rate - result.holdout_exact_match_rate
    dcr = tail_ratio(result.dcr_synthetic_q05 or 0.0, result.dcr_holdout_q05 or 0.0)
    nndr = tail_ratio(result.nndr_synthetic_q05 or 0.0, result.nndr_holdout_q05 or 0.0)
    return [
        make_check("privacy.exact_matches", "Exact copies of training rows", excess,
                   f"{result.exact_match_rate:.2%} of synthetic rows equal a training row, vs "
                   f"{result.holdout_exact_match_rate:.2%} of holdout rows (value: the excess)"),
        make_check("privacy.dcr_share", "Closer to training than to holdout", result.dcr_share,
                   f"{result.dcr_share:.1%} of {result.distance_queries:,} synthetic rows are nearer "
                   f"to {result.distance_rows:,} training rows than to "
                   f"{result.holdout_distance_rows:,} holdout rows, counted as if both were "
                   "equally many (50% = no memorization)"),
        make_check("privacy.dcr_tail", "Distance to closest record (5th pct.)", dcr,
                   f"synthetic {result.dcr_synthetic_q05:.4f} vs holdout {result.dcr_holdout_q05:.4f}: "
                   "ratio below 1 means synthetic rows sit closer to training rows than real ones do"),
        make_check("privacy.nndr_tail", "Nearest-neighbour distance ratio (5th pct.)", nndr,
                   f"synthetic {result.nndr_synthetic_q05:.3f} vs holdout "
                   f"{result.nndr_holdout_q05:.3f}: low values single out one training record"),
    ]
