"""Fitting from a Spark DataFrame: statistics from Spark aggregations, training on a bounded sample."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pytest

import synth_ray
from synth_ray.metadata import ColumnKind


@pytest.fixture(scope="module")
def mixed_df(spark, mixed_table):
    return spark.createDataFrame(mixed_table.to_pandas())


def test_statistics_come_from_the_whole_table_and_training_from_a_stated_sample(spark, mixed_df,
                                                                                 mixed_table, tmp_path):
    from spark_udfs import fit_dataframe

    model = fit_dataframe(mixed_df, max_rows=500, seed=3)
    from synth_ray.table_input import to_arrow

    local = synth_ray.infer_metadata(to_arrow(mixed_table))
    assert {c.name: c.kind for c in model.metadata} == {c.name: c.kind for c in local}
    for column in ("amount", "quantity", "always_null", "segment", "is_member"):
        assert model.metadata[column].null_fraction == pytest.approx(local[column].null_fraction, abs=1e-12)
    for column in ("amount", "quantity"):
        assert (model.metadata[column].min, model.metadata[column].max) == (local[column].min, local[column].max)
    assert model.metadata["created_at"].min == local["created_at"].min
    assert model.metadata["birth_date"].max == local["birth_date"].max
    assert model.metadata["segment"].n_categories == 3 and model.metadata.n_rows == 2_000
    info = model.training
    assert info.rows <= 500 and info.source["method"] == "driver_sample"
    assert info.source["table_rows"] == 2_000 and info.source["sample_rows"] == info.rows
    model.save(tmp_path / "m")
    loaded = synth_ray.load(tmp_path / "m")
    assert loaded.training.source == info.source  # recorded in the artifact
    assert loaded.reference is not None  # the quality gate's reference profile, from the same sample
    fake = model.sample_arrow(3_000, seed=1)
    assert pc.min(fake["amount"]).as_py() >= local["amount"].min
    assert set(fake["segment"].to_pylist()) <= {"retail", "pro", "enterprise"}
    assert fake["order_id"].to_pylist() == list(range(1_000, 4_000))


def test_small_table_is_learned_whole(spark, mixed_df):
    from spark_udfs import fit_dataframe

    model = fit_dataframe(mixed_df.limit(300), seed=0)
    assert (model.training.rows, model.training.source["method"]) == (300, "whole_table")
    assert model.sample_arrow(10, seed=0).num_rows == 10


def test_rare_categories_ranges_and_false_keys_come_from_the_whole_table(spark):
    from spark_udfs import fit_dataframe

    n = 4_000
    rng = np.random.default_rng(0)
    ids = np.arange(n)
    ids[-1] = 7  # one repeat: unique in almost any sample, not in the table
    colour = rng.choice(["red", "blue"], n).astype(object)
    colour[1_234] = "ultraviolet"  # once in 4,000 rows: a 200-row sample almost surely misses it
    day = [dt.date(2020, 1, 1) + dt.timedelta(days=int(d)) for d in rng.integers(10, 500, n)]
    day[99] = dt.date(2019, 6, 1)
    table = pa.table({"customer_id": ids, "colour": colour, "day": pa.array(day, pa.date32()),
                      "x": rng.normal(size=n)})
    frame = spark.createDataFrame(table.to_pandas())
    # Rare-category protection off, to see that categories are counted over the whole table.
    model = fit_dataframe(frame, max_rows=200, seed=1, spec={"rare_category_threshold": 0})
    assert model.metadata["customer_id"].kind is ColumnKind.NUMERICAL  # duplicated: not a key
    assert model.metadata["colour"].n_categories == 3
    colour_params = next(c for c in model.transformer.columns if c.name == "colour").params()
    assert colour_params["categories"][2] == "ultraviolet"  # least frequent last
    assert colour_params["counts"][-1] == 1 and sum(colour_params["counts"]) == n
    # By default (k = 5) the value seen once is protected, from the whole table's count too.
    protected = fit_dataframe(frame, max_rows=200, seed=1)
    params = next(c for c in protected.transformer.columns if c.name == "colour").params()
    assert "ultraviolet" not in params["categories"] and params["categories"][2] == "_RARE_"
    assert model.metadata["day"].min == "2019-06-01"
    days = model.sample_arrow(5_000, seed=2)["day"]
    assert pc.min(days).as_py() >= dt.date(2019, 6, 1) and pc.max(days).as_py() <= max(day)


def test_bad_spark_input_is_refused_with_the_column_and_the_fix(spark):
    from pyspark.sql import functions as F

    from spark_udfs import fit_dataframe

    base = spark.range(20).withColumn("x", F.col("id") * 1.5)
    cases = [
        (base.withColumn("tags", F.create_map(F.lit("k"), F.col("x"))), synth_ray.SchemaError,
         r"column 'tags' has Spark type map<string,double>.*to_json"),
        (base.withColumn("point", F.struct("id", "x")), synth_ray.SchemaError, r"column 'point'.*struct"),
        (base.withColumn("blob", F.col("x").cast("string").cast("binary")), synth_ray.SchemaError,
         r"column 'blob' has Spark type binary"),
        (base.withColumn("price", F.col("x").cast("decimal(10,2)")), synth_ray.SchemaError,
         r"column 'price'.*cast\('double'\)"),
        (base.where("id < 0"), synth_ray.DataError, "the Spark DataFrame has 0 rows"),
        (base.withColumn("x", F.when(F.col("id") == 3, F.lit(float("inf"))).otherwise(F.col("x"))),
         synth_ray.DataError, r"column 'x' has 1 infinite value"),
    ]
    for df, error, message in cases:
        with pytest.raises(error, match=message):
            fit_dataframe(df)
    with pytest.raises(synth_ray.ConfigError, match="max_rows must be a positive integer, got 0"):
        fit_dataframe(base, max_rows=0)
