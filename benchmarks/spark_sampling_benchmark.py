"""Spark sampling throughput (P=1 vs P=2, vs in-process) and a large write through Spark.

Run on a quiet machine (the script waits for one):

    .venv/bin/python benchmarks/spark_sampling_benchmark.py --rows 4000000
    .venv/bin/python benchmarks/spark_sampling_benchmark.py --rows 4000000 --write-rows 100000000 \
        --out /tmp/spark-bench

Generation is timed with Spark's ``noop`` sink (every row made, nothing written or
collected), after a warm-up that starts the Python workers and loads the model, so session
start-up is reported apart. In-process sampling uses one thread per core being compared.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from machine_load import wait_for_quiet

import synth_ray


def _spark_rows_per_s(spark, model, rows: int, partitions: int) -> float:
    from spark_udfs import sample_dataframe

    started = time.perf_counter()
    sample_dataframe(spark, model, rows=rows, seed=1, partitions=partitions).write.format("noop") \
        .mode("overwrite").save()
    return rows / (time.perf_counter() - started)


def _local_rows_per_s(model, rows: int, threads: int) -> float:
    started = time.perf_counter()
    for _ in model.iter_batches(rows, seed=1, threads=threads):
        pass
    return rows / (time.perf_counter() - started)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=4_000_000)
    parser.add_argument("--write-rows", type=int, default=0, help="also write this many rows to Delta")
    parser.add_argument("--out", default="/tmp/synth-ray-spark-bench")
    parser.add_argument("--max-wait", type=float, default=600.0)
    args = parser.parse_args()

    from spark_udfs.session import get_spark

    model = synth_ray.fit(synth_ray.load_dataset("diamonds"), seed=0)
    started = time.perf_counter()
    spark, _ = get_spark(master="local[2]")
    spark.sparkContext.setLogLevel("ERROR")
    startup = time.perf_counter() - started
    _spark_rows_per_s(spark, model, model.chunk_rows * 2, 2)  # warm-up: workers up, model loaded
    results: dict[str, object] = {"rows": args.rows, "spark_startup_s": round(startup, 1)}
    results["load_before"] = wait_for_quiet(max_wait_s=args.max_wait)
    results["local_1_thread"] = _local_rows_per_s(model, args.rows, 1)
    results["local_2_threads"] = _local_rows_per_s(model, args.rows, 2)
    results["spark_p1"] = _spark_rows_per_s(spark, model, args.rows, 1)
    results["spark_p2"] = _spark_rows_per_s(spark, model, args.rows, 2)
    results["p2_over_p1"] = results["spark_p2"] / results["spark_p1"]  # type: ignore[operator]
    results["spark_p1_over_local_1"] = results["spark_p1"] / results["local_1_thread"]  # type: ignore[operator]
    if args.write_rows:
        from spark_udfs import sample_dataframe, write_synthetic_table

        shutil.rmtree(args.out, ignore_errors=True)
        partitions = max(2, args.write_rows // (model.chunk_rows * 64))
        started = time.perf_counter()
        written = write_synthetic_table(
            sample_dataframe(spark, model, rows=args.write_rows, seed=1, partitions=partitions),
            path=args.out, format="delta")
        results["write"] = {"rows": written.rows, "version": written.version, "partitions": partitions,
                            "seconds": round(time.perf_counter() - started, 1)}
    results["load_after"] = wait_for_quiet(max_wait_s=0)
    spark.stop()
    print(json.dumps({k: round(v, 3) if isinstance(v, float) else v for k, v in results.items()}, indent=1))


if __name__ == "__main__":
    main()
