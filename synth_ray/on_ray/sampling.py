"""Sampling with Ray Data: a Dataset of synthetic rows, identical to local sampling.

The Dataset starts from the list of chunks covering ``[0, rows)``; a callable class,
loaded once per actor from the model's bytes, turns each chunk index into its rows
with :func:`synth_ray.sampling.sample_chunk`, the same function local sampling uses.
Order is preserved, so the Dataset equals ``sample(rows, seed)`` row for row, for any
number of blocks and actors. Conditions travel as the request (values, not codes) and
each actor plans them once, exactly as local sampling does.

A sampling actor that dies (a lost node, the OOM killer, SIGKILL) is restarted by Ray
with the same constructor arguments, and the chunks it was making are retried on it:
Ray Data gives actor pools ``max_restarts=-1`` and ``max_task_retries=-1`` by default
(Ray 2.60; passing them through ``ray_remote_args`` is deprecated there, so they are not
restated). A chunk depends only on ``(model, seed, chunk index)``, so a retried chunk is
the same rows and the Dataset is unchanged by the failure (tests/test_faults_ray.py).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pyarrow as pa

from synth_ray.artifacts import load_model_files, model_files
from synth_ray.conditions import Conditions, Distribution, plan_conditions
from synth_ray.errors import ConfigError
from synth_ray.on_ray.cluster import ensure_ray
from synth_ray.sampling import check_rows, chunk_pieces, sample_chunk

if TYPE_CHECKING:
    from synth_ray.synthesizer import Synthesizer

__all__ = ["ChunkSampler", "map_chunks", "sample_dataset"]


class ChunkSampler:
    """Ray Data callable class: model loaded once per actor, one chunk per batch row."""

    def __init__(self, *, files: dict[str, bytes], seed: int, conditions: Conditions | None = None,
                 distribution: Distribution | None = None, rows: int | None = None) -> None:
        self.synth = load_model_files(files)
        self.seed = seed
        self.plan = plan_conditions(self.synth, conditions=conditions, distribution=distribution,
                                    rows=rows)

    def __call__(self, batch: pa.Table) -> pa.Table:
        """The rows of every chunk piece in ``batch`` (columns chunk, lo, hi)."""
        pieces = zip(batch["chunk"].to_pylist(), batch["lo"].to_pylist(), batch["hi"].to_pylist(),
                     strict=True)
        tables = [sample_chunk(self.synth, seed=self.seed, chunk_index=c, plan=self.plan
                               ).slice(lo, hi - lo)
                  for c, lo, hi in pieces]
        if not tables:
            return self.synth.metadata.arrow_schema.empty_table()
        return pa.concat_tables(tables)


def _check_capacity(ray: Any, *, actors: int, num_cpus: float) -> None:
    """Refuse a pool that can never start (Ray would wait for CPUs forever)."""
    available = float(ray.cluster_resources().get("CPU", 0.0))
    if actors < 1 or actors * num_cpus > available:
        raise ConfigError(
            f"{actors} sampling actor(s) x {num_cpus} CPU need {actors * num_cpus:g} CPUs but the Ray "
            f"cluster has {available:g}; use at most {int(available // max(num_cpus, 1e-9))} actors "
            "or fewer CPUs per actor"
        )


_CHUNKS_PER_BLOCK = 8  # ~0.25 s of copula work per task; a Parquet file of ~500k rows


def _blocks(pieces: int, actors: int) -> int:
    """Default input blocks: about 8 chunks each, at least 4 per actor (an even finish).

    Every block is a task the driver schedules; one block per chunk cost the driver a
    fifth of a core with the copula on 2 cores (benchmarks/RESULTS.md).
    """
    return min(pieces, max(4 * actors, -(-pieces // _CHUNKS_PER_BLOCK)))


def _dataset_context(ray: Any) -> Any:
    """A copy of the current Ray Data context with sampling's settings.

    A Dataset keeps the context it was built under, so these apply to this Dataset (and
    the steps chained on it) without changing the caller's context: order preserved (the
    Dataset equals ``sample(rows, seed)`` row for row), and no per-task memory poll
    thread (a psutil read every second in each task; the chunks are sized, not measured).
    """
    context = ray.data.DataContext.get_current().copy()
    context.execution_options.preserve_order = True
    context.memory_usage_poll_interval_s = None
    return context


def map_chunks(synth: Synthesizer, fn: type, *, rows: int, seed: int, blocks: int | None,
               actors: int, num_cpus: float, address: str | None, conditions: Conditions | None,
               distribution: Distribution | None, batch_size: int | None = 1,
               fn_kwargs: dict[str, Any] | None = None) -> Any:
    """The chunk pieces of ``[0, rows)`` mapped by the callable class ``fn`` on an actor pool.

    ``fn`` is :class:`ChunkSampler` or a subclass; ``fn_kwargs`` are added to its
    constructor's keyword arguments. Returns None when ``rows`` is 0.
    """
    plan_conditions(synth, conditions=conditions, distribution=distribution, rows=check_rows(rows))
    ray = ensure_ray(address=address)
    _check_capacity(ray, actors=actors, num_cpus=num_cpus)
    pieces = [{"chunk": c, "lo": lo, "hi": hi} for c, lo, hi in chunk_pieces(0, rows, synth.chunk_rows)]
    if not pieces:
        return None
    with ray.data.DataContext.current(_dataset_context(ray)):
        plan = ray.data.from_items(pieces, override_num_blocks=blocks or _blocks(len(pieces), actors))
        return plan.map_batches(
            fn, batch_size=batch_size, batch_format="pyarrow",
            fn_constructor_kwargs={"files": model_files(synth), "seed": seed, "conditions": conditions,
                                   "distribution": distribution, "rows": rows, **(fn_kwargs or {})},
            compute=ray.data.ActorPoolStrategy(size=actors), num_cpus=num_cpus,
        )


def sample_dataset(synth: Synthesizer, *, rows: int, seed: int = 0, blocks: int | None = None,
                   actors: int = 1, num_cpus: float = 1.0, address: str | None = None,
                   conditions: Conditions | None = None,
                   distribution: Distribution | None = None) -> Any:
    """``rows`` synthetic rows as a ``ray.data.Dataset`` (connects to Ray if needed).

    Every block is put into Ray's object store and read back by whatever consumes the
    Dataset; to write a table, :func:`synth_ray.on_ray.writing.write_sample` has the
    actors write the files themselves, which is faster (no block crosses the store).

    Args:
        synth: the fitted model; its files are shipped to the actors once.
        rows: number of rows.
        seed: sampling seed; the same seed gives the same rows however the work is split.
        blocks: input blocks, each one Ray task (default: about 8 chunks each, at least 4
            per actor, at most one per chunk).
        actors: sampling actors (each loads the model once).
        num_cpus: CPUs reserved per actor.
        address: Ray cluster address (default: ``RAY_ADDRESS`` or a local Ray).
        conditions: as :meth:`Synthesizer.sample` (checked here before any actor starts).
        distribution: as :meth:`Synthesizer.sample`.
    """
    dataset = map_chunks(synth, ChunkSampler, rows=rows, seed=seed, blocks=blocks, actors=actors,
                         num_cpus=num_cpus, address=address, conditions=conditions,
                         distribution=distribution)
    if dataset is None:
        import ray

        return ray.data.from_arrow(synth.metadata.arrow_schema.empty_table())
    return dataset
