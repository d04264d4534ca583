"""Sampling with Spark (mapInArrow) on the real local Spark session of the test session."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pyarrow as pa
import pytest

import synth_ray
from synth_ray.synthesizer import Synthesizer

N = 7_500  # 8 chunks of 1,000 rows: every partition count below splits them differently
SEED = 21


def small_chunks(model: Synthesizer, chunk_rows: int = 1_000) -> Synthesizer:
    """The same model cutting its samples into small chunks, so a few rows span many chunks."""
    return Synthesizer(metadata=model.metadata, transformer=model.transformer,
                       generator=model.generator, training=model.training, chunk_rows=chunk_rows)


@pytest.fixture(scope="module")
def model(mixed_model) -> Synthesizer:
    return small_chunks(mixed_model)


@pytest.fixture(scope="module")
def reference(model) -> pa.Table:
    """Local sampling, in the Arrow types Spark hands back (see spark_udfs.schema)."""
    from spark_udfs.schema import spark_target, to_spark_arrow

    return to_spark_arrow(model.sample_arrow(N, seed=SEED), spark_target(model.metadata).arrow_schema)


@pytest.mark.parametrize("partitions", [1, 2, 7])
def test_equals_local_sampling_row_for_row(spark, model, reference, partitions):
    from spark_udfs import sample_dataframe

    df = sample_dataframe(spark, model, rows=N, seed=SEED, partitions=partitions)
    assert df.rdd.getNumPartitions() == partitions
    assert df.toArrow().equals(reference)


def test_a_task_that_fails_once_is_retried_to_the_same_rows(spark, model, reference, tmp_path):
    """Partition 1's first attempt dies after handing rows on; Spark reruns it (maxFailures 4)."""
    from pyspark import TaskContext

    from spark_udfs import sample_dataframe

    marker = tmp_path / "failed-once"

    def fail_first_attempt(batches):
        context = TaskContext.get()
        for i, batch in enumerate(batches):
            yield batch
            if context.partitionId() == 1 and context.attemptNumber() == 0 and i == 0:
                marker.write_text(f"attempt {context.attemptNumber()}")
                raise RuntimeError("injected executor failure")

    sampled = sample_dataframe(spark, model, rows=N, seed=SEED, partitions=3)
    flaky = sampled.mapInArrow(fail_first_attempt, sampled.schema)  # same task as the sampling
    assert flaky.toArrow().equals(reference)
    assert marker.read_text() == "attempt 0"  # the failure did happen, and was recovered from


def test_model_directory_and_zero_rows(spark, model, reference, tmp_path):
    from spark_udfs import sample_dataframe

    model.save(tmp_path / "model")
    df = sample_dataframe(spark, tmp_path / "model", rows=1_234, seed=SEED)
    assert df.toArrow().equals(reference.slice(0, 1_234))
    empty = sample_dataframe(spark, str(tmp_path / "model"), rows=0, seed=SEED)
    assert empty.count() == 0 and empty.schema == df.schema
    with pytest.raises(synth_ray.SamplingError, match="got -3"):
        sample_dataframe(spark, model, rows=-3)
    with pytest.raises(synth_ray.ConfigError, match="partitions must be a positive integer, got 0"):
        sample_dataframe(spark, model, rows=10, partitions=0)
    with pytest.raises(synth_ray.ArtifactError, match="no model at"):
        sample_dataframe(spark, tmp_path / "missing", rows=10)


def typed_table(n: int = 400) -> pa.Table:
    """One column of each Arrow type a model can hand to Spark, some with nulls."""
    rng = np.random.default_rng(3)
    base = dt.datetime(2024, 3, 1, 12, 0, 0)
    with_nulls = rng.random(n) < 0.2
    return pa.table({
        "i8": pa.array(rng.integers(-100, 100, n), pa.int8()),
        "i16": pa.array(rng.integers(-1_000, 1_000, n), pa.int16()),
        "i32": pa.array(rng.integers(0, 10**6, n), pa.int32(), mask=with_nulls),
        "i64": pa.array(rng.integers(0, 10**12, n), pa.int64()),
        "u8": pa.array(rng.integers(0, 255, n), pa.uint8()),
        "u16": pa.array(rng.integers(0, 60_000, n), pa.uint16()),
        "u32": pa.array(rng.integers(0, 4 * 10**9, n), pa.uint32()),
        "u64": pa.array(rng.integers(0, 10**15, n), pa.uint64()),
        "f32": pa.array(rng.normal(size=n).astype(np.float32), pa.float32()),
        "f64": pa.array(rng.normal(size=n), pa.float64(), mask=with_nulls),
        "word": pa.array(rng.choice(["a", "b", "c"], n), pa.large_string()),
        "level": pa.array(rng.choice(["lo", "hi"], n)).dictionary_encode(),
        "flag": pa.array(rng.random(n) < 0.5, mask=with_nulls),
        "day": pa.array([dt.date(2020, 1, 1) + dt.timedelta(days=int(d)) for d in rng.integers(0, 900, n)],
                        pa.date32()),
        "at_paris": pa.array([base + dt.timedelta(seconds=int(s)) for s in rng.integers(0, 10**7, n)],
                             pa.timestamp("us", tz="Europe/Paris")),
        "local_ms": pa.array([base + dt.timedelta(milliseconds=int(s)) for s in rng.integers(0, 10**9, n)],
                             pa.timestamp("ms"), mask=with_nulls),
    })


