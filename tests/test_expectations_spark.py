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


def _parquet_folder(table, folder):
    """``table`` as a Parquet folder of two files with small row groups (several tasks' worth)."""
    import pyarrow.parquet as pq

    folder.mkdir(parents=True)
    half = table.num_rows // 2
    pq.write_table(table.slice(0, half), folder / "part-0.parquet", row_group_size=256)
    pq.write_table(table.slice(half), folder / "part-1.parquet", row_group_size=300)
    return folder


def test_a_parquet_scan_is_summarized_from_its_files_exactly(spark, gate_fake, mixed_model, tmp_path):
    from pyspark.sql import functions as F

    from expectations.metrics import _parquet_scan_summary, _spark_summary
    from expectations.parquet_scan import local_parquet_files
    from expectations.statistics import summarized_columns

    profile = mixed_model.reference
    df = spark.read.parquet(str(_parquet_folder(gate_fake, tmp_path / "fake")))
    files = local_parquet_files(df)
    assert sorted(f.rsplit("/", 1)[-1] for f in files) == ["part-0.parquet", "part-1.parquet"]
    assert local_parquet_files(df.withColumn("amount", F.col("amount") + 1)) is None
    assert local_parquet_files(df.filter("amount > 0")) is None
    needed = [c for c in summarized_columns(profile) if c in df.columns]
    direct, local = _parquet_scan_summary(df, needed, profile), summarize(gate_fake, profile)
    assert direct is not None  # the shortcut was taken, not the mapInArrow path
    assert (direct.rows, direct.copies, direct.errors) == (ROWS, local.copies, {})
    assert direct.categories == local.categories and direct.present == local.present
    assert {k: v.tolist() for k, v in direct.below.items()} == {k: v.tolist() for k, v in local.below.items()}
    for key, moments in local.moments.items():
        assert direct.moments[key] == pytest.approx(moments)
    assert _spark_summary(df, profile).below.keys() == local.below.keys()


@pytest.mark.parametrize("damage", ["shifted distribution", "injected nulls", "out-of-range value",
                                    "unseen category", "copied real rows"])
def test_a_damaged_parquet_table_fails_exactly_its_expectation_on_spark(
        damage, spark, gate_fake, mixed_table, gate_model_dir, tmp_path, caplog):
    import pyarrow as pa
    from test_expectations import DAMAGE

    from synth_ray.pandas_output import to_pandas

    spoil, expected = DAMAGE[damage]
    spoiled = pa.Table.from_pandas(spoil(to_pandas(gate_fake), mixed_table), schema=gate_fake.schema,
                                   preserve_index=False)
    df = spark.read.parquet(str(_parquet_folder(spoiled, tmp_path / "spoiled")))
    with caplog.at_level("WARNING", logger="expectations.metrics"):
        result = validate_synthetic(df, model_dir=gate_model_dir, expected_rows=ROWS)
    assert [line.split(": observed")[0] for line in result.failures] == [expected], result.summary
    assert not caplog.records, "the summary fell back to mapInArrow"
