"""write_sample: Spark's Python workers write the Parquet files, the driver publishes once."""

from __future__ import annotations

import os
import signal

import pyarrow as pa
import pytest
from test_spark_sampling import small_chunks

import synth_ray
from synth_ray.synthesizer import Synthesizer

N = 7_500  # 8 chunks of 1,000 rows
SEED = 9


@pytest.fixture(scope="module")
def model(diamonds_model) -> Synthesizer:
    return small_chunks(diamonds_model)


@pytest.fixture(scope="module")
def reference(model) -> pa.Table:
    return model.sample_arrow(N, seed=SEED)


def _delta_rows(path) -> pa.Table:
    from deltalake import DeltaTable

    table = DeltaTable(str(path))
    files = sorted(table.file_uris())  # the files in name order are the rows in order
    import pyarrow.parquet as pq

    return pa.concat_tables(pq.read_table(f) for f in files)


@pytest.mark.parametrize("partitions", [1, 3, 8])
def test_delta_table_holds_the_local_sample_row_for_row(spark, model, reference, tmp_path, partitions):
    from spark_udfs.sample_files import write_sample

    result = write_sample(spark, model, rows=N, seed=SEED, path=tmp_path / "t", partitions=partitions)
    assert (result.rows, result.version) == (N, 0)
    got = _delta_rows(tmp_path / "t")
    assert got.equals(reference.cast(got.schema))
    assert got.column("price").to_pylist() == reference.column("price").to_pylist()
    assert len([p for p in (tmp_path / "t").rglob("*.parquet")]) == partitions
    assert not list((tmp_path / "t").rglob(".part-*"))


def test_parquet_folder_and_append_and_zero_rows(spark, model, reference, tmp_path):
    from spark_udfs.sample_files import write_sample

    path = tmp_path / "p"
    assert write_sample(spark, model, rows=N, seed=SEED, path=path, format="parquet").rows == N
    got = synth_ray.read_table(path)
    assert got.equals(reference)  # the model's own schema, in row order
    write_sample(spark, model, rows=2_000, seed=SEED + 1, path=path, format="parquet", mode="append")
    assert synth_ray.read_table(path).num_rows == N + 2_000
    appended = write_sample(spark, model, rows=2_000, seed=SEED, path=tmp_path / "t", mode="append")
    again = write_sample(spark, model, rows=2_000, seed=SEED, path=tmp_path / "t", mode="append")
    assert (appended.version, again.version) == (0, 1)
    assert synth_ray.read_table(tmp_path / "t").num_rows == 4_000  # no file of the first replaced
    empty = write_sample(spark, model, rows=0, seed=SEED, path=tmp_path / "e")
    assert empty.rows == 0 and synth_ray.read_table(tmp_path / "e").num_rows == 0
    with pytest.raises(synth_ray.InputFormatError, match="not 'csv'"):
        write_sample(spark, model, rows=10, path=tmp_path / "c", format="csv")
    with pytest.raises(synth_ray.InputFormatError, match="got 'upsert'"):
        write_sample(spark, model, rows=10, path=tmp_path / "c", mode="upsert")


def test_python_worker_killed_mid_file_gives_the_undisturbed_table(spark, model, reference, tmp_path,
                                                                  monkeypatch):
    """Task 1's first attempt SIGKILLs its own worker while its file is half written; Spark retries."""
    from pyspark import TaskContext

    import spark_udfs.sample_files as sample_files

    marker = tmp_path / "killed"

    class KilledOnce(sample_files.ChunkFileWriter):
        def _chunk(self, synth, chunk):
            context = TaskContext.get()
            if context.partitionId() == 1 and context.attemptNumber() == 0 and chunk == 4:
                marker.write_text(str(os.getpid()))
                os.kill(os.getpid(), signal.SIGKILL)
            return super()._chunk(synth, chunk)

    monkeypatch.setattr(sample_files, "ChunkFileWriter", KilledOnce)
    result = sample_files.write_sample(spark, model, rows=N, seed=SEED, path=tmp_path / "t", partitions=2)
    assert int(marker.read_text()) > 0  # the kill did happen, mid-file (chunk 4 of 4..7)
    assert result.rows == N
    got = _delta_rows(tmp_path / "t")
    assert got.equals(reference.cast(got.schema))
    assert not list((tmp_path / "t").rglob(".part-*"))  # the killed attempt's partial file is gone
