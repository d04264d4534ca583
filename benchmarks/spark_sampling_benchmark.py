"""Spark sampling: P=2 vs P=1, Spark's per-row cost vs in-process, and 100M rows to Delta.

Targets (issue 6):
  "Spark sampling with P=2 vs P=1 on this 2-core machine: >= 1.7x rows/s; Spark's per-row
  cost within 30% of in-process sampling (startup reported separately)."
  "100,000,000 rows written to a Parquet/Delta table through Spark with bounded executor
  memory" (bound stated here: summed PSS of the JVM and every Python worker < 4 GB).

Method. A model is fitted on ggplot2/diamonds (``--model copula``, or ``tvae``/``ctgan`` for
``--epochs`` epochs on 1 torch thread). A ``local[2]`` session (``spark.driver.memory``
``--driver-memory``; in local mode the driver's JVM is the executor) samples with
:func:`spark_udfs.sample_dataframe` into Spark's ``noop`` sink (every row made and turned into
a Spark row, nothing written), after a warm-up that starts the Python workers and loads the
model. Each timed job records its wall time and the CPU seconds of the JVM, of the Python
workers and of other processes (:mod:`spark_processes`); the median of ``--repeats`` jobs is
kept. Start-up is reported apart: the session's start, and a one-chunk job's wall time (job
scheduling, task launch), which is subtracted from each job, with that chunk's rows, to give
the steady rows/s. In-process reference: ``synth_ray.sampling.iter_tables(threads=1)`` with 1
torch thread (Spark gives each Python worker ``OMP_NUM_THREADS`` = ``spark.task.cpus`` = 1).
The writes of ``--write-rows`` rows to Delta: ``write_synthetic_table(sample_dataframe(...))``
(the JVM encodes the Parquet files) and ``write_sample`` (the Python workers write them), the
summed PSS and RSS of the JVM and its Python workers polled every 0.5 s.

    flock /tmp/synth-cpu.lock .venv/bin/python benchmarks/spark_sampling_benchmark.py \\
        --model copula --rows 8000000 --write-rows 100000000

Exit status 1 when a target fails.
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import sys
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from copula_benchmark import CpuWatch, machine_info, print_targets
from machine_load import wait_for_quiet
from spark_processes import MIB, CpuSplit, PeakExecutorMemory, SparkCpu

TARGET_SPEEDUP = 1.7
TARGET_COST_RATIO = 1.3  # "within 30%": Spark's per-row time at most 1.3x in-process
TARGET_PEAK_BYTES = 4_000_000_000
SAMPLE_SEED = 1


@dataclass
class Rate:
    label: str
    rows: int
    wall_s: float  # median of the repeats
    startup_s: float
    rows_per_s: float  # steady: start-up and its chunk taken out
    us_per_row: float
    jvm_cpu_us_per_row: float
    python_cpu_us_per_row: float
    jvm_cores: float
    python_cores: float
    others_cores: float


def fit_model(kind: str, epochs: int) -> Any:
    import synth_ray

    table = synth_ray.load_dataset("diamonds")
    if kind == "copula":
        return synth_ray.fit(table, seed=0)
    return synth_ray.fit(table, model=kind, options={"epochs": epochs, "threads": 1}, seed=0)


def start_spark(driver_memory: str) -> tuple[Any, float]:
    from pyspark.sql import SparkSession

    from spark_udfs.session import local_spark_environment

    local_spark_environment()
    started = time.perf_counter()
    spark = (SparkSession.builder.master("local[2]").appName("synth-ray-spark-bench")
             .config("spark.ui.enabled", "false").config("spark.driver.memory", driver_memory)
             .config("spark.sql.session.timeZone", "UTC").getOrCreate())
    spark.sparkContext.setLogLevel("ERROR")
    return spark, time.perf_counter() - started


def _spark_job(spark: Any, model: Any, rows: int, partitions: int) -> CpuSplit:
    from spark_udfs import sample_dataframe

    df = sample_dataframe(spark, model, rows=rows, seed=SAMPLE_SEED, partitions=partitions)
    with SparkCpu() as cpu:
        df.write.format("noop").mode("overwrite").save()
    return cpu.split


def spark_rate(spark: Any, model: Any, *, rows: int, partitions: int, repeats: int,
               max_wait: float) -> Rate:
    """Median of ``repeats`` jobs of ``rows`` rows over ``partitions`` partitions."""
    chunk = model.chunk_rows
    startup = statistics.median(_spark_job(spark, model, chunk, partitions).wall_s for _ in range(3))
    runs = []
    for _ in range(repeats):
        wait_for_quiet(max_wait_s=max_wait)
        runs.append(_spark_job(spark, model, rows, partitions))
    run = sorted(runs, key=lambda r: r.wall_s)[len(runs) // 2]
    steady_s = max(run.wall_s - startup, 1e-9)
    cpu, cores = run.per_million(rows), run.cores()
    return Rate(label=f"Spark sample_dataframe, P={partitions}", rows=rows, wall_s=run.wall_s,
                startup_s=startup, rows_per_s=(rows - chunk) / steady_s,
                us_per_row=steady_s / (rows - chunk) * 1e6,
                jvm_cpu_us_per_row=cpu["jvm_us_per_row"], python_cpu_us_per_row=cpu["python_us_per_row"],
                jvm_cores=cores["jvm_cores"], python_cores=cores["python_cores"],
                others_cores=cores["others_cores"])


def local_rate(model: Any, *, rows: int, repeats: int, max_wait: float) -> Rate:
    """In-process sampling on one thread (and one torch thread): median of ``repeats``."""
    import torch

    from synth_ray.sampling import iter_tables

    torch.set_num_threads(1)
    runs = []
    for _ in range(repeats):
        wait_for_quiet(max_wait_s=max_wait)
        with CpuWatch() as watch:
            started, cpu0 = time.perf_counter(), time.process_time()
            for _table in iter_tables(model, start=0, stop=rows, seed=SAMPLE_SEED, threads=1):
                pass
            wall, cpu = time.perf_counter() - started, time.process_time() - cpu0
        runs.append((wall, cpu, watch.others_cores))
    wall, cpu, others = sorted(runs)[len(runs) // 2]
    return Rate(label="in-process iter_tables, 1 thread", rows=rows, wall_s=wall, startup_s=0.0,
                rows_per_s=rows / wall, us_per_row=wall / rows * 1e6, jvm_cpu_us_per_row=0.0,
                python_cpu_us_per_row=cpu / rows * 1e6, jvm_cores=0.0, python_cores=cpu / wall,
                others_cores=others)


def write_run(spark: Any, model: Any, *, rows: int, out: Path, writer: str,
              max_wait: float) -> dict[str, Any]:
    """``rows`` rows to a Delta table at ``out``; the executors' peak memory meanwhile.

    ``writer``: ``dataframe`` (``write_synthetic_table(sample_dataframe(...))``: the JVM
    encodes the Parquet files) or ``files`` (``write_sample``: the Python workers do).
    """
    from spark_udfs import sample_dataframe, write_sample, write_synthetic_table

    shutil.rmtree(out, ignore_errors=True)
    partitions = max(2, rows // (model.chunk_rows * 64))
    wait_for_quiet(max_wait_s=max_wait)
    with PeakExecutorMemory() as memory, SparkCpu() as cpu:
        if writer == "files":
            written = write_sample(spark, model, rows=rows, seed=SAMPLE_SEED, path=out,
                                   partitions=partitions)
        else:
            written = write_synthetic_table(
                sample_dataframe(spark, model, rows=rows, seed=SAMPLE_SEED, partitions=partitions),
                path=out, format="delta")
    shutil.rmtree(out, ignore_errors=True)
    return {"writer": writer, "rows": written.rows, "version": written.version,
            "partitions": partitions, "seconds": round(cpu.split.wall_s, 1), **memory.report(),
            **cpu.split.per_million(rows), **cpu.split.cores()}


def report(model: str, rates: list[Rate], writes: list[dict[str, Any]]) -> list[tuple[bool, str]]:
    print(f"\n| {model}: run | rows | wall s | start-up s | steady rows/s | us/row | JVM CPU us/row "
          "| Python CPU us/row | JVM cores | Python cores | others' cores |")
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    for r in rates:
        print(f"| {r.label} | {r.rows:,} | {r.wall_s:.2f} | {r.startup_s:.2f} | {r.rows_per_s:,.0f} "
              f"| {r.us_per_row:.3f} | {r.jvm_cpu_us_per_row:.3f} | {r.python_cpu_us_per_row:.3f} "
              f"| {r.jvm_cores:.2f} | {r.python_cores:.2f} | {r.others_cores:.2f} |")
    local, one, two = rates
    speedup, cost = two.rows_per_s / one.rows_per_s, one.us_per_row / local.us_per_row
    whole_jobs = one.wall_s / two.wall_s
    cpu_cost = (one.jvm_cpu_us_per_row + one.python_cpu_us_per_row) / local.python_cpu_us_per_row
    checks = [
        # Judged on whole jobs: the steady estimate takes one chunk's time out of each job, which
        # overstates P=2 when a chunk is a large share of a partition's work (slow models).
        (whole_jobs >= TARGET_SPEEDUP, f"{model}: P=2 vs P=1 >= {TARGET_SPEEDUP}x rows/s: {whole_jobs:.2f}x "
                                       f"(whole jobs, start-up included; steady estimate {speedup:.2f}x)"),
        (cost <= TARGET_COST_RATIO,
         f"{model}: Spark's per-row time within 30% of in-process (P=1 vs 1 thread): "
         f"{one.us_per_row:.3f} vs {local.us_per_row:.3f} us/row ({cost:.2f}x; CPU per row, JVM + "
         f"Python worker vs in-process: {cpu_cost:.2f}x)"),
    ]
    for write in writes:
        print(f"\n# write: {json.dumps(write)}")
        name = "write_sample" if write["writer"] == "files" else "write_synthetic_table(sample_dataframe)"
        checks.append((write["peak_pss_mib"] * MIB < TARGET_PEAK_BYTES,
                       f"{model}: {write['rows']:,} rows to Delta through Spark with {name} in "
                       f"{write['seconds']} s "
                       f"(version {write['version']}), executors' peak summed PSS (JVM + "
                       f"{write['python_workers']} Python workers) under 4 GB "
                       f"({TARGET_PEAK_BYTES / MIB:,.0f} MiB): {write['peak_pss_mib']:,} MiB "
                       f"(summed RSS {write['peak_rss_mib']:,} MiB)"))
    print_targets(checks)
    return checks


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", choices=["copula", "tvae", "ctgan"], default="copula")
    parser.add_argument("--epochs", type=int, default=3, help="epochs of a tvae/ctgan fit")
    parser.add_argument("--rows", type=int, default=8_000_000, help="rows per timed job")
    parser.add_argument("--repeats", type=int, default=3, help="timed jobs per setting (median)")
    parser.add_argument("--write-rows", type=int, default=0, help="also write this many rows to Delta")
    parser.add_argument("--writers", default="dataframe,files",
                        help="which writes of --write-rows rows: dataframe, files or both")
    parser.add_argument("--driver-memory", default="2g", help="spark.driver.memory (the local JVM)")
    parser.add_argument("--out", type=Path, default=Path("/tmp/synth-ray-spark-bench"))
    parser.add_argument("--max-wait", type=float, default=120.0)
    parser.add_argument("--out-json", type=Path)
    args = parser.parse_args(argv)

    machine = machine_info()
    model = fit_model(args.model, args.epochs)
    spark, startup = start_spark(args.driver_memory)
    print(f"# {machine['date']}, synth-ray at {machine['git']}, {machine['cpu_count']} cores, "
          f"{machine['mem_total_gib']:.1f} GiB; Spark local[2] started in {startup:.1f} s "
          f"(not counted), spark.driver.memory={args.driver_memory}", flush=True)
    _spark_job(spark, model, model.chunk_rows * 4, 2)  # warm-up: both workers up, model loaded
    kwargs = {"rows": args.rows, "repeats": args.repeats, "max_wait": args.max_wait}
    rates = [local_rate(model, **kwargs)]
    rates += [spark_rate(spark, model, partitions=p, **kwargs) for p in (1, 2)]
    writes = [write_run(spark, model, rows=args.write_rows, out=args.out, writer=w, max_wait=args.max_wait)
              for w in args.writers.split(",") if args.write_rows]
    spark.stop()
    checks = report(args.model, rates, writes)
    if args.out_json:
        args.out_json.write_text(json.dumps({
            "machine": machine, "model": args.model, "spark_startup_s": startup,
            "rates": [asdict(r) for r in rates], "writes": writes,
            "targets": [{"passed": p, "target": line} for p, line in checks]}, indent=2))
    return 0 if all(p for p, _ in checks) else 1


if __name__ == "__main__":
    sys.exit(main())
