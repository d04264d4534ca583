"""Where Spark's per-row sampling cost goes: CPU of the JVM vs the Python workers, per setting.

For the Gaussian copula fitted on ggplot2/diamonds, each case samples ``--rows`` rows with
:func:`spark_udfs.sample_dataframe` into a sink and records the wall time and the CPU seconds
of the JVM, of the Python workers and of the driver's Python (:mod:`spark_processes`), per
row. Cases: ``local[1]`` and ``local[2]`` masters; P = 1 and 2; Spark's ``noop`` sink vs a
Parquet write; the Arrow batch size (``spark.sql.execution.arrow.maxRecordsPerBatch``, the
batches of chunk indices sent to Python); the output batch size (rows per Arrow batch the
sampler hands back). The in-process reference is ``synth_ray.sampling.iter_tables`` on one
thread, with the CPU seconds of this process.

    flock /tmp/synth-cpu.lock .venv/bin/python benchmarks/spark_profile.py --rows 4000000
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from machine_load import wait_for_quiet
from spark_processes import SparkCpu

SEED = 1


def _session(master: str, conf: dict[str, str]) -> Any:
    from pyspark.sql import SparkSession

    from spark_udfs.session import local_spark_environment

    local_spark_environment()
    builder = (SparkSession.builder.master(master).appName("synth-ray-profile")
               .config("spark.ui.enabled", "false").config("spark.driver.memory", "2g"))
    for key, value in conf.items():
        builder = builder.config(key, value)
    spark = builder.getOrCreate()
    spark.sparkContext.setLogLevel("ERROR")
    return spark


class _SlicedSampler:
    """The product's sampler, its output re-cut into batches of ``rows`` (a profiling variant)."""

    def __init__(self, inner: Any, rows: int) -> None:
        self.inner, self.rows = inner, rows

    def __call__(self, batches: Iterator[Any]) -> Iterator[Any]:
        for batch in self.inner(batches):
            for start in range(0, batch.num_rows, self.rows):
                yield batch.slice(start, self.rows)


def _dataframe(spark: Any, model: Any, rows: int, partitions: int, out_batch: int) -> Any:
    from spark_udfs import sample_dataframe

    df = sample_dataframe(spark, model, rows=rows, seed=SEED, partitions=partitions)
    if not out_batch:
        return df
    from spark_udfs.sampling import ChunkSampler
    from spark_udfs.schema import spark_target
    from synth_ray.artifacts import model_files

    target = spark_target(model.metadata)
    inner = ChunkSampler(files=model_files(model), seed=SEED, rows=rows, arrow_schema=target.arrow_schema)
    chunks = -(-rows // model.chunk_rows)
    return spark.range(0, chunks, 1, numPartitions=partitions).mapInArrow(
        _SlicedSampler(inner, out_batch), target.spark_schema)


def _run(spark: Any, model: Any, *, rows: int, partitions: int, sink: str, out_batch: int,
         scratch: Path) -> dict[str, Any]:
    df = _dataframe(spark, model, rows, partitions, out_batch)
    with SparkCpu() as cpu:
        if sink == "noop":
            df.write.format("noop").mode("overwrite").save()
        else:
            df.write.mode("overwrite").parquet(str(scratch / "out"))
    shutil.rmtree(scratch / "out", ignore_errors=True)
    split = cpu.split
    return {"rows_per_s": round(rows / split.wall_s), "wall_s": round(split.wall_s, 2),
            **split.per_million(rows), **split.cores()}


def _in_process(model: Any, rows: int) -> dict[str, Any]:
    from synth_ray.sampling import iter_tables

    started, cpu0 = time.perf_counter(), time.process_time()
    for _ in iter_tables(model, start=0, stop=rows, seed=SEED, threads=1):
        pass
    wall, cpu = time.perf_counter() - started, time.process_time() - cpu0
    return {"rows_per_s": round(rows / wall), "wall_s": round(wall, 2),
            "cpu_us_per_row": round(cpu / rows * 1e6, 3)}


CASES: list[dict[str, Any]] = [
    {"master": "local[1]", "P": 1, "sink": "noop"},
    {"master": "local[2]", "P": 1, "sink": "noop"},
    {"master": "local[2]", "P": 2, "sink": "noop"},
    {"master": "local[2]", "P": 1, "sink": "parquet"},
    {"master": "local[2]", "P": 2, "sink": "parquet"},
    {"master": "local[2]", "P": 1, "sink": "noop", "out_batch": 8192},
    {"master": "local[2]", "P": 1, "sink": "noop",
     "conf": {"spark.sql.execution.arrow.maxRecordsPerBatch": "1"}},
]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=4_000_000)
    parser.add_argument("--cases", default="all", help="comma-separated case numbers (0-based) or all")
    parser.add_argument("--max-wait", type=float, default=120.0)
    args = parser.parse_args(argv)

    import synth_ray

    model = synth_ray.fit(synth_ray.load_dataset("diamonds"), seed=0)
    cases = CASES if args.cases == "all" else [CASES[int(i)] for i in args.cases.split(",")]
    scratch = Path(tempfile.mkdtemp(prefix="spark-profile-"))
    results: list[dict[str, Any]] = []
    load = wait_for_quiet(max_wait_s=args.max_wait)
    results.append({"case": "in-process, 1 thread", "load": load, **_in_process(model, args.rows)})
    spark, current = None, None
    try:
        for case in cases:
            key = (case["master"], json.dumps(case.get("conf", {}), sort_keys=True))
            if key != current:
                if spark is not None:
                    spark.stop()
                spark, current = _session(case["master"], case.get("conf", {})), key
                _run(spark, model, rows=model.chunk_rows * 8, partitions=2, sink="noop",
                     out_batch=0, scratch=scratch)  # warm-up: workers up, model loaded
            load = wait_for_quiet(max_wait_s=args.max_wait)
            got = _run(spark, model, rows=args.rows, partitions=case["P"], sink=case["sink"],
                       out_batch=case.get("out_batch", 0), scratch=scratch)
            results.append({"case": case, "load": load, **got})
            print(json.dumps(results[-1]), flush=True)
    finally:
        if spark is not None:
            spark.stop()
        shutil.rmtree(scratch, ignore_errors=True)
    print(json.dumps(results, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
