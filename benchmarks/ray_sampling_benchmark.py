"""Ray Data sampling: 1 vs 2 actors, per-row cost vs in-process, 100M rows to Parquet.

Targets (issue 5):
  "Sampling with 2 Ray workers vs 1 on this 2-core machine: >= 1.7x rows/s, and Ray's
  per-row cost within 20% of in-process sampling (startup reported separately)."
  "100,000,000 rows sampled to Parquet through Ray Data with peak memory (all Ray
  processes) under 4 GB."

Method, on the Gaussian copula fitted on ggplot2/diamonds (53,940 rows):

1. rates: a local Ray with 2 CPUs; ``synth_ray.on_ray.sample_dataset(rows=N, actors=K)``
   for K = 1 and 2, consumed by the driver with ``iter_batches`` (blocks are read from the
   object store and dropped: sampling, not writing, is measured). The time to the first
   block is the start-up (actor start, model load, the first chunk); the per-row cost is
   the rest of the wall time over the rest of the rows. In-process reference: the same
   rows with ``synth_ray.sampling.iter_tables(threads=1)`` (one thread, as one actor has
   one CPU). Each timed phase waits for a quiet machine and records how quiet it was.
2. memory: ``synth-ray sample MODEL --rows 100000000 --out TMP/x --format parquet
   --engine ray --workers 2`` as a subprocess, which starts its own local Ray; the peak of
   the summed PSS (proportional set size: shared object-store pages are counted once, not
   once per process that maps them) of the command and every process it started (raylet,
   GCS, Ray workers), polled every 0.5 s; summed RSS is printed too (an over-count).

Usage:
  .venv/bin/python benchmarks/ray_sampling_benchmark.py [--rows 20000000]
      [--write-rows 100000000] [--out-json results.json]

Exit status 1 when a target fails.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from copula_benchmark import CpuWatch, machine_info, print_targets
from machine_load import wait_for_quiet
from sampling_memory_benchmark import (
    fit_and_save,
    parquet_rows_and_bytes,
    scratch_workdir,
    synth_ray_command,
)

TARGET_SPEEDUP = 1.7
TARGET_COST_RATIO = 1.2  # "within 20%": Ray's per-row cost at most 1.2x in-process
TARGET_PEAK_BYTES = 4_000_000_000
SAMPLE_SEED = 1
POLL_S = 0.5  # reading every process's smaps for PSS costs CPU: not faster
MIB = 2**20


@dataclass
class Rate:
    label: str
    rows: int
    wall_s: float
    startup_s: float
    steady_rows_per_s: float
    per_row_us: float
    others_cores: float
    load_before: dict[str, float]


@dataclass
class WriteRun:
    command: list[str]
    rows: int
    wall_s: float
    peak_pss_mib: float
    peak_rss_mib: float
    output_rows: int
    output_bytes: int
    others_cores: float


def _rate(label: str, rows: int, batches: Any, load: dict[str, float]) -> Rate:
    """Consume ``batches`` (an iterator of Arrow tables); time the first and the rest."""
    with CpuWatch() as watch:
        started = time.perf_counter()
        first_at, first_rows, seen = None, 0, 0
        for table in batches:
            seen += table.num_rows
            if first_at is None:
                first_at, first_rows = time.perf_counter(), table.num_rows
        wall = time.perf_counter() - started
    if seen != rows or first_at is None:
        raise SystemExit(f"{label}: got {seen:,} rows, asked for {rows:,}")
    steady_s = wall - (first_at - started)
    steady_rows = rows - first_rows
    return Rate(label=label, rows=rows, wall_s=wall, startup_s=first_at - started,
                steady_rows_per_s=steady_rows / steady_s, per_row_us=steady_s / steady_rows * 1e6,
                others_cores=watch.others_cores, load_before=load)


def measure_rates(model_dir: Path, rows: int, max_wait: float) -> list[Rate]:
    import synth_ray
    from synth_ray.on_ray.cluster import ensure_ray
    from synth_ray.on_ray.sampling import sample_dataset
    from synth_ray.sampling import iter_tables

    synth = synth_ray.load(model_dir)
    started = time.perf_counter()
    ensure_ray(num_cpus=2)
    print(f"# local Ray started in {time.perf_counter() - started:.1f} s (not counted below)",
          flush=True)
    sample_dataset(synth, rows=synth.chunk_rows * 2, seed=SAMPLE_SEED).count()  # warm-up
    results = []
    load = wait_for_quiet(max_wait_s=max_wait)
    results.append(_rate("in-process, 1 thread", rows,
                         iter_tables(synth, start=0, stop=rows, seed=SAMPLE_SEED, threads=1), load))
    for actors in (1, 2):
        load = wait_for_quiet(max_wait_s=max_wait)
        dataset = sample_dataset(synth, rows=rows, seed=SAMPLE_SEED, actors=actors)
        batches = dataset.iter_batches(batch_format="pyarrow", batch_size=None, prefetch_batches=4)
        results.append(_rate(f"Ray Data, {actors} actor(s)", rows, batches, load))
    import ray

    ray.shutdown()
    return results


def _tree_memory(proc: Any) -> tuple[int, int]:
    """(summed PSS, summed RSS) of ``proc`` and its descendants."""
    import psutil

    pss = rss = 0
    try:
        members = [proc, *proc.children(recursive=True)]
    except psutil.Error:
        return 0, 0
    for member in members:
        with contextlib.suppress(psutil.Error):
            info = member.memory_full_info()
            pss += getattr(info, "pss", info.rss)
            rss += info.rss
    return pss, rss


def write_run(model_dir: Path, rows: int, workdir: Path, max_wait: float) -> WriteRun:
    import psutil

    target = workdir / "x"
    command = [synth_ray_command(), "sample", str(model_dir), "--rows", str(rows), "--out",
               str(target), "--format", "parquet", "--engine", "ray", "--workers", "2",
               "--seed", str(SAMPLE_SEED), "-q"]
    wait_for_quiet(max_wait_s=max_wait)
    peak_pss = peak_rss = 0
    with CpuWatch() as watch, tempfile.TemporaryFile("w+") as log:
        started = time.perf_counter()
        child = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT,
                                 env={**os.environ, "RAY_ADDRESS": ""})
        proc = psutil.Process(child.pid)
        while child.poll() is None:
            pss, rss = _tree_memory(proc)
            peak_pss, peak_rss = max(peak_pss, pss), max(peak_rss, rss)
            time.sleep(POLL_S)
        wall = time.perf_counter() - started
        log.seek(0)
        output = log.read()
    if child.returncode != 0:
        raise SystemExit(f"{' '.join(command)} exited {child.returncode}:\n{output[-4000:]}")
    out_rows, out_bytes = parquet_rows_and_bytes(target)
    shutil.rmtree(target, ignore_errors=True)
    return WriteRun(command=command, rows=rows, wall_s=wall, peak_pss_mib=peak_pss / MIB,
                    peak_rss_mib=peak_rss / MIB, output_rows=out_rows, output_bytes=out_bytes,
                    others_cores=watch.others_cores)


def report(rates: list[Rate], write: WriteRun | None,
           machine: dict[str, Any]) -> list[tuple[bool, str]]:
    print(f"# {machine['date']}, synth-ray at {machine['git']}, {machine['cpu_count']} cores "
          f"({machine['cpu']}), {machine['mem_total_gib']:.1f} GiB, Python {machine['python']}")
    print("\n| run | rows | wall s | start-up s | steady rows/s | us/row | others' cores |")
    print("|---|---|---|---|---|---|---|")
    for r in rates:
        print(f"| {r.label} | {r.rows:,} | {r.wall_s:.2f} | {r.startup_s:.2f} "
              f"| {r.steady_rows_per_s:,.0f} | {r.per_row_us:.3f} | {r.others_cores:.2f} |")
    local, one, two = rates
    speedup = two.steady_rows_per_s / one.steady_rows_per_s
    cost = one.per_row_us / local.per_row_us
    checks = [
        (speedup >= TARGET_SPEEDUP,
         f"2 Ray actors vs 1: >= {TARGET_SPEEDUP}x rows/s: {speedup:.2f}x"),
        (cost <= TARGET_COST_RATIO,
         f"Ray's per-row cost within 20% of in-process (1 actor vs 1 thread): "
         f"{one.per_row_us:.3f} vs {local.per_row_us:.3f} us/row ({cost:.2f}x)"),
    ]
    if write is not None:
        print(f"\n# command: {' '.join(write.command)}")
        print(f"# {write.rows:,} rows to Parquet through Ray Data in {write.wall_s:.1f} s "
              f"(start-up included; others used {write.others_cores:.2f} cores); peak summed "
              f"PSS {write.peak_pss_mib:,.0f} MiB, summed RSS {write.peak_rss_mib:,.0f} MiB; "
              f"output {write.output_rows:,} rows, {write.output_bytes / MIB:,.0f} MiB")
        checks += [
            (write.output_rows == write.rows,
             f"the output holds the {write.rows:,} rows: {write.output_rows:,}"),
            (write.peak_pss_mib * MIB < TARGET_PEAK_BYTES,
             f"{write.rows:,} rows to Parquet through Ray Data, peak memory of all processes "
             f"(PSS) under 4 GB ({TARGET_PEAK_BYTES / MIB:,.0f} MiB): {write.peak_pss_mib:,.0f} MiB"),
        ]
    print_targets(checks)
    return checks


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=20_000_000, help="rows per timed rate run")
    parser.add_argument("--write-rows", type=int, default=100_000_000,
                        help="rows for the Parquet memory run (0: skip it)")
    parser.add_argument("--max-wait", type=float, default=120.0,
                        help="seconds to wait for a quiet machine before each timed phase")
    parser.add_argument("--tmp-dir", type=Path, default=None)
    parser.add_argument("--out-json", type=Path)
    args = parser.parse_args(argv)

    machine = machine_info()
    workdir = scratch_workdir("ray-sampling-", tmp_dir=args.tmp_dir, rows=args.write_rows)
    try:
        fit_and_save(workdir / "model")
        write = (write_run(workdir / "model", args.write_rows, workdir, args.max_wait)
                 if args.write_rows else None)
        rates = measure_rates(workdir / "model", args.rows, args.max_wait)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    checks = report(rates, write, machine)
    if args.out_json:
        args.out_json.write_text(json.dumps({
            "machine": machine, "rates": [asdict(r) for r in rates],
            "write": asdict(write) if write else None,
            "targets": [{"passed": p, "target": line} for p, line in checks],
        }, indent=2))
    return 0 if all(p for p, _ in checks) else 1


if __name__ == "__main__":
    sys.exit(main())
