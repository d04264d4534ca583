"""Reference side of the ARGN benchmark: mostlyai-engine's TabularARGN (Apache-2.0).

Runs ONLY inside ``<repo>/.bench-venv-mostlyai`` (built by bench_env.ensure_venv from
requirements-bench-mostlyai.txt), never in the main venv, and never imports synth_ray:
mostlyai-engine is a black box that we time and whose rows we score elsewhere. Prints
exactly one JSON object as its last stdout line; the library's logging goes to stderr.

mostlyai-engine's own pipeline, with its defaults (model ``MOSTLY_AI/Medium``, up to 100
epochs with its early stopping on its own 80/20 split of the rows it is given, flexible
generation on, value protection on, device CPU here):

    split(tgt_data=train) -> analyze() -> encode() -> train() -> generate(sample_size=n)

in a workspace folder. Fit time is split + analyze + encode + train (everything before
rows can be drawn). Every column of the benchmark tables is numeric or categorical, so
split() picks TABULAR encodings and no language model is used or downloaded (the run is
offline). ``--max-epochs`` shortens training for smoke runs only; the result records it.

Usage (inside the venv):
  python benchmarks/mostlyai_side.py --train train.parquet --synthetic-out synth.parquet
      --workdir /tmp/ws [--rows N] [--speed-rows 262144] [--seed 0] [--max-epochs E]
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any

import pandas as pd
from machine_load import PeakRss  # sibling module (stdlib + psutil only)
from sdv_side import stdout_to_stderr  # sibling module; imports no SDV at module level


def read_generated(workspace: Path) -> pd.DataFrame:
    """The rows generate() wrote under ``<workspace>/SyntheticData`` (one or more Parquet files)."""
    files = sorted((workspace / "SyntheticData").glob("*.parquet"))
    if not files:
        raise RuntimeError(f"mostlyai-engine wrote no Parquet under {workspace / 'SyntheticData'}")
    return pd.concat([pd.read_parquet(f) for f in files], ignore_index=True)


def fit(train: pd.DataFrame, workspace: Path, max_epochs: float | None) -> dict[str, float]:
    """split -> analyze -> encode -> train with mostlyai-engine's defaults; times each step."""
    from mostlyai import engine

    train_kwargs: dict[str, Any] = {"workspace_dir": workspace}
    if max_epochs is not None:
        train_kwargs["max_epochs"] = max_epochs
    marks = [time.perf_counter()]
    engine.split(tgt_data=train, workspace_dir=workspace)
    marks.append(time.perf_counter())
    engine.analyze(workspace_dir=workspace)
    marks.append(time.perf_counter())
    engine.encode(workspace_dir=workspace)
    marks.append(time.perf_counter())
    engine.train(**train_kwargs)
    marks.append(time.perf_counter())
    names = ("split", "analyze", "encode", "train")
    return {name: marks[i + 1] - marks[i] for i, name in enumerate(names)}


def generate(workspace: Path, rows: int) -> tuple[pd.DataFrame, float]:
    """generate(sample_size=rows) and read the rows back; seconds of the generate call alone."""
    from mostlyai import engine

    start = time.perf_counter()
    engine.generate(sample_size=rows, workspace_dir=workspace)
    seconds = time.perf_counter() - start
    return read_generated(workspace), seconds


def run(args: argparse.Namespace) -> dict[str, Any]:
    """Fit, sample ``--rows`` rows to ``--synthetic-out``, then time ``--speed-rows`` rows."""
    import torch
    from mostlyai import engine

    train = pd.read_parquet(args.train)
    workspace = Path(args.workdir)
    engine.set_random_state(args.seed)
    with PeakRss() as fit_mem:
        steps = fit(train, workspace, args.max_epochs)
    synthetic, sample_s = generate(workspace, args.rows or len(train))
    synthetic[list(train.columns)].to_parquet(args.synthetic_out, index=False)
    out: dict[str, Any] = {
        "side": "mostlyai", "model": "TabularARGN", "train_rows": len(train),
        "rows_sampled": len(synthetic), "fit_s": sum(steps.values()), "fit_steps_s": steps,
        "sample_s": sample_s, "fit_peak_rss_mib": fit_mem.mib,
        "max_epochs": args.max_epochs or "default (100, early stopping)",
        "epochs_run": trained_epochs(workspace), "torch_threads": torch.get_num_threads(),
        "versions": {"mostlyai-engine": engine.__version__, "torch": torch.__version__,
                     "pandas": pd.__version__},
    }
    if args.speed_rows:
        rows, speed_s = generate(workspace, args.speed_rows)
        out.update(speed_rows=len(rows), speed_s=speed_s, speed_rows_per_s=len(rows) / speed_s)
    return out


def trained_epochs(workspace: Path) -> float | None:
    """Epochs mostlyai-engine trained, from its own progress log (None when it has none)."""
    log = workspace / "ModelStore" / "model-data" / "progress-messages.csv"
    if not log.exists():
        return None
    epochs = pd.read_csv(log).get("epoch")
    return None if epochs is None or epochs.empty else float(epochs.max())


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--train", required=True, help="training split (Parquet)")
    parser.add_argument("--synthetic-out", required=True)
    parser.add_argument("--workdir", required=True, help="mostlyai-engine workspace folder")
    parser.add_argument("--rows", type=int, help="rows to sample (default: as many as --train)")
    parser.add_argument("--speed-rows", type=int, default=262_144)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--max-epochs", type=float, help="SMOKE RUNS ONLY: shorter training")
    args = parser.parse_args(argv)
    with stdout_to_stderr():
        result = run(args)
    print(json.dumps(result), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
