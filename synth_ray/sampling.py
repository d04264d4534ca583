"""Deterministic, partition-invariant sampling.

Rows are made in fixed-size chunks by :func:`sample_chunk`, the only place synthetic
rows are produced (local, Ray and Spark sampling all call it). Row ``r`` of a sample
is row ``r % chunk_rows`` of chunk ``r // chunk_rows``, and each chunk depends only on
``(model, seed, chunk index)``: so ``sample_rows(start, stop, seed)`` over any split of
``[0, n)`` concatenates to exactly ``sample(n, seed)``.

Conditional sampling keeps the contract: a :class:`~synth_ray.conditions.ConditionPlan`
says which codes each row of a chunk must take as a function of the chunk index
alone, and :func:`~synth_ray.conditional_rows.conditional_frame` makes the chunk's rows
meet them (and the model's constraints) drawing only from the chunk's generator.
"""

from __future__ import annotations

import os
from collections import deque
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from typing import TYPE_CHECKING

import pyarrow as pa

from synth_ray.conditions import ConditionPlan
from synth_ray.errors import SamplingError
from synth_ray.randomness import MODEL_STREAM, check_seed, chunk_rng
from synth_ray.transforms.base import GenerationContext

if TYPE_CHECKING:
    from synth_ray.synthesizer import Synthesizer

__all__ = ["check_rows", "chunk_pieces", "iter_tables", "sample_chunk", "sample_rows", "sample_table"]


def check_rows(n: int) -> int:
    """Return ``n`` if it is a non-negative integer row count, else raise."""
    if isinstance(n, bool) or not isinstance(n, int) or n < 0:
        raise SamplingError(
            f"the number of rows must be a non-negative integer, got {n!r}; ask for 0 rows to get "
            "an empty table with the schema"
        )
    return n


def sample_chunk(synth: Synthesizer, *, seed: int, chunk_index: int,
                 plan: ConditionPlan | None = None) -> pa.Table:
    """All ``synth.chunk_rows`` rows of chunk ``chunk_index`` under ``seed``.

    With a ``plan`` each row meets its conditions; every row meets the model's
    constraints (without either, the generator's rows are used as they come).
    """
    n = synth.chunk_rows
    rng = chunk_rng(seed, chunk_index, MODEL_STREAM)
    constraints = synth.constraints
    if plan is None and not constraints:
        frame = synth.generator.sample(n, rng=rng)
    else:
        from synth_ray.conditional_rows import conditional_frame

        required = plan.required(seed=seed, chunk_index=chunk_index, chunk_rows=n) if plan else {}
        frame = conditional_frame(synth, n, rng=rng, required=required,
                                  describe=plan.describe if plan else str)
    row_start = chunk_index * n

    def context(column_index: int) -> GenerationContext:
        rng = chunk_rng(seed, chunk_index, MODEL_STREAM + 1 + column_index)
        return GenerationContext(row_start=row_start, n_rows=n, seed=seed, rng=rng)

    table = synth.transformer.inverse(frame, context=context)
    return constraints.complete(table, synth.transformer) if constraints else table


def chunk_pieces(start: int, stop: int, chunk_rows: int) -> Iterator[tuple[int, int, int]]:
    """(chunk index, first row within it, end row within it) covering ``[start, stop)``."""
    for chunk in range(start // chunk_rows, (stop - 1) // chunk_rows + 1 if stop > start else 0):
        lo = max(start - chunk * chunk_rows, 0)
        hi = min(stop - chunk * chunk_rows, chunk_rows)
        yield chunk, lo, hi


def iter_tables(synth: Synthesizer, *, start: int, stop: int, seed: int,
                threads: int | None = None, plan: ConditionPlan | None = None) -> Iterator[pa.Table]:
    """Rows ``[start, stop)`` as a stream of tables, one per chunk touched, in order.

    Chunks are made on ``threads`` threads (default: CPU count; numpy and Arrow
    release the GIL) with at most ``2 * threads`` chunks in flight, so memory stays
    bounded however many rows are asked for.
    """
    seed = check_seed(seed)
    if start < 0 or stop < start:
        raise SamplingError(f"row range [{start}, {stop}) is invalid: need 0 <= start <= stop")
    if plan is not None and plan.total_rows is not None and stop > plan.total_rows:
        raise SamplingError(f"rows up to {stop:,} asked of a conditional sample of "
                            f"{plan.total_rows:,} rows")
    pieces = list(chunk_pieces(start, stop, synth.chunk_rows))
    workers = max(1, min(threads or os.cpu_count() or 1, len(pieces) or 1))
    if workers == 1:
        for chunk, lo, hi in pieces:
            yield sample_chunk(synth, seed=seed, chunk_index=chunk, plan=plan).slice(lo, hi - lo)
        return
    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="synth-ray-sample") as pool:
        window: deque[tuple[Future[pa.Table], int, int]] = deque()
        for chunk, lo, hi in pieces:
            window.append((pool.submit(sample_chunk, synth, seed=seed, chunk_index=chunk, plan=plan),
                           lo, hi))
            if len(window) >= 2 * workers:
                future, a, b = window.popleft()
                yield future.result().slice(a, b - a)
        while window:
            future, a, b = window.popleft()
            yield future.result().slice(a, b - a)


def sample_rows(synth: Synthesizer, *, start: int, stop: int, seed: int,
                threads: int | None = None, plan: ConditionPlan | None = None) -> pa.Table:
    """Rows ``[start, stop)`` of the sample with ``seed``, as one Arrow table."""
    tables = list(iter_tables(synth, start=start, stop=stop, seed=seed, threads=threads, plan=plan))
    if not tables:
        return synth.transformer.schema.empty_table()
    return pa.concat_tables(tables)


def sample_table(synth: Synthesizer, *, n: int, seed: int, threads: int | None = None,
                 plan: ConditionPlan | None = None) -> pa.Table:
    """The first ``n`` rows of the sample with ``seed``."""
    return sample_rows(synth, start=0, stop=check_rows(n), seed=seed, threads=threads, plan=plan)
