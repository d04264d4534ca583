"""Evaluation at scale: 10,000,000 synthetic rows against 1,000,000 real rows.

Target (issue 3): the evaluation completes in under 60 s on this machine and stays
under 4 GB of memory, by sampling with a stated sample size and seed.

The tables are made with synth-ray's copula: a model fitted on ggplot2/diamonds
samples the 1,000,000 "real" rows and 200,000 holdout rows; a second copula fitted on
those real rows (the generator under evaluation) samples the 10,000,000 synthetic rows.
All three are written as Parquet, then measured two ways:

* ``synth-ray report REAL SYNTHETIC --holdout H --target cut`` in a fresh process (what a
  user runs): wall time and the process's peak RSS (``ru_maxrss`` of the child), reading
  the Parquet files included;
* ``synth_ray.evaluate`` in this process on the Arrow tables already in memory: wall time
  and the RSS peak above the tables' own footprint (psutil, sampled every 20 ms).

With ``--full-check`` it also scores the quality on the *full* 1,000,000 x 10,000,000
rows (no sampling) and reports how far the sampled score is from it, in units of the
sampling error the sampled result states.

Usage:
  .venv/bin/python benchmarks/evaluation_scale_benchmark.py [--real-rows 1000000]
      [--synthetic-rows 10000000] [--workdir work/scale] [--full-check] [--out-json F]

Exit status 1 when a target fails.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
from machine_load import PeakRss  # sibling module

import synth_ray

TARGET_SECONDS = 60.0
TARGET_GIB = 4.0
SYNTH_RAY = str(Path(sys.executable).parent / "synth-ray")


def make_tables(workdir: Path, real_rows: int, synthetic_rows: int) -> dict[str, Any]:
    """Write real, holdout and synthetic Parquet files; return them and how long it took."""
    started = time.perf_counter()
    source = synth_ray.fit(synth_ray.load_dataset("diamonds"), seed=0)
    real = source.sample_arrow(real_rows, seed=1)
    holdout = source.sample_arrow(real_rows // 5, seed=3)
    generator = synth_ray.fit(real, seed=0)
    synthetic = generator.sample_arrow(synthetic_rows, seed=2)
    workdir.mkdir(parents=True, exist_ok=True)
    paths = {name: workdir / f"{name}.parquet" for name in ("real", "holdout", "synthetic")}
    for name, table in (("real", real), ("holdout", holdout), ("synthetic", synthetic)):
        pq.write_table(table, paths[name])
    return {"real": real, "holdout": holdout, "synthetic": synthetic, "paths": paths,
            "metadata": generator.metadata, "make_s": time.perf_counter() - started}


def run_cli(paths: dict[str, Path], workdir: Path) -> dict[str, Any]:
    """``synth-ray report`` in a fresh process: wall time and peak RSS of that process."""
    command = [SYNTH_RAY, "report", str(paths["real"]), str(paths["synthetic"]),
               "--holdout", str(paths["holdout"]), "--target", "cut",
               "--out", str(workdir / "report.html"), "--json", str(workdir / "metrics.json"), "-q"]
    started = time.perf_counter()
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    seconds = time.perf_counter() - started
    if done.returncode != 0:
        raise SystemExit(f"synth-ray report failed ({done.returncode}):\n{done.stderr}")
    peak_kib = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    metrics = json.loads((workdir / "metrics.json").read_text())
    return {"command": " ".join(command), "seconds": seconds, "peak_rss_gib": peak_kib / 2**20,
            "stdout": done.stdout, "evaluate_s": metrics["seconds"],
            "sampling": metrics["sampling"], "quality": metrics["quality"]["score"],
            "quality_error": metrics["quality"]["standard_error"], "verdict": metrics["verdict"]}


def run_api(tables: dict[str, Any]) -> dict[str, Any]:
    """``synth_ray.evaluate`` on the in-memory Arrow tables: wall time and RSS above them."""
    with PeakRss() as rss:
        started = time.perf_counter()
        result = synth_ray.evaluate(tables["real"], tables["synthetic"], tables["metadata"],
                                    holdout=tables["holdout"], target="cut")
        seconds = time.perf_counter() - started
    return {"seconds": seconds, "extra_rss_gib": (rss.peak_bytes - rss.start_bytes) / 2**30,
            "peak_rss_gib": rss.peak_bytes / 2**30, "quality": result.quality.score,
            "quality_error": result.quality.standard_error,
            "stages": {c.key: round(c.value, 4) for c in result.checks},
            "sampling": result.sampling.describe()}


def full_check(tables: dict[str, Any], sampled: dict[str, Any]) -> dict[str, Any]:
    """Quality on every row (no sampling) against the sampled score and its stated error."""
    started = time.perf_counter()
    full = synth_ray.quality_score(tables["real"], tables["synthetic"], tables["metadata"],
                                   max_rows=tables["synthetic"].num_rows)
    error = sampled["quality_error"]
    return {"seconds": time.perf_counter() - started, "full_quality": full.score,
            "sampled_quality": sampled["quality"], "difference": sampled["quality"] - full.score,
            "sampling_error": error,
            "in_errors": abs(sampled["quality"] - full.score) / error if error else None}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--real-rows", type=int, default=1_000_000)
    parser.add_argument("--synthetic-rows", type=int, default=10_000_000)
    parser.add_argument("--workdir", default="work/scale")
    parser.add_argument("--full-check", action="store_true")
    parser.add_argument("--out-json")
    args = parser.parse_args(argv)
    workdir = Path(args.workdir)
    tables = make_tables(workdir, args.real_rows, args.synthetic_rows)
    print(f"made the tables in {tables['make_s']:.1f} s ({os.cpu_count()} CPUs, "
          f"load {os.getloadavg()[0]:.1f})")
    cli = run_cli(tables["paths"], workdir)
    print(f"synth-ray report: {cli['seconds']:.1f} s wall ({cli['evaluate_s']:.1f} s evaluating), "
          f"peak RSS {cli['peak_rss_gib']:.2f} GiB; quality {cli['quality']:.4f} "
          f"± {cli['quality_error']}; {cli['verdict']}\n{cli['stdout']}")
    api = run_api(tables)
    print(f"synth_ray.evaluate in memory: {api['seconds']:.1f} s, +{api['extra_rss_gib']:.2f} GiB "
          f"above the tables (process peak {api['peak_rss_gib']:.2f} GiB); {api['sampling']}")
    report: dict[str, Any] = {"cli": cli, "api": api, "make_s": tables["make_s"],
                              "load": os.getloadavg()[0]}
    if args.full_check:
        report["full_check"] = full_check(tables, api)
        print(f"full-data check: {report['full_check']}")
    if args.out_json:
        Path(args.out_json).write_text(json.dumps(report, indent=2, default=str))
    ok = (cli["seconds"] < TARGET_SECONDS and cli["peak_rss_gib"] < TARGET_GIB
          and api["seconds"] < TARGET_SECONDS)
    print("targets:", "met" if ok else "MISSED",
          f"(< {TARGET_SECONDS:.0f} s and < {TARGET_GIB:.0f} GiB)")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
