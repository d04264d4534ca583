"""What the gate measures on a synthetic table, map-reduced: summarize each batch, merge.

A :class:`BatchSummary` holds the sufficient statistics of one batch of rows against the
reference profile: counts of values at or below each point of a column's quantile sketch,
category counts, null counts, standardized moments (Pearson) or joint code counts
(Cramér's V) of the reference pairs, and how many rows hash like a training row. Any
batching gives the same merged summary, so pandas validates chunk by chunk and Spark one
partition at a time (``mapInArrow``) with bounded memory, and both measure exactly the
same thing. Distances are then computed from the merged summary:

* KS statistic: ``max_j |F_synthetic(p_j) - F_real(p_j)|`` over the reference points
  ``p_j`` (up to 201 real quantiles, so exact at atoms and within 0.5% elsewhere);
* total variation: ``0.5 * sum_c |p_synthetic(c) - p_real(c)|``, unseen categories count;
* Pearson's r and Cramér's V exactly as :mod:`synth_ray.evaluation.pair_trends` defines
  them (nulls as a category for V; bins are the real deciles).
"""

from __future__ import annotations

import contextlib
import json
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from synth_ray.errors import SynthRayError
from synth_ray.reference_profile import (
    ReferenceProfile,
    category_label,
    continuous_values,
    pair_codes,
    salt_hashes,
)

__all__ = ["BatchSummary", "association", "copy_count", "ks_distance", "summarize", "summarized_columns",
           "tv_distance"]

_CHUNK_ROWS = 1_000_000
_LOW_BITS_SLOTS = 1 << 20  # copy check's pre-filter: one flag per value of a hash's low 20 bits


def _pair_key(first: str, second: str) -> str:
    return json.dumps([first, second])


