"""Reading and writing Parquet, CSV and Delta tables; atomic publishing."""

from __future__ import annotations

import duckdb
import pyarrow as pa
import pytest
from deltalake import DeltaTable

import synth_ray
from synth_ray import InputFormatError
from synth_ray.lakehouse.writers import delta_schema


def write(model, path, *, rows, seed=0, fmt="delta", mode="overwrite"):
    return synth_ray.write_table(model.iter_batches(rows, seed=seed),
                                 schema=model.metadata.arrow_schema, path=path, format=fmt, mode=mode)


@pytest.mark.parametrize(("fmt", "name"), [("parquet", "t"), ("parquet", "t.parquet"),
                                           ("csv", "t.csv"), ("delta", "t")])
def test_written_tables_read_back(tmp_path, diamonds_model, fmt, name):
    result = write(diamonds_model, tmp_path / name, rows=70_000, fmt=fmt)
    back = synth_ray.read_table(tmp_path / name)
    assert result.rows == back.num_rows == 70_000
    expected = diamonds_model.sample_arrow(70_000, seed=0)
    assert back.select(["price", "cut"]).equals(expected.select(["price", "cut"]))
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]  # no staging left


def test_delta_is_readable_by_deltalake_and_duckdb(tmp_path, mixed_model, mixed_table):
    result = write(mixed_model, tmp_path / "d", rows=1_000)
    table = DeltaTable(str(tmp_path / "d"))
    assert result.version == table.version() == 0
    assert table.to_pyarrow_table().schema.names == mixed_table.schema.names
    # DuckDB's delta extension would be downloaded at run time: read the files the log lists.
    files = table.file_uris()
    count = duckdb.connect().execute(f"select count(*), count(distinct order_id) from read_parquet({files})")
    assert count.fetchone() == (1_000, 1_000)


def test_delta_overwrite_and_append_are_versions(tmp_path, diamonds_model):
    path = tmp_path / "d"
    write(diamonds_model, path, rows=100, seed=1)
    write(diamonds_model, path, rows=50, seed=2, mode="append")
    assert synth_ray.read_table(path).num_rows == 150
    result = write(diamonds_model, path, rows=10, seed=3)
    assert result.version == 2 and synth_ray.read_table(path).num_rows == 10
    old = DeltaTable(str(path), version=0).to_pyarrow_table()
    assert old.num_rows == 100


def test_failed_write_leaves_the_published_table_as_it_was(tmp_path, diamonds_model):
    path = tmp_path / "d"
    write(diamonds_model, path, rows=100)
    before = synth_ray.read_table(path)

    def failing():
        yield diamonds_model.sample_arrow(10, seed=1)
        raise RuntimeError("sampler died")

    for fmt, target in [("delta", path), ("parquet", tmp_path / "p")]:
        if fmt == "parquet":
            write(diamonds_model, target, rows=100, fmt="parquet")
            before_pq = synth_ray.read_table(target)
        with pytest.raises(RuntimeError, match="sampler died"):
            synth_ray.write_table(failing(), schema=diamonds_model.metadata.arrow_schema,
                                  path=target, format=fmt)
    assert DeltaTable(str(path)).version() == 0
    assert synth_ray.read_table(path).equals(before)
    assert synth_ray.read_table(tmp_path / "p").equals(before_pq)


def test_delta_schema_maps_types_delta_lacks():
    schema = pa.schema([("t", pa.timestamp("ns", tz="UTC")), ("u", pa.uint32()),
                        ("d", pa.dictionary(pa.int8(), pa.string()))])
    assert delta_schema(schema) == pa.schema([("t", pa.timestamp("us", tz="UTC")),
                                              ("u", pa.int64()), ("d", pa.string())])


def test_unreadable_and_unknown_inputs(tmp_path):
    bad = tmp_path / "bad.parquet"
    bad.write_text("this is not parquet")
    with pytest.raises(InputFormatError, match=r"cannot read .*bad.parquet.* as parquet"):
        synth_ray.read_table(bad)
    odd = tmp_path / "table.xlsx"
    odd.write_text("x")
    with pytest.raises(InputFormatError, match="cannot tell the format"):
        synth_ray.read_table(odd)
    with pytest.raises(InputFormatError, match="does not exist"):
        synth_ray.read_table(tmp_path / "missing.csv")
    empty_dir = tmp_path / "empty"
    empty_dir.mkdir()
    with pytest.raises(InputFormatError, match="neither a Delta table"):
        synth_ray.read_table(empty_dir)


def test_append_to_single_file_is_refused(tmp_path, diamonds_model):
    with pytest.raises(InputFormatError, match="cannot append"):
        write(diamonds_model, tmp_path / "x.csv", rows=5, fmt="csv", mode="append")


def test_single_parquet_file_keeps_every_row_past_the_folder_split_size(diamonds_model, tmp_path,
                                                                         monkeypatch):
    from synth_ray.lakehouse import writers

    monkeypatch.setattr(writers, "_ROWS_PER_FILE", 1_000)
    table = diamonds_model.sample_arrow(5_000, seed=3)
    schema = diamonds_model.metadata.arrow_schema

    def batches():
        return (table.slice(start, 500) for start in range(0, 5_000, 500))

    writers.write_table(batches(), schema=schema, path=tmp_path / "one.parquet", format="parquet")
    assert synth_ray.read_table(tmp_path / "one.parquet").equals(table)
    assert [p.name for p in tmp_path.iterdir()] == ["one.parquet"]  # no stray part files
    writers.write_table(batches(), schema=schema, path=tmp_path / "dir", format="parquet")
    assert len(list((tmp_path / "dir").glob("*.parquet"))) == 5
    assert synth_ray.read_table(tmp_path / "dir").num_rows == 5_000
