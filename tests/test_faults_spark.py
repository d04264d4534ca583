"""A Spark task whose Python worker is SIGKILLed mid-job: the written table is the undisturbed one.

The session's real local Spark (``local[2,4]``: a failed task is retried, as on a
cluster) samples with ``mapInArrow`` and publishes with ``write_synthetic_table``. In
the same task as the sampling, partition 1's first attempt kills its own Python worker
process with SIGKILL right after handing on its first batch: the JVM sees the worker
crash mid-task, the attempt's files are discarded by Spark's commit protocol, and the
task is rerun. The table must equal, row for row, the one an undisturbed job writes.
"""

from __future__ import annotations

import os
import signal

import pytest

import synth_ray
from synth_ray.synthesizer import Synthesizer

N = 7_500  # 8 chunks of 1,000 rows over 3 partitions
SEED = 5


@pytest.fixture(scope="module")
def model(diamonds_model) -> Synthesizer:
    m = diamonds_model
    return Synthesizer(metadata=m.metadata, transformer=m.transformer, generator=m.generator,
                       training=m.training, chunk_rows=1_000)


@pytest.mark.parametrize("fmt", ["delta", "parquet"])
def test_python_worker_killed_mid_task_gives_the_undisturbed_table(spark, model, tmp_path, fmt):
    from pyspark import TaskContext

    from spark_udfs import sample_dataframe, write_synthetic_table

    marker = tmp_path / "killed-worker"

    def kill_first_attempt(batches):
        context = TaskContext.get()
        for i, batch in enumerate(batches):
            yield batch
            if context.partitionId() == 1 and context.attemptNumber() == 0 and i == 0:
                marker.write_text(str(os.getpid()))
                os.kill(os.getpid(), signal.SIGKILL)

    sampled = sample_dataframe(spark, model, rows=N, seed=SEED, partitions=3)
    write_synthetic_table(sampled, path=tmp_path / "undisturbed", format=fmt)
    flaky = sampled.mapInArrow(kill_first_attempt, sampled.schema)  # runs in the sampling task
    result = write_synthetic_table(flaky, path=tmp_path / "table", format=fmt)
    assert int(marker.read_text()) > 0  # the kill did happen, on the first attempt
    assert result.rows == N
    got = synth_ray.read_table(tmp_path / "table")
    assert got.equals(synth_ray.read_table(tmp_path / "undisturbed"))  # row for row
    assert got.column("price").to_pylist() == model.sample_arrow(N, seed=SEED).column("price").to_pylist()
