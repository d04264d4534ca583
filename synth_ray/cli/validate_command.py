"""``synth-ray validate``: the Great Expectations gate on a synthetic table, as an exit code."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

__all__ = ["EXIT_FAILED", "add_validate_parser", "run_validate"]

EXIT_FAILED = 4

_VALIDATE_EXAMPLES = """\
OUTPUT is the synthetic table: a Delta table folder, a Parquet file or folder, or a CSV
file. MODEL_DIR is the model it was sampled from; its fit-time reference profile holds
everything the gate compares with (the real data is not needed).

examples:
  synth-ray validate lake/orders_synth --model models/orders --rows 1000000
  synth-ray validate lake/orders_synth --model models/orders --suite models/orders.suite.json
  synth-ray validate fake.parquet --model models/orders --gx-project gx_project --json gate.json
  synth-ray validate fake.parquet --model models/orders --thresholds gate.yaml

--suite SUITE.json runs that suite (GX JSON: review it, edit a threshold); when the file
does not exist yet, the suite built from the model is saved there first. --thresholds
takes a YAML or JSON mapping of max_ks, max_tv, max_association_delta,
null_fraction_slack, row_count_tolerance and max_copy_rate. --gx-project keeps the
results in a GX file project and renders Data Docs (HTML) there.

exit codes: 0 every expectation met, 4 the table failed the gate (each failure is
printed), 3 bad input, config or model.
"""


def add_validate_parser(sub: argparse._SubParsersAction, parents: list[argparse.ArgumentParser]) -> None:
    """Add the ``validate`` sub-command to the ``synth-ray`` parser."""
    p = sub.add_parser("validate", help="check a synthetic table with Great Expectations (exit 0: pass)",
                       epilog=_VALIDATE_EXAMPLES, parents=parents,
                       formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("output", metavar="OUTPUT", help="the synthetic table to validate")
    p.add_argument("--model", required=True, metavar="MODEL_DIR", help="the model it was sampled from")
    p.add_argument("--suite", metavar="SUITE_JSON", help="GX suite to run (saved there if missing)")
    p.add_argument("--gx-project", metavar="DIR", help="GX file project for results and Data Docs")
    p.add_argument("--rows", type=int, default=None, metavar="N",
                   help="the requested row count (default: not checked)")
    p.add_argument("--thresholds", metavar="FILE", help="YAML/JSON mapping of gate thresholds")
    p.add_argument("--json", metavar="RESULT_JSON", help="also write the result as JSON")
    p.add_argument("--format", choices=["parquet", "csv", "delta"],
                   help="format of OUTPUT when its path does not tell")


def _thresholds(path: str | None) -> Any:
    if path is None:
        return None
    import yaml

    from synth_ray.errors import ConfigError

    try:
        return yaml.safe_load(Path(path).read_text(encoding="utf-8")) or {}
    except OSError as exc:
        raise ConfigError(f"cannot read thresholds file {path!r}: {exc.strerror}") from None
    except yaml.YAMLError as exc:
        raise ConfigError(f"thresholds file {path!r} is not valid YAML/JSON: {exc}") from None


def run_validate(args: argparse.Namespace) -> int:
    """Validate OUTPUT against the model's suite; print the summary; 0 on pass, 4 on failure."""
    from expectations import validate_synthetic
    from synth_ray.cli.commands import read_input

    table = read_input(args.output, format=args.format)
    result = validate_synthetic(table, model_dir=args.model, expected_rows=args.rows,
                                thresholds=_thresholds(args.thresholds), suite_path=args.suite,
                                gx_project_dir=args.gx_project)
    if args.json:
        Path(args.json).write_text(json.dumps(result.to_dict(), indent=2) + "\n", encoding="utf-8")
    print(result.summary)
    return 0 if result.success else EXIT_FAILED
