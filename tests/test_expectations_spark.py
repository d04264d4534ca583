"""The Great Expectations gate on Spark DataFrames (the session-wide ``spark`` fixture).

Spark validates partition by partition: the reference summary is computed where the rows
live (``mapInArrow``), so it must equal the pandas one, and the same suite must pass and
fail the same way as on pandas.
"""

# ruff: noqa: F811  (pytest fixtures imported from gate_fixtures are redefined as arguments)
from __future__ import annotations

import pytest

pytest.importorskip("great_expectations", reason="needs the gx extra")
pytest.importorskip("pyspark", reason="needs the spark extra")

from gate_fixtures import GATE_ROWS as ROWS
from gate_fixtures import gate_fake, gate_model_dir  # noqa: F401

from expectations import validate_synthetic
from expectations.statistics import association, ks_distance, summarize, tv_distance


@pytest.fixture(scope="module")
def spark_fake(spark, gate_fake):
    return spark.createDataFrame(gate_fake.to_pandas()).repartition(3).cache()


def test_spark_summary_equals_the_pandas_one(spark_fake, gate_fake, mixed_model):
    from expectations.metrics import _spark_summary

    profile = mixed_model.reference
    local, distributed = summarize(gate_fake, profile), _spark_summary(spark_fake, profile)
    assert distributed.rows == ROWS and distributed.errors == {}
    assert ks_distance(distributed, "created_at", profile) == pytest.approx(
        ks_distance(local, "created_at", profile))
    assert tv_distance(distributed, "region", profile) == pytest.approx(tv_distance(local, "region", profile))
    pair = profile.pairs[0]
    assert association(distributed, pair.first, pair.second, pair.metric) == pytest.approx(
        association(local, pair.first, pair.second, pair.metric))


def test_spark_dataframe_passes_then_fails_exactly_the_damaged_expectations(spark_fake, gate_model_dir):
    from pyspark.sql import functions as F

    result = validate_synthetic(spark_fake, model_dir=gate_model_dir, expected_rows=ROWS)
    assert result.success, result.summary
    assert "(spark," in result.summary
    damaged = (spark_fake
               .withColumn("quantity", F.col("quantity").cast("double"))
               .withColumn("segment", F.when(F.col("order_id") < 1_010, F.lit("vip"))
                           .otherwise(F.col("segment"))))
    result = validate_synthetic(damaged, model_dir=gate_model_dir, expected_rows=ROWS)
    assert [line.split(": observed")[0] for line in result.failures] == [
        "column 'quantity': expect_column_type_to_match_reference",
        "column 'segment': expect_column_values_to_be_in_set",
    ], result.summary
    assert "observed 'DoubleType'" in result.failures[0]
    assert "'vip'" in result.failures[1]