@dataclass
class BatchSummary:
    """Sufficient statistics of some rows against a reference profile (merge with ``+``).

    Attributes:
        rows: rows summarized.
        nulls: null count per profiled column.
        below: continuous columns: count of non-null values ``<=`` each reference point.
        present: continuous columns: non-null values.
        categories: discrete columns: count per category label.
        moments: continuous pairs: n and sums of x, y, x², y², xy of standardized values.
        joint: other pairs: count per ``"code_a,code_b"`` cell.
        copies: rows whose salted hash is a training row's.
        errors: columns that could not be read, and why.
    """

    rows: int = 0
    nulls: Counter[str] = field(default_factory=Counter)
    below: dict[str, np.ndarray] = field(default_factory=dict)
    present: Counter[str] = field(default_factory=Counter)
    categories: dict[str, Counter[str]] = field(default_factory=dict)
    moments: dict[str, np.ndarray] = field(default_factory=dict)
    joint: dict[str, Counter[str]] = field(default_factory=dict)
    copies: int = 0
    errors: dict[str, str] = field(default_factory=dict)

    def __add__(self, other: BatchSummary) -> BatchSummary:
        def add_arrays(a: dict[str, np.ndarray], b: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
            zero = np.zeros(0, dtype=np.int64)
            return {k: np.asarray(a.get(k, zero) if k not in b else b[k] if k not in a else a[k] + b[k])
                    for k in a.keys() | b.keys()}

        def add_counters(a: dict[str, Counter[str]],
                         b: dict[str, Counter[str]]) -> dict[str, Counter[str]]:
            return {k: a.get(k, Counter()) + b.get(k, Counter()) for k in a.keys() | b.keys()}

        return BatchSummary(
            rows=self.rows + other.rows, nulls=self.nulls + other.nulls,
            below=add_arrays(self.below, other.below), present=self.present + other.present,
            categories=add_counters(self.categories, other.categories),
            moments=add_arrays(self.moments, other.moments),
            joint=add_counters(self.joint, other.joint), copies=self.copies + other.copies,
            errors={**self.errors, **other.errors})

    def to_json(self) -> str:
        """JSON text (how Spark partitions send their summary to the driver)."""
        return json.dumps({
            "rows": self.rows, "nulls": self.nulls, "present": self.present, "copies": self.copies,
            "below": {k: v.tolist() for k, v in self.below.items()},
            "moments": {k: v.tolist() for k, v in self.moments.items()},
            "categories": self.categories, "joint": self.joint, "errors": self.errors})

    @classmethod
    def from_json(cls, text: str) -> BatchSummary:
        """Inverse of :meth:`to_json`."""
        d = json.loads(text)
        return cls(rows=d["rows"], nulls=Counter(d["nulls"]), present=Counter(d["present"]),
                   copies=d["copies"],
                   below={k: np.asarray(v, dtype=np.int64) for k, v in d["below"].items()},
                   moments={k: np.asarray(v, dtype=np.float64) for k, v in d["moments"].items()},
                   categories={k: Counter(v) for k, v in d["categories"].items()},
                   joint={k: Counter(v) for k, v in d["joint"].items()}, errors=d["errors"])


def _summarize_column(out: BatchSummary, table: pa.Table, name: str, profile: ReferenceProfile) -> None:
    ref = profile.columns[name]
    values = table.column(name)
    out.nulls[name] += values.null_count
    if ref.continuous is not None:
        x = continuous_values(values, name)
        x = x[~np.isnan(x)]
        points = np.asarray(ref.continuous.points)
        # values <= each point: sorting once (numpy's vectorized sort) is several times faster
        # than a binary search per value
        out.below[name] = np.searchsorted(np.sort(x), points, side="right").astype(np.int64)
        out.present[name] += len(x)
    elif ref.categorical is not None:
        if pa.types.is_dictionary(values.type):
            values = pc.cast(values, values.type.value_type)
        counts = pc.value_counts(values.drop_null())
        out.categories[name] = Counter({
            category_label(v): int(n) for v, n in zip(counts.field("values").to_pylist(),
                                                      counts.field("counts").to_pylist(), strict=True)})


def _summarize_pairs(out: BatchSummary, table: pa.Table, profile: ReferenceProfile) -> None:
    for pair in profile.pairs:
        if pair.first in out.errors or pair.second in out.errors:
            continue
        key = _pair_key(pair.first, pair.second)
        a, b = (profile.columns[n] for n in (pair.first, pair.second))
        if pair.metric == "pearson" and a.continuous is not None and b.continuous is not None:
            x = (continuous_values(table.column(pair.first), pair.first) - a.continuous.mean) \
                / a.continuous.std
            y = (continuous_values(table.column(pair.second), pair.second) - b.continuous.mean) \
                / b.continuous.std
            keep = ~(np.isnan(x) | np.isnan(y))
            x, y = x[keep], y[keep]
            out.moments[key] = np.array([len(x), x.sum(), y.sum(), (x * x).sum(), (y * y).sum(),
                                         (x * y).sum()])
        else:
            ca = pair_codes(table.column(pair.first), pair.first, a)
            cb = pair_codes(table.column(pair.second), pair.second, b)
            cells, counts = np.unique(np.stack([ca, cb], axis=1), axis=0, return_counts=True)
            out.joint[key] = Counter({f"{i},{j}": int(n) for (i, j), n in zip(cells, counts, strict=True)})


def summarized_columns(profile: ReferenceProfile) -> list[str]:
    """The columns a summary reads, in the table's order.

    Those with a distribution (continuous or categorical reference), in a reference pair,
    or hashed for the copy check. The others (id, pii and all-null columns) are checked by
    GX's own expectations only: leaving them out keeps them off the Spark-to-Python path.
    """
    wanted = {n for p in profile.pairs for n in (p.first, p.second)}
    wanted |= set(profile.row_hashes.columns) if profile.row_hashes is not None else set()
    return [name for name, ref in profile.columns.items()
            if ref.continuous is not None or ref.categorical is not None or name in wanted]


def _hashable(values: pa.ChunkedArray) -> pa.ChunkedArray:
    """Strings dictionary-encoded: they hash alike, with one hash per distinct value."""
    if pa.types.is_string(values.type) or pa.types.is_large_string(values.type):
        return pc.dictionary_encode(values)
    return values


def copy_count(table: pa.Table, profile: ReferenceProfile) -> int:
    """Rows of ``table`` whose salted hash over the learned columns is a training row's.

    Each column is cast to its real Arrow type first, so the same values hash the same
    whether they come from pandas, Spark, Parquet or Delta; a column that cannot be cast
    keeps its own values (and so matches nothing it should not).
    """
    from synth_ray.evaluation.row_hashes import row_hashes

    ref = profile.row_hashes
    if ref is None or table.num_rows == 0:
        return 0
    columns = []
    for name, type_text in zip(ref.columns, ref.types, strict=True):
        values = table.column(name)
        target = profile.arrow_schema.field(name).type
        with contextlib.suppress(pa.ArrowInvalid, pa.ArrowNotImplementedError, pa.ArrowTypeError):
            values = values.cast(target) if str(values.type) != type_text else values
        columns.append(_hashable(values))
    hashed = salt_hashes(row_hashes(pa.table(dict(zip(ref.columns, columns, strict=True))),
                                    list(ref.columns)), ref.salt)
    if not len(ref.hashes):
        return 0
    # Most rows copy nothing: a table of the training hashes' low bits rules them out in one
    # lookup; only the few left are searched for exactly.
    seen = np.zeros(_LOW_BITS_SLOTS, dtype=bool)
    seen[ref.hashes & np.uint64(_LOW_BITS_SLOTS - 1)] = True
    candidates = hashed[seen[hashed & np.uint64(_LOW_BITS_SLOTS - 1)]]
    position = np.minimum(np.searchsorted(ref.hashes, candidates), len(ref.hashes) - 1)
    return int((ref.hashes[position] == candidates).sum())


def summarize(table: pa.Table, profile: ReferenceProfile) -> BatchSummary:
    """The summary of ``table`` (any number of rows; processed a million rows at a time)."""
    total = BatchSummary()
    for start in range(0, max(table.num_rows, 1), _CHUNK_ROWS):
        total = total + _summarize_chunk(table.slice(start, _CHUNK_ROWS), profile)
    return total


def _summarize_chunk(table: pa.Table, profile: ReferenceProfile) -> BatchSummary:
    out = BatchSummary(rows=table.num_rows)
    for name in summarized_columns(profile):
        if name not in table.column_names:
            out.errors[name] = "the column is missing"
            continue
        try:
            _summarize_column(out, table, name, profile)
        except (SynthRayError, pa.ArrowInvalid, pa.ArrowNotImplementedError, TypeError) as exc:
            out.errors[name] = f"its values cannot be read as the real column's kind ({exc})"
    _summarize_pairs(out, table, profile)
    hashed = profile.row_hashes
    if hashed is not None and not any(n in out.errors for n in hashed.columns):
        out.copies = copy_count(table, profile)
    return out


def ks_distance(summary: BatchSummary, name: str, profile: ReferenceProfile) -> float:
    """KS statistic of the column against the reference CDF at its points (NaN if no values)."""
    ref = profile.columns[name].continuous
    n = summary.present.get(name, 0)
    if ref is None or n == 0 or name not in summary.below:
        return float("nan")
    return float(np.max(np.abs(summary.below[name] / n - np.asarray(ref.cdf))))


def tv_distance(summary: BatchSummary, name: str, profile: ReferenceProfile) -> float:
    """Total variation distance of the category shares (NaN if no values)."""
    ref = profile.columns[name].categorical
    counts = summary.categories.get(name, Counter())
    n = sum(counts.values())
    if ref is None or n == 0:
        return float("nan")
    real = dict(zip(ref.labels, ref.shares, strict=True))
    other_real = max(0.0, 1.0 - sum(ref.shares)) if not ref.complete else 0.0
    other_synthetic = 0.0
    distance = 0.0
    for label, count in counts.items():
        if label in real:
            distance += abs(count / n - real[label])
        elif ref.complete:
            distance += count / n
        else:
            other_synthetic += count / n
    distance += sum(share for label, share in real.items() if label not in counts)
    return 0.5 * (distance + abs(other_synthetic - other_real))


def _cramers_v(cells: Counter[str]) -> float:
    """Cramér's V of a joint count table, as :func:`pair_trends.cramers_v` defines it."""
    if not cells:
        return float("nan")
    keys = np.array([[int(p) for p in k.split(",")] for k in cells], dtype=np.int64)
    counts = np.array(list(cells.values()), dtype=np.float64)
    rows, cols = np.unique(keys[:, 0], return_inverse=True), np.unique(keys[:, 1], return_inverse=True)
    row_totals = np.bincount(rows[1], weights=counts)
    col_totals = np.bincount(cols[1], weights=counts)
    k = min(len(row_totals), len(col_totals))
    n = counts.sum()
    if k < 2:
        return float("nan")
    chi2 = n * (float((counts * counts / (row_totals[rows[1]] * col_totals[cols[1]])).sum()) - 1.0)
    return float(np.sqrt(max(chi2, 0.0) / (n * (k - 1))))


def association(summary: BatchSummary, first: str, second: str, metric: str) -> float:
    """Pearson's r or Cramér's V of the pair in the summarized rows (NaN if undefined)."""
    key = _pair_key(first, second)
    if metric == "pearson":
        m = summary.moments.get(key)
        if m is None or m[0] < 2:
            return float("nan")
        n, sx, sy, sxx, syy, sxy = (float(v) for v in m)
        vx, vy = sxx - sx * sx / n, syy - sy * sy / n
        return (sxy - sx * sy / n) / float(np.sqrt(vx * vy)) if vx > 0 and vy > 0 else float("nan")
    return _cramers_v(summary.joint.get(key, Counter()))


def summary_as_dict(summary: BatchSummary) -> dict[str, Any]:
    """A small JSON-ready view for results (row and copy counts, errors)."""
    return {"rows": summary.rows, "copies": summary.copies, "errors": dict(summary.errors)}
