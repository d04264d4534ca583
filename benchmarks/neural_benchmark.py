"""CTGAN and TVAE: synth-ray vs SDV 2.0, side by side in one run.

Targets (issue 4), for each model:
  * fit: seconds per epoch <= 1/3 of SDV's;
  * sampling: rows/s >= 10x SDV's;
  * quality: SDMetrics QualityReport score >= SDV's, and train-synthetic-test-real
    utility (LightGBM, real holdout) >= SDV's, on each dataset;
  * memory: peak RSS while fitting ggplot2/diamonds <= SDV's.

Method. Both libraries fit the same 80/20 train split (``sdv_side.py split``, seed 0)
with the same epochs and batch size, each in a fresh process (synth-ray: this script's
``worker`` sub-command; SDV: ``sdv_side.py sdv`` in the bench venv), after waiting for
the 2-core machine to be quiet (the CPU time other processes used is recorded).

* Seconds per epoch: ``(fit(E epochs) - fit(1 epoch)) / (E - 1)``, the same formula on
  both sides: it is the training loop's cost without the one-off preprocessing (mixture
  fits, transforms), which neither library can skip but which is not per epoch. The
  whole fit divided by E is shown too.
* Sampling: rows/s of one call that samples ``--speed-rows`` rows (default 262,144) after
  the fit, on both sides (synth-ray: ``sample_arrow`` with default threads, median of 3).
* Quality: ``len(train)`` synthetic rows scored against the train split by SDMetrics'
  QualityReport in the bench venv (``sdv_side.py quality``), metadata detected from the
  real table, for both.
* Utility: LightGBM fitted on those synthetic rows, scored on the real holdout
  (``sdv_side.py tstr``): R^2 of ``price`` (diamonds) and of ``wage`` without ``logwage``
  (Wage, where it is a function of the target); LightGBM on the real train split is shown
  as the ceiling.
* Memory: peak RSS of the worker process while fitting (the kernel's high-water mark
  after a reset, or psutil polling where the reset is not allowed), imports included, as
  ``sdv_side.py`` measures SDV's.

Usage:
  .venv/bin/python benchmarks/neural_benchmark.py [--datasets ggplot2/diamonds ISLR/Wage]
      [--models ctgan tvae] [--epochs 5] [--batch-size 500] [--speed-rows 262144]
      [--skip-sdv] [--out-json results.json]

Exit status 1 when a target fails.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_env import run_in_bench_venv  # sibling module
from machine_load import PeakRss, wait_for_quiet

DIAMONDS = "ggplot2/diamonds"
UTILITY = {  # dataset -> (target, task, columns left out of the features)
    DIAMONDS: ("price", "regression", []),
    "ISLR/Wage": ("wage", "regression", ["logwage"]),
}
FIT_SEED, SAMPLE_SEED = 0, 1


# ---------------------------------------------------------------- machine


# ---------------------------------------------------------------- worker (synth-ray side)


def worker(args: argparse.Namespace) -> dict[str, Any]:
    """One synth-ray fit (+ sampling) in this fresh process; prints JSON."""
    import psutil
    import pyarrow.parquet as pq
    import torch

    import synth_ray

    train = pq.read_table(args.train)
    rss_before = psutil.Process().memory_info().rss / 2**20
    options = {"epochs": args.epochs, "batch_size": args.batch_size}
    with PeakRss() as fit_peak:
        start = time.perf_counter()
        synth = synth_ray.fit(train, model=args.model, options=options, seed=FIT_SEED)
        fit_s = time.perf_counter() - start
    out: dict[str, Any] = {
        "side": "synth-ray", "model": args.model, "epochs": args.epochs,
        "batch_size": args.batch_size, "train_rows": train.num_rows, "fit_s": fit_s,
        "training_s_per_epoch": synth.generator.history["seconds_per_epoch"],
        "rss_before_fit_mib": rss_before, "fit_peak_rss_mib": fit_peak.mib,
        "peak_rss_exact": fit_peak.exact, "torch": torch.__version__,
        "synth_ray": synth_ray.__version__}
    if args.fit_only:
        return out
    start = time.perf_counter()
    synthetic = synth.sample_arrow(train.num_rows, seed=SAMPLE_SEED)
    out["sample_s"] = time.perf_counter() - start
    pq.write_table(synthetic, args.synthetic_out)
    synth.sample_arrow(min(args.speed_rows, 65_536), seed=SAMPLE_SEED + 1)  # warm-up
    runs = []
    for _ in range(3):
        start = time.perf_counter()
        synth.sample_arrow(args.speed_rows, seed=SAMPLE_SEED)
        runs.append(time.perf_counter() - start)
    out.update(speed_rows=args.speed_rows, speed_s=statistics.median(runs),
               speed_rows_per_s=args.speed_rows / statistics.median(runs))
    return out


def run_worker(model: str, train: Path, epochs: int, batch_size: int, speed_rows: int,
               synthetic_out: Path | None) -> dict[str, Any]:
    """This script's ``worker`` in a fresh interpreter; its last stdout line is JSON."""
    command = [sys.executable, __file__, "worker", "--model", model, "--train", str(train),
               "--epochs", str(epochs), "--batch-size", str(batch_size),
               "--speed-rows", str(speed_rows)]
    command += ["--synthetic-out", str(synthetic_out)] if synthetic_out else ["--fit-only"]
    proc = subprocess.run(command, capture_output=True, text=True, check=False)
    if proc.returncode:
        raise RuntimeError(f"worker failed:\n{proc.stderr[-4000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


# ---------------------------------------------------------------- one comparison


def split(dataset: str, workdir: Path) -> tuple[Path, Path]:
    stem = dataset.replace("/", "_")
    train, holdout = workdir / f"{stem}_train.parquet", workdir / f"{stem}_holdout.parquet"
    run_in_bench_venv(["split", "--dataset", dataset, "--seed", "0", "--train-out", str(train),
                       "--holdout-out", str(holdout)])
    return train, holdout


def utility(dataset: str, synthetic: Path, holdout: Path) -> float:
    target, task, drop = UTILITY[dataset]
    args = ["tstr", "--train", str(synthetic), "--test", str(holdout), "--target", target,
            "--task", task]
    if drop:
        args += ["--drop", *drop]
    return float(run_in_bench_venv(args)["score"])


def ours(dataset: str, model: str, args: argparse.Namespace, train: Path, holdout: Path,
         workdir: Path) -> dict[str, Any]:
    synthetic = workdir / f"{dataset.replace('/', '_')}_{model}_synth_ray.parquet"
    load = wait_for_quiet()
    full = run_worker(model, train, args.epochs, args.batch_size, args.speed_rows, synthetic)
    one = run_worker(model, train, 1, args.batch_size, args.speed_rows, None)
    full["load_before"] = load
    full["fit_1_epoch_s"] = one["fit_s"]
    full.update(run_in_bench_venv(["quality", "--real", str(train),
                                   "--synthetic", str(synthetic)]))
    full["utility"] = utility(dataset, synthetic, holdout)
    return full


def sdv(dataset: str, model: str, args: argparse.Namespace, train_rows: int, holdout: Path,
        workdir: Path) -> dict[str, Any]:
    synthetic = workdir / f"{dataset.replace('/', '_')}_{model}_sdv.parquet"
    load = wait_for_quiet()
    full = run_in_bench_venv([
        "sdv", "--model", model, "--dataset", dataset, "--rows", str(train_rows), "--epochs",
        str(args.epochs), "--batch-size", str(args.batch_size), "--seed", "0",
        "--synthetic-out", str(synthetic), "--speed-rows", str(args.speed_rows)])
    full["load_before"] = load
    wait_for_quiet()
    one = run_in_bench_venv(["sdv", "--model", model, "--dataset", dataset, "--rows", "100",
                             "--epochs", "1", "--batch-size", str(args.batch_size), "--seed", "0"])
    full["fit_1_epoch_s"] = one["fit_s"]
    full["utility"] = utility(dataset, synthetic, holdout)
    return full


def per_epoch(result: dict[str, Any], epochs: int) -> float:
    """Training seconds per epoch without one-off preprocessing: the two-fit slope."""
    return (result["fit_s"] - result["fit_1_epoch_s"]) / max(epochs - 1, 1)


# ---------------------------------------------------------------- report


Row = tuple[str, str, dict[str, Any], dict[str, Any] | None, float]


def tables(rows: list[Row], epochs: int) -> str:
    speed = ["| dataset | model | library | fit s, 1 epoch | fit s, "
             f"{epochs} epochs | s/epoch (slope) | s/epoch (whole fit / {epochs}) "
             "| sampling rows/s | fit peak RSS MiB |", "|---|---|---|---|---|---|---|---|---|"]
    quality = ["| dataset | model | library | QualityReport | Column Shapes | Column Pair Trends "
               "| TSTR R² (LightGBM, real holdout) | TRTR R² (real train) |",
               "|---|---|---|---|---|---|---|---|"]
    for dataset, model, mine, theirs, trtr in rows:
        for name, r in (("synth-ray", mine), ("SDV 2.0", theirs)):
            if r is None:
                continue
            speed.append(
                f"| {dataset} | {model} | {name} | {r['fit_1_epoch_s']:.1f} | {r['fit_s']:.1f} "
                f"| {per_epoch(r, epochs):.2f} | {r['fit_s'] / epochs:.2f} "
                f"| {r['speed_rows_per_s']:,.0f} | {r['fit_peak_rss_mib']:,.0f} |")
            quality.append(
                f"| {dataset} | {model} | {name} | {r['quality_score']:.4f} "
                f"| {r['column_shapes']:.4f} | {r['column_pair_trends']:.4f} "
                f"| {r['utility']:.4f} | {trtr:.4f} |")
    return "\n".join(["## Speed and memory", "", *speed, "", "## Quality and utility", "",
                      *quality])


def verdicts(rows: list[Row], epochs: int) -> list[tuple[bool, str]]:
    out: list[tuple[bool, str]] = []
    for dataset, model, mine, theirs, _ in rows:
        if theirs is None:
            continue
        ours_e, sdv_e = per_epoch(mine, epochs), per_epoch(theirs, epochs)
        ratio = mine["speed_rows_per_s"] / theirs["speed_rows_per_s"]
        checks = [
            (ours_e <= sdv_e / 3, f"s/epoch <= 1/3 of SDV's: {ours_e:.2f} vs {sdv_e:.2f} "
                                  f"({sdv_e / max(ours_e, 1e-9):.1f}x faster)"),
            (ratio >= 10, f"sampling rows/s >= 10x SDV's: {mine['speed_rows_per_s']:,.0f} vs "
                          f"{theirs['speed_rows_per_s']:,.0f} ({ratio:.1f}x)"),
            (mine["quality_score"] >= theirs["quality_score"],
             f"QualityReport >= SDV's: {mine['quality_score']:.4f} vs "
             f"{theirs['quality_score']:.4f}"),
            (mine["utility"] >= theirs["utility"],
             f"TSTR R² >= SDV's: {mine['utility']:.4f} vs {theirs['utility']:.4f}"),
        ]
        if dataset == DIAMONDS:
            checks.append((mine["fit_peak_rss_mib"] <= theirs["fit_peak_rss_mib"],
                           f"fit peak RSS <= SDV's: {mine['fit_peak_rss_mib']:,.0f} MiB vs "
                           f"{theirs['fit_peak_rss_mib']:,.0f} MiB"))
        out += [(ok, f"{dataset} {model}: {text}") for ok, text in checks]
    return out


def machine() -> str:
    cpu = next((line.split(":", 1)[1].strip() for line in
                Path("/proc/cpuinfo").read_text().splitlines() if line.startswith("model name")),
               platform.processor())
    return (f"{time.strftime('%Y-%m-%d %H:%M %Z')}, {os.cpu_count()} cores ({cpu}), "
            f"Python {platform.python_version()}")


def compare(args: argparse.Namespace) -> int:
    rows: list[Row] = []
    with tempfile.TemporaryDirectory(prefix="neural-bench-") as tmp:
        workdir = Path(tmp)
        for dataset in args.datasets:
            train, holdout = split(dataset, workdir)
            trtr = utility(dataset, train, holdout)
            for model in args.models:
                mine = ours(dataset, model, args, train, holdout, workdir)
                theirs = None if args.skip_sdv else sdv(dataset, model, args, mine["train_rows"],
                                                        holdout, workdir)
                rows.append((dataset, model, mine, theirs, trtr))
                print(f"# done: {dataset} {model}", file=sys.stderr, flush=True)
    print(f"# {machine()}; epochs {args.epochs}, batch size {args.batch_size}, "
          f"sampling {args.speed_rows:,} rows")
    for dataset, model, mine, theirs, _ in rows:
        print(f"# {dataset} {model}: before timing others kept {mine['load_before']['busy_cores']}"
              f" cores busy (synth-ray)"
              + (f", {theirs['load_before']['busy_cores']} (SDV)" if theirs else ""))
    print(tables(rows, args.epochs))
    checks = verdicts(rows, args.epochs)
    print("\n## Targets\n")
    for ok, line in checks:
        print(f"{'PASS' if ok else 'FAIL'}  {line}")
    if args.out_json:
        args.out_json.write_text(json.dumps(
            {"machine": machine(), "epochs": args.epochs, "batch_size": args.batch_size,
             "rows": [{"dataset": d, "model": m, "synth_ray": a, "sdv": b, "trtr": t}
                      for d, m, a, b, t in rows],
             "targets": [{"passed": ok, "target": line} for ok, line in checks]}, indent=1))
    return 0 if all(ok for ok, _ in checks) else 1


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command")
    w = sub.add_parser("worker", help="one synth-ray fit in this process (internal)")
    w.add_argument("--model", required=True)
    w.add_argument("--train", required=True)
    w.add_argument("--epochs", type=int, required=True)
    w.add_argument("--batch-size", type=int, required=True)
    w.add_argument("--speed-rows", type=int, default=262_144)
    w.add_argument("--synthetic-out")
    w.add_argument("--fit-only", action="store_true")
    parser.add_argument("--datasets", nargs="+", default=[DIAMONDS, "ISLR/Wage"])
    parser.add_argument("--models", nargs="+", default=["ctgan", "tvae"])
    parser.add_argument("--epochs", type=int, default=5)
    parser.add_argument("--batch-size", type=int, default=500)
    parser.add_argument("--speed-rows", type=int, default=262_144)
    parser.add_argument("--skip-sdv", action="store_true")
    parser.add_argument("--out-json", type=Path)
    args = parser.parse_args(argv)
    if args.command == "worker":
        print(json.dumps(worker(args)))
        return 0
    return compare(args)


if __name__ == "__main__":
    sys.exit(main())
