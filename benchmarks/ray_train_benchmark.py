"""Ray Train fitting: seconds per epoch with 1 and 2 workers, start-up overhead, quality.

Fits CTGAN (or TVAE) on the whole ggplot2/diamonds table (53,940 rows) with
``synth_ray.on_ray.fit_on_ray`` on a local 2-CPU Ray, in three layouts, next to the
in-process fit (``synth_ray.fit``) as the reference:

* ``K=1, 1 CPU``: one worker, one torch thread;
* ``K=1, 2 CPUs``: one worker, two torch threads (what the local fit uses);
* ``K=2, 1 CPU each``: two DDP workers (gloo), a shard and a thread each.

Per fit: the whole fit's wall time, seconds per epoch (the workers' own epoch timer,
rank 0), the overhead (whole fit minus epochs: Ray Train's worker start-up, data
encoding, checkpoints), and the quality score of 20,000 sampled rows against the real
table. The machine has 2 cores shared with other people: each timed phase waits until
the others are quiet (benchmarks/machine_load.py) and the load seen is printed.

    .venv/bin/python benchmarks/ray_train_benchmark.py --epochs 3
"""

from __future__ import annotations

import argparse
import time

from machine_load import wait_for_quiet

import synth_ray
from synth_ray.on_ray.cluster import ensure_ray
from synth_ray.on_ray.training import fit_on_ray


def _quality(real, synth) -> float:
    fake = synth.sample(20_000, seed=1)
    return synth_ray.quality_score(real, fake, synth.metadata).score


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--model", default="ctgan", choices=["ctgan", "tvae"])
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--max-wait", type=float, default=120.0,
                        help="seconds to wait for a quiet machine before each timed fit")
    args = parser.parse_args()
    real = synth_ray.load_dataset("diamonds")
    started = time.perf_counter()
    ensure_ray(num_cpus=2)
    print(f"# local Ray started in {time.perf_counter() - started:.1f} s (not counted below)")
    rows = []
    load = wait_for_quiet(max_wait_s=args.max_wait)
    started = time.perf_counter()
    local = synth_ray.fit(real, model=args.model, seed=args.seed, options={"epochs": args.epochs})
    rows.append(("in-process (synth_ray.fit), 2 threads", time.perf_counter() - started,
                 local.generator.history["seconds_per_epoch"], _quality(real, local), load))
    for label, workers, cpus in [("Ray Train K=1, 1 CPU", 1, 1.0), ("Ray Train K=1, 2 CPUs", 1, 2.0),
                                 ("Ray Train K=2, 1 CPU each", 2, 1.0)]:
        load = wait_for_quiet(max_wait_s=args.max_wait)
        started = time.perf_counter()
        synth = fit_on_ray(real, model=args.model, workers=workers, cpus_per_worker=cpus,
                           epochs=args.epochs, seed=args.seed)
        rows.append((label, time.perf_counter() - started,
                     synth.generator.history["seconds_per_epoch"], _quality(real, synth), load))
    print(f"\n{args.model}, ggplot2/diamonds ({len(real):,} rows), {args.epochs} epochs, batch 500\n")
    print("| fit | whole fit s | s/epoch | overhead s | quality | others' busy cores, 1-min load |")
    print("|---|---|---|---|---|---|")
    for label, wall, per_epoch, score, seen in rows:
        overhead = wall - per_epoch * args.epochs
        print(f"| {label} | {wall:.1f} | {per_epoch:.2f} | {overhead:.1f} | {score:.4f} | "
              f"{seen['busy_cores']:.2f}, {seen['load_1min']:.2f} |")


if __name__ == "__main__":
    main()
