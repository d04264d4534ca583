"""Speed of conditional sampling and constraints against plain sampling (Gaussian copula).

Fits the copula on ggplot2/diamonds (all 53,940 rows), then times ``sample_arrow`` of
``--rows`` rows (default 1,000,000, default threads, median of ``--repeats`` after a
warm-up) for:

* plain sampling;
* ``conditions={"cut": "Fair"}`` (the rarest cut, 3% of rows: exact conditional Gaussian);
* ``conditions={"cut": "Fair", "color": "J"}`` (0.3% of rows: conditional Gaussian on the
  rarer column, rejection on the other);
* ``distribution={"cut": {"Ideal": 0.5, "Fair": 0.5}}`` (exact counts);
* a model fitted with constraints (``x <= y`` inequality, fixed combinations of
  cut/color/clarity, a range on depth, a formula ``volume = x * y * z``).

Prints one line per case (rows/s and the ratio to plain sampling), and the load average,
since the figures are only comparable on a quiet machine.

Usage:
  .venv/bin/python benchmarks/conditional_sampling_benchmark.py [--rows 1000000] [--repeats 3]
"""

from __future__ import annotations

import argparse
import os
import statistics
import time
from collections.abc import Callable

import numpy as np

import synth_ray

CONSTRAINTS = {"constraints": [
    {"type": "inequality", "low": "x", "high": "y"},
    {"type": "fixed_combinations", "columns": ["cut", "color", "clarity"]},
    {"type": "range", "column": "depth", "min": 40, "max": 80},
    {"type": "formula", "column": "volume", "expression": "x * y * z"},
]}


def _timed(run: Callable[[], object], repeats: int) -> float:
    run()  # warm-up
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        run()
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def main() -> None:
    """Fit, time each case, print the table."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    diamonds = synth_ray.load_dataset("diamonds")
    plain = synth_ray.fit(diamonds, seed=0)
    real = diamonds.loc[diamonds["x"] <= diamonds["y"]].copy()
    real["volume"] = np.round(real["x"] * real["y"] * real["z"], 6)
    constrained = synth_ray.fit(real, seed=0, spec=CONSTRAINTS)
    n = args.rows
    cases: list[tuple[str, Callable[[], object]]] = [
        ("plain", lambda: plain.sample_arrow(n, seed=1)),
        ("cut=Fair", lambda: plain.sample_arrow(n, seed=1, conditions={"cut": "Fair"})),
        ("cut=Fair, color=J", lambda: plain.sample_arrow(
            n, seed=1, conditions={"cut": "Fair", "color": "J"})),
        ("distribution cut Ideal/Fair 50/50", lambda: plain.sample_arrow(
            n, seed=1, distribution={"cut": {"Ideal": 0.5, "Fair": 0.5}})),
        ("4 constraints (model fitted with them)", lambda: constrained.sample_arrow(n, seed=1)),
    ]
    print(f"copula on diamonds, {n:,} rows, {os.cpu_count()} CPUs, "
          f"load average {os.getloadavg()[0]:.1f} before timing")
    base = None
    for name, run in cases:
        seconds = _timed(run, args.repeats)
        rate = n / seconds
        base = base or rate
        print(f"{name:<40} {seconds:7.2f} s {rate:12,.0f} rows/s  x{rate / base:.2f} of plain")
    print(f"load average {os.getloadavg()[0]:.1f} after timing")


if __name__ == "__main__":
    main()
