"""What differential privacy costs: quality and fit time of DP-SGD fits against plain fits.

Fits TVAE and CTGAN on the first 2,400 rows of ISLR/Wage without DP and with DP at several
target epsilons (CTGAN with pac=1 under DP, so that its privacy unit is a row), samples as
many rows, and prints one JSON line per fit: the SDMetrics-definition quality score, the
budget spent and the noise multiplier. Quality is deterministic (seed 0, one thread); fit
times depend on how busy the machine is, recorded as other processes' busy cores.

    .venv/bin/python benchmarks/dp_benchmark.py --epochs 30
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from machine_load import busy_cores

import synth_ray
from synth_ray.datasets import load_dataset


def run(model: str, epsilon: float | None, train, epochs: int) -> dict:
    options: dict = {"epochs": epochs, "batch_size": 500, "threads": 1}
    if epsilon is not None:
        options["dp"] = {"target_epsilon": epsilon}
        if model == "ctgan":
            options["pac"] = 1
    started = time.perf_counter()
    synth = synth_ray.fit(train, model=model, options=options, seed=0)
    seconds = time.perf_counter() - started
    fake = synth.sample(len(train), seed=1)
    score = synth_ray.quality_score(train, fake, synth.metadata)
    privacy = synth.generator.privacy or {}
    return {"model": model, "target_epsilon": epsilon, "fit_s": round(seconds, 1),
            "quality": round(score.score, 4), "column_shapes": round(score.column_shapes, 4),
            "pair_trends": round(score.pair_trends, 4), "epsilon": privacy.get("epsilon"),
            "noise_multiplier": privacy.get("noise_multiplier"),
            "steps": privacy.get("steps"), "busy_cores_after": round(busy_cores(1.0), 2)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--epochs", type=int, default=30)
    parser.add_argument("--epsilons", type=float, nargs="+", default=[10.0, 3.0, 1.0])
    parser.add_argument("--models", nargs="+", default=["tvae", "ctgan"])
    args = parser.parse_args()
    train = load_dataset("ISLR/Wage").iloc[:2400]
    print(json.dumps({"busy_cores_before": round(busy_cores(3.0), 2)}), flush=True)
    for model in args.models:
        for epsilon in [None, *args.epsilons]:
            print(json.dumps(run(model, epsilon, train, args.epochs)), flush=True)


if __name__ == "__main__":
    main()
