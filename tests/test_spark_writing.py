"""Publishing Spark DataFrames as Delta tables (committed with deltalake) and Parquet folders."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from deltalake import DeltaTable
from test_spark_sampling import small_chunks

import synth_ray

N = 3_000
SEED = 5


@pytest.fixture(scope="module")
def model(mixed_model):
    return small_chunks(mixed_model)


@pytest.fixture(scope="module")
def reference(model) -> pa.Table:
    from spark_udfs.schema import spark_target, to_spark_arrow

    return to_spark_arrow(model.sample_arrow(N, seed=SEED), spark_target(model.metadata).arrow_schema)


def committed_files(path: Path) -> set[str]:
    return {str(Path(u.removeprefix("file://")).resolve()) for u in DeltaTable(str(path)).file_uris()}


def data_files(path: Path) -> set[str]:
    return {str(p.resolve()) for p in path.rglob("*.parquet")}


def by_id(table: pa.Table) -> pa.Table:
    return table.sort_by("order_id")


def test_delta_overwrite_append_overwrite_each_one_commit(spark, model, reference, tmp_path):
    from spark_udfs import sample_dataframe, write_synthetic_table

    path = tmp_path / "lake" / "orders_synth"
    result = write_synthetic_table(sample_dataframe(spark, model, rows=N, seed=SEED, partitions=2), path=path)
    assert (result.rows, result.version, result.format.value) == (N, 0, "delta")
    table = DeltaTable(str(path))
    read = table.to_pyarrow_table()
    assert by_id(read).cast(reference.schema).equals(by_id(reference))  # values and types, all rows
    assert read.schema.field("created_at").type == pa.timestamp("us", tz="UTC")  # INT64 micros, not INT96
    frame = table.to_pandas()  # pandas through deltalake ...
    assert len(frame) == N and frame["order_id"].is_unique
    files = sorted(committed_files(path))  # ... and DuckDB straight from the committed files
    n, ids, member = duckdb.connect().sql(
        f"SELECT count(*), count(DISTINCT order_id), sum(is_member::INT) FROM read_parquet({files})").fetchall()[0]
    assert (n, ids, member) == (N, N, pa.compute.sum(reference["is_member"].cast(pa.int32())).as_py())
    assert data_files(path) == committed_files(path)  # no staged or marker files left behind

    appended = write_synthetic_table(sample_dataframe(spark, model, rows=1_000, seed=SEED + 1),
                                     path=path, mode="append")
    assert (appended.rows, appended.version) == (1_000, 1)
    assert DeltaTable(str(path)).to_pyarrow_table().num_rows == N + 1_000
    again = write_synthetic_table(sample_dataframe(spark, model, rows=500, seed=SEED), path=path)
    assert (again.rows, again.version) == (500, 2)
    latest = DeltaTable(str(path))
    assert by_id(latest.to_pyarrow_table()).cast(reference.schema).equals(by_id(reference.slice(0, 500)))
    commits = sorted(p.name for p in (path / "_delta_log").glob("*.json"))
    assert commits == [f"{v:020d}.json" for v in range(3)]  # one transaction per write
    assert [h["operation"] for h in latest.history()][:1] and latest.version() == 2


def test_a_failed_write_leaves_the_table_as_it_was(spark, model, tmp_path):
    from spark_udfs import sample_dataframe, write_synthetic_table

    path = tmp_path / "t"
    write_synthetic_table(sample_dataframe(spark, model, rows=1_000, seed=SEED), path=path)
    before = DeltaTable(str(path)).to_pyarrow_table()

    def always_fails(batches):
        for batch in batches:
            raise RuntimeError("disk on fire")
            yield batch

    sampled = sample_dataframe(spark, model, rows=1_000, seed=SEED + 9)
    with pytest.raises(Exception, match="disk on fire"):
        write_synthetic_table(sampled.mapInArrow(always_fails, sampled.schema), path=path, mode="overwrite")
    other = synth_ray.fit(pa.table({"x": [1.5, 2.5, 3.5]}), seed=0)
    with pytest.raises(synth_ray.SchemaError, match=r"cannot append to the Delta table .*column .order_id. is missing"):
        write_synthetic_table(sample_dataframe(spark, other, rows=10), path=path, mode="append")
    after = DeltaTable(str(path))
    assert after.version() == 0 and after.to_pyarrow_table().equals(before)
    assert data_files(path) == committed_files(path)
    assert {p.name for p in path.glob("write-*")} == {Path(f).parent.name for f in committed_files(path)}
    with pytest.raises(Exception, match="disk on fire"):  # a new table that failed is not left half-made
        write_synthetic_table(spark.range(1).mapInArrow(always_fails, "id long"), path=tmp_path / "new")
    assert not (tmp_path / "new").exists()


def test_parquet_folder_overwrite_and_append(spark, model, reference, tmp_path):
    from spark_udfs import sample_dataframe, write_synthetic_table

    path = tmp_path / "pq"
    df = sample_dataframe(spark, model, rows=N, seed=SEED, partitions=3)
    assert write_synthetic_table(df, path=path, format="parquet").rows == N
    assert by_id(pq.read_table(path).cast(reference.schema)).equals(by_id(reference))
    write_synthetic_table(df, path=path, format="parquet", mode="append")
    assert duckdb.connect().sql(f"SELECT count(*) FROM read_parquet('{path}/*.parquet')").fetchall() == [(2 * N,)]
    assert sorted(p.name for p in path.iterdir() if not p.name.startswith("part-")) == []
    write_synthetic_table(sample_dataframe(spark, model, rows=10, seed=SEED), path=path, format="parquet")
    assert pq.read_table(path).num_rows == 10
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]  # no staging left


def test_bad_write_arguments_are_refused(spark, model, tmp_path):
    from spark_udfs import sample_dataframe, write_synthetic_table

    df = sample_dataframe(spark, model, rows=10)
    with pytest.raises(synth_ray.InputFormatError, match="not 'csv'"):
        write_synthetic_table(df, path=tmp_path / "x.csv", format="csv")
    with pytest.raises(synth_ray.InputFormatError, match="got 'upsert'"):
        write_synthetic_table(df, path=tmp_path / "x", mode="upsert")
    with pytest.raises(synth_ray.InputFormatError, match="'s3://bucket/t' is not a local path"):
        write_synthetic_table(df, path="s3://bucket/t", delta_writer="deltalake")
