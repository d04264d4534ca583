"""Sampling with Ray Data on a real local Ray cluster (started once per test session)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest
from deltalake import DeltaTable

import synth_ray

N = 150_000  # three chunks


@pytest.fixture(scope="module")
def reference(mixed_model) -> pa.Table:
    return mixed_model.sample_arrow(N, seed=21)


def collect(dataset) -> pa.Table:
    return pa.concat_tables(list(dataset.iter_batches(batch_format="pyarrow", batch_size=None)))


@pytest.mark.parametrize(("blocks", "actors"), [(1, 1), (2, 2), (7, 2)])
def test_dataset_equals_local_sampling_row_for_row(ray_cluster, mixed_model, reference, blocks, actors):
    from synth_ray.on_ray.sampling import sample_dataset

    got = collect(sample_dataset(mixed_model, rows=N, seed=21, blocks=blocks, actors=actors))
    assert got.equals(reference)


def test_writes_delta_and_parquet(ray_cluster, mixed_model, reference, tmp_path):
    from synth_ray.on_ray.sampling import sample_dataset
    from synth_ray.on_ray.writing import write_dataset

    schema = mixed_model.metadata.arrow_schema
    result = write_dataset(sample_dataset(mixed_model, rows=N, seed=21, blocks=3), schema=schema,
                           path=tmp_path / "delta")
    table = DeltaTable(str(tmp_path / "delta"))
    assert (result.rows, result.version, table.version()) == (N, 0, 0)
    ids = table.to_pyarrow_table().column("order_id").to_pylist()
    assert sorted(ids) == sorted(reference.column("order_id").to_pylist())
    on_disk = {str(p.resolve()) for p in (tmp_path / "delta").rglob("*.parquet")}
    committed = {str(Path(u.removeprefix("file://")).resolve()) for u in table.file_uris()}
    assert on_disk == committed  # every data file is committed, none left over
    result = write_dataset(sample_dataset(mixed_model, rows=1_000, seed=21), schema=schema,
                           path=tmp_path / "pq", format="parquet")
    assert synth_ray.read_table(tmp_path / "pq").num_rows == result.rows == 1_000


def test_zero_and_negative_rows(ray_cluster, mixed_model):
    from synth_ray.on_ray.sampling import sample_dataset

    assert sample_dataset(mixed_model, rows=0, seed=1).count() == 0
    with pytest.raises(synth_ray.SamplingError, match="got -3"):
        sample_dataset(mixed_model, rows=-3, seed=1)


def test_unreachable_address_fails_fast_and_clearly():
    code = ("from synth_ray.on_ray.cluster import ensure_ray\n"
            "ensure_ray(address='127.0.0.1:1')\n")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert done.returncode != 0
    assert "cannot reach a Ray cluster at '127.0.0.1:1'" in done.stderr


def test_more_actors_than_cpus_is_refused(ray_cluster, mixed_model):
    from synth_ray.on_ray.sampling import sample_dataset

    with pytest.raises(synth_ray.ConfigError, match="need 3 CPUs but the Ray cluster has 2"):
        sample_dataset(mixed_model, rows=10, seed=1, actors=3)


def test_cli_engine_ray(ray_cluster, mixed_model, tmp_path):
    from synth_ray.cli.main import main

    mixed_model.save(tmp_path / "m")
    code = main(["sample", str(tmp_path / "m"), "--rows", "70000", "--out", str(tmp_path / "t"),
                 "--engine", "ray", "--workers", "2", "--seed", "4", "-q"])
    assert code == 0
    table = DeltaTable(str(tmp_path / "t")).to_pyarrow_table()
    assert sorted(table.column("order_id").to_pylist()) == sorted(
        mixed_model.sample_arrow(70_000, seed=4).column("order_id").to_pylist())


def test_writing_with_every_cpu_held_by_samplers_does_not_deadlock(ray_cluster, mixed_model,
                                                                   tmp_path):
    """2 sampling actors on the 2-CPU cluster, and more rows than the executor may buffer.

    Ray Data keeps an actor pool's CPUs until its input is done; a writer task that waited
    for a CPU would never run, the buffered blocks would hit the budget and sampling would
    stop: a silent hang (found with 100M rows through ``synth-ray sample --workers 2``).
    """
    import threading

    from ray.data import DataContext, ExecutionResources

    from synth_ray.on_ray.sampling import sample_dataset
    from synth_ray.on_ray.writing import write_dataset

    options = DataContext.get_current().execution_options
    saved = options.resource_limits
    options.resource_limits = ExecutionResources(object_store_memory=8 * 2**20)  # a tiny budget
    rows = 40 * mixed_model.chunk_rows  # ~2.6M rows: far more than 8 MiB of blocks
    results: list[Any] = []
    try:
        for fmt in ("parquet", "delta"):
            worker = threading.Thread(daemon=True, target=lambda f=fmt: results.append(write_dataset(
                sample_dataset(mixed_model, rows=rows, seed=3, actors=2),
                schema=mixed_model.metadata.arrow_schema, path=tmp_path / f, format=f)))
            worker.start()
            worker.join(timeout=300)
            assert not worker.is_alive(), f"the {fmt} write hung with every CPU held by samplers"
    finally:
        options.resource_limits = saved
    assert [r.rows for r in results] == [rows, rows]
    assert synth_ray.read_table(tmp_path / "parquet").num_rows == rows


def in_file_order(folder: Path) -> pa.Table:
    import pyarrow.parquet as pq

    files = sorted(folder.glob("*.parquet"), key=lambda p: p.name)
    return pa.concat_tables([pq.read_table(f) for f in files])


@pytest.mark.parametrize(("blocks", "actors"), [(1, 1), (2, 2), (7, 2)])
def test_write_sample_files_hold_local_sampling_row_for_row(ray_cluster, mixed_model, reference,
                                                            tmp_path, blocks, actors):
    """The actors write the files themselves; in name order they are ``sample(n, seed)``."""
    from synth_ray.on_ray.writing import write_sample

    result = write_sample(mixed_model, rows=N, seed=21, path=tmp_path / "pq", format="parquet",
                          blocks=blocks, actors=actors)
    assert result.rows == N
    assert len(list((tmp_path / "pq").glob("*.parquet"))) == min(blocks, 3)  # 3 chunks
    assert not list((tmp_path / "pq").glob(".*"))  # no temporary file published
    assert in_file_order(tmp_path / "pq").equals(reference)


def test_write_sample_delta_commits_every_file_in_row_order(ray_cluster, mixed_model, reference,
                                                            tmp_path):
    import pyarrow.parquet as pq

    from synth_ray.lakehouse.writers import delta_schema
    from synth_ray.on_ray.writing import write_sample

    target = tmp_path / "delta"
    result = write_sample(mixed_model, rows=N, seed=21, path=target, blocks=3, actors=2)
    table = DeltaTable(str(target))
    assert (result.rows, result.version, table.version()) == (N, 0, 0)
    committed = sorted(Path(u.removeprefix("file://")).resolve() for u in table.file_uris())
    assert {p.resolve() for p in target.rglob("*.parquet")} == set(committed)
    got = pa.concat_tables([pq.read_table(f) for f in sorted(committed, key=lambda p: p.name)])
    assert got.equals(reference.cast(delta_schema(reference.schema)))
    again = write_sample(mixed_model, rows=1_000, seed=5, path=target, mode="append")
    assert (again.version, DeltaTable(str(target)).to_pyarrow_table().num_rows) == (1, N + 1_000)


def test_write_sample_zero_rows_is_an_empty_typed_table(ray_cluster, mixed_model, tmp_path):
    from synth_ray.on_ray.writing import write_sample

    assert write_sample(mixed_model, rows=0, path=tmp_path / "pq", format="parquet").rows == 0
    empty = synth_ray.read_table(tmp_path / "pq")
    assert (empty.num_rows, empty.schema) == (0, mixed_model.metadata.arrow_schema)
    with pytest.raises(synth_ray.SamplingError, match="got -1"):
        write_sample(mixed_model, rows=-1, path=tmp_path / "neg", format="parquet")
    assert not (tmp_path / "neg").exists()


def test_sample_dataset_leaves_the_callers_data_context_alone(ray_cluster, mixed_model):
    """Order is kept by the Dataset's own copy of the context, not by changing the caller's."""
    from ray.data import DataContext

    from synth_ray.on_ray.sampling import sample_dataset

    caller = DataContext.get_current()
    before = (caller.execution_options.preserve_order, caller.memory_usage_poll_interval_s)
    caller.execution_options.preserve_order = False
    try:
        dataset = sample_dataset(mixed_model, rows=1_000, seed=2)
        assert dataset.context.execution_options.preserve_order
        assert dataset.context.memory_usage_poll_interval_s is None
        assert DataContext.get_current().execution_options.preserve_order is False
        assert DataContext.get_current().memory_usage_poll_interval_s == before[1]
    finally:
        caller.execution_options.preserve_order = before[0]
