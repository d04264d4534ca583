"""Where Ray Data's per-row cost goes when sampling: CPU of each Ray process, in-actor profile.

Runs ``sample_dataset(rows=N, actors=K)`` on a local 2-CPU Ray and consumes it one of
three ways (``--consume``): ``pull`` (the driver's ``iter_batches``), ``count`` (blocks are
made in the object store and dropped; only metadata reaches the driver) or ``parquet``
(``write_dataset`` to a local Parquet folder). Over the timed run it records the CPU seconds
of every process by role (driver, raylet, GCS, sampling actors, other Ray workers, anything
else on the machine) from psutil, and the seconds the actors spent inside ``sample_chunk``
(so the remainder of their CPU is Ray's own work in the actor: task dispatch, serialising
blocks into the object store). ``--cprofile DIR`` also writes a cProfile of each actor.

Usage:
  .venv/bin/python benchmarks/ray_sampling_profile.py --rows 10000000 --actors 1 --consume count
"""

from __future__ import annotations

import argparse
import contextlib
import cProfile
import json
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import pyarrow as pa

sys.path.insert(0, str(Path(__file__).resolve().parent))
from machine_load import wait_for_quiet
from sampling_memory_benchmark import fit_and_save

SEED = 1


def _role(proc: Any, driver: int) -> str:
    if proc.pid == driver:
        return "driver"
    name = " ".join(proc.cmdline()[:2])
    for key, role in (("raylet", "raylet"), ("gcs_server", "gcs"), ("MapWorker", "actors"),
                      ("ray::", "other ray workers"), ("default_worker", "other ray workers"),
                      ("dashboard", "ray agents"), ("runtime_env", "ray agents"),
                      ("log_monitor", "ray agents"), ("monitor.py", "ray agents")):
        if key in name:
            return role
    return "rest of the machine"


def cpu_by_role() -> dict[int, tuple[str, float]]:
    """CPU seconds so far of every process on the machine, with its role."""
    import psutil

    out = {}
    for proc in psutil.process_iter():
        with contextlib.suppress(psutil.Error):
            t = proc.cpu_times()
            out[proc.pid] = (_role(proc, os.getpid()), t.user + t.system)
            NAMES[proc.pid] = " ".join(proc.cmdline())[:70]
    return out


NAMES: dict[int, str] = {}


def busiest(before: dict[int, tuple[str, float]], after: dict[int, tuple[str, float]],
            wall: float) -> list[str]:
    spent = sorted(((cpu - before.get(pid, (role, 0.0))[1]) / wall, pid, role)
                   for pid, (role, cpu) in after.items())
    return [f"{c:.2f} {role} {NAMES.get(pid, '')}" for c, pid, role in spent[::-1][:8]]


class RoleCpu:
    """Cores used per role while a ``with`` block ran, polled so short-lived actors count.

    Ray ends a Dataset's actors as soon as it is consumed, before a final snapshot could
    read them: each process's last-seen CPU time is kept from polls every ``interval_s``.
    Processes started during the block count from zero (their start-up is part of the run).
    """

    def __init__(self, interval_s: float = 0.5) -> None:
        import threading

        self.interval_s, self.cores = interval_s, {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._poll, daemon=True)

    def _poll(self) -> None:
        while not self._stop.wait(self.interval_s):
            self._last.update(cpu_by_role())

    def __enter__(self) -> RoleCpu:
        self._before = cpu_by_role()
        self._last = dict(self._before)
        self._started = time.perf_counter()
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
        self._last.update(cpu_by_role())
        self.cores = cores_by_role(self._before, self._last, time.perf_counter() - self._started)


def cores_by_role(before: dict[int, tuple[str, float]], after: dict[int, tuple[str, float]],
                  wall: float) -> dict[str, float]:
    cores: dict[str, float] = {}
    for pid, (role, cpu) in after.items():
        spent = cpu - before.get(pid, (role, 0.0))[1]
        cores[role] = cores.get(role, 0.0) + spent / wall
    return {k: round(v, 3) for k, v in sorted(cores.items())}