def test_spark_schema_is_derived_exactly_from_the_metadata(spark, tmp_path):
    from pyspark.sql.types import (
        BooleanType,
        ByteType,
        DateType,
        DecimalType,
        DoubleType,
        FloatType,
        IntegerType,
        LongType,
        ShortType,
        StringType,
        StructField,
        StructType,
        TimestampNTZType,
        TimestampType,
    )

    from spark_udfs import sample_dataframe, spark_target
    from spark_udfs.schema import to_spark_arrow

    table = typed_table()
    model = synth_ray.fit(table, seed=0)
    expected = StructType([
        StructField("i8", ByteType(), False), StructField("i16", ShortType(), False),
        StructField("i32", IntegerType(), True), StructField("i64", LongType(), False),
        StructField("u8", ShortType(), False), StructField("u16", IntegerType(), False),
        StructField("u32", LongType(), False), StructField("u64", DecimalType(20, 0), False),
        StructField("f32", FloatType(), False), StructField("f64", DoubleType(), True),
        StructField("word", StringType(), False), StructField("level", StringType(), False),
        StructField("flag", BooleanType(), True), StructField("day", DateType(), False),
        StructField("at_paris", TimestampType(), False), StructField("local_ms", TimestampNTZType(), True),
    ])
    target = spark_target(model.metadata)
    assert target.spark_schema == expected
    df = sample_dataframe(spark, model, rows=500, seed=4, partitions=2)
    assert df.schema == expected
    local = model.sample_arrow(500, seed=4)
    got = df.toArrow()
    assert got.equals(to_spark_arrow(local, target.arrow_schema))
    # The same instants and wall times, not just the same bits after our own conversion:
    assert got["at_paris"].to_pylist() == [v.astimezone(dt.UTC) for v in local["at_paris"].to_pylist()]
    assert got["local_ms"].to_pylist() == local["local_ms"].to_pylist()
    assert got["u64"].to_pylist() == local["u64"].to_pylist()
    assert got["level"].to_pylist() == local["level"].to_pylist()


def test_a_requested_schema_is_checked_column_by_column(spark, model, reference):
    from spark_udfs import sample_dataframe

    own = sample_dataframe(spark, model, rows=10, seed=SEED).schema
    ddl = ", ".join(f"`{f.name}` {'bigint' if f.name == 'quantity' else f.dataType.simpleString()}"
                    + ("" if f.nullable else " NOT NULL") for f in reversed(own.fields))
    widened = sample_dataframe(spark, model, rows=1_500, seed=SEED, schema=ddl).toArrow()
    assert widened.schema.names == list(reversed(reference.schema.names))
    assert widened["quantity"].type == pa.int64()
    assert widened["quantity"].to_pylist() == reference["quantity"].slice(0, 1_500).to_pylist()
    with pytest.raises(synth_ray.SchemaError, match=r"column 'segment': the model makes string values.*int"):
        sample_dataframe(spark, model, rows=10, schema=ddl.replace("`segment` string", "`segment` int"))
    with pytest.raises(synth_ray.SchemaError, match=r"columns \['extra'\] are not in the model"):
        sample_dataframe(spark, model, rows=10, schema=ddl + ", extra int")
    with pytest.raises(synth_ray.SchemaError, match="column 'amount' is requested non-nullable"):
        sample_dataframe(spark, model, rows=10, schema=ddl.replace("`amount` double", "`amount` double NOT NULL"))


def test_sql_one_liner(spark, model, reference):
    from spark_udfs import sample_dataframe

    sample_dataframe(spark, model, rows=2_000, seed=SEED).createOrReplaceTempView("orders_synth")
    row = spark.sql("SELECT count(*) AS n, sum(quantity) AS q, max(order_id) AS top FROM orders_synth").collect()[0]
    expected = reference.slice(0, 2_000)
    assert (row.n, row.q, row.top) == (2_000, pa.compute.sum(expected["quantity"]).as_py(),
                                       pa.compute.max(expected["order_id"]).as_py())


def test_model_is_loaded_once_per_worker_process(model):
    from spark_udfs import worker_cache
    from synth_ray.artifacts import model_files

    files = model_files(model)
    before = worker_cache.loads_in_this_process()
    first = worker_cache.cached_model(files)
    assert worker_cache.cached_model(dict(files)) is first
    assert worker_cache.loads_in_this_process() == before + 1
    tampered = dict(files, **{"manifest.json": files["manifest.json"] + b" "})
    tampered["tensors.safetensors"] = b"tampered"
    with pytest.raises(synth_ray.ArtifactError, match="does not match its checksum"):
        worker_cache.cached_model(tampered)


def test_importing_the_package_imports_no_spark():
    import subprocess
    import sys

    code = ("import sys, spark_udfs; spark_udfs.__all__; "
            "assert not [m for m in sys.modules if m.startswith('pyspark')], 'pyspark imported'")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr


def test_sampler_makes_chunks_ahead_in_order_and_stops_when_spark_stops_reading(model, reference):
    """ChunkSampler alone (no Spark): chunk indices in any batching give the rows in order."""
    from spark_udfs.sampling import ChunkSampler
    from spark_udfs.schema import spark_target
    from synth_ray.artifacts import model_files

    sampler = ChunkSampler(files=model_files(model), seed=SEED, rows=N,
                           arrow_schema=spark_target(model.metadata).arrow_schema)
    indices = [pa.record_batch([pa.array(part, pa.int64())], names=["id"]) for part in ([0, 1, 2], [3], [4, 5, 6, 7])]
    batches = list(sampler(iter(indices)))
    assert [b.num_rows for b in batches] == [1_000] * 7 + [500]  # one batch per chunk, the last cut
    assert pa.Table.from_batches(batches).equals(reference)
    stream = sampler(iter(indices))
    first = next(stream)
    stream.close()  # Spark stops reading (a limit, a failed task): the prefetch thread is joined
    assert first.equals(reference.slice(0, 1_000).to_batches()[0])