def _timed_sampler(profile_dir: str | None) -> type:
    from synth_ray.on_ray.sampling import ChunkSampler

    class TimedSampler(ChunkSampler):
        """ChunkSampler that records the seconds spent in ``sample_chunk`` (and a profile)."""

        def __init__(self, **kwargs: Any) -> None:
            super().__init__(**kwargs)
            self.inside_s, self.calls, self.profile = 0.0, 0, None
            self.cpu_at_first = 0.0
            self.profile_dir = profile_dir

        def __call__(self, batch: pa.Table) -> pa.Table:
            if self.profile_dir and self.profile is None:
                self.profile = cProfile.Profile()  # this thread, from the first call on
                self.profile.enable()
            if not self.calls:
                self.cpu_at_first = time.process_time()
            started = time.thread_time()
            out = super().__call__(batch)
            self.inside_s += time.thread_time() - started
            self.calls += 1
            if self.calls % 16 == 0:
                self._dump()
            return out

        def _dump(self) -> None:
            stats_dir = Path(self.profile_dir or tempfile.gettempdir())
            (stats_dir / f"inside-{os.getpid()}.json").write_text(json.dumps(
                {"inside_s": self.inside_s, "calls": self.calls,
                 "process_cpu_s": time.process_time() - self.cpu_at_first}))
            if self.profile is not None:
                self.profile.dump_stats(stats_dir / f"actor-{os.getpid()}.prof")

    return TimedSampler


def run(model_dir: Path, *, rows: int, actors: int, consume: str, stats_dir: Path) -> dict[str, Any]:
    import ray

    import synth_ray
    from synth_ray.on_ray import sampling
    from synth_ray.on_ray.cluster import ensure_ray
    from synth_ray.on_ray.writing import write_dataset

    synth = synth_ray.load(model_dir)
    ensure_ray(num_cpus=2)
    sampling.ChunkSampler = _timed_sampler(str(stats_dir))  # type: ignore[misc]
    sampling.sample_dataset(synth, rows=synth.chunk_rows * 2, seed=SEED).count()  # warm-up
    for f in stats_dir.glob("inside-*.json"):
        f.unlink()
    load = wait_for_quiet(max_wait_s=60)
    before = cpu_by_role()
    started = time.perf_counter()
    dataset = sampling.sample_dataset(synth, rows=rows, seed=SEED, actors=actors)
    if consume == "pull":
        seen = sum(b.num_rows for b in dataset.iter_batches(batch_format="pyarrow", batch_size=None,
                                                            prefetch_batches=4))
    elif consume == "count":
        seen = dataset.count()
    else:
        out = stats_dir / "out"
        seen = write_dataset(dataset, schema=synth.metadata.arrow_schema, path=out,
                             format="parquet").rows
        shutil.rmtree(out, ignore_errors=True)
    wall = time.perf_counter() - started
    after = cpu_by_role()
    time.sleep(1.0)
    inside = [json.loads(f.read_text()) for f in stats_dir.glob("inside-*.json")]
    stats = ray.data.Dataset.stats(dataset) if consume != "count" else ""
    ray.shutdown()
    assert seen == rows, (seen, rows)
    return {"rows": rows, "actors": actors, "consume": consume, "wall_s": round(wall, 2),
            "rows_per_s": round(rows / wall), "load_before": load,
            "cores": cores_by_role(before, after, wall),
            "sample_chunk_cpu_s": round(sum(i["inside_s"] for i in inside), 2),
            "actor_cpu_s_first_to_last_dump": round(sum(i["process_cpu_s"] for i in inside), 2),
            "calls": sum(i["calls"] for i in inside), "busiest": busiest(before, after, wall),
            "ray_stats": str(stats)[-3000:]}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=10_000_000)
    parser.add_argument("--actors", type=int, default=1)
    parser.add_argument("--consume", choices=["pull", "count", "parquet"], default="count")
    parser.add_argument("--model", type=Path, help="a saved model (default: fit the copula on diamonds)")
    parser.add_argument("--cprofile", type=Path, help="folder for each actor's cProfile")
    args = parser.parse_args(argv)
    workdir = Path(tempfile.mkdtemp(prefix="ray-profile-"))
    try:
        model = args.model or workdir / "model"
        if args.model is None:
            fit_and_save(model)
        stats_dir = args.cprofile or workdir
        stats_dir.mkdir(parents=True, exist_ok=True)
        result = run(model, rows=args.rows, actors=args.actors, consume=args.consume,
                     stats_dir=stats_dir)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    print(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
