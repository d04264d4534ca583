"""Delta add actions carry exact, skipping-safe statistics read from the Parquet footers."""

from __future__ import annotations

import datetime as dt
import json

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
from deltalake import DeltaTable

from synth_ray.lakehouse.delta_stats import MAX_STRING_STAT, file_stats
from synth_ray.lakehouse.writers import write_table


def _table() -> pa.Table:
    n = 3_000
    return pa.table({
        "i": pa.array([(k * 7919) % 1000 - 500 if k % 10 else None for k in range(n)], pa.int64()),
        "f": pa.array([k / 3 if k % 4 else float("nan") for k in range(n)], pa.float64()),
        "s": pa.array([f"v{k % 37:03d}" for k in range(n)]),
        "long": pa.array(["x" * (MAX_STRING_STAT + 1)] * n),
        "d": pa.array([dt.date(2020, 1, 1) + dt.timedelta(days=k % 400) for k in range(n)]),
        "ts": pa.array([dt.datetime(2021, 1, 1) + dt.timedelta(seconds=k) for k in range(n)],
                       pa.timestamp("us")),
        "b": pa.array([k % 3 == 0 for k in range(n)]),
    })


def test_stats_are_the_true_bounds_and_null_counts(tmp_path):
    data = _table()
    path = tmp_path / "t.parquet"
    pq.write_table(data, path, row_group_size=700)  # several row groups to merge
    stats = json.loads(file_stats(path))
    assert stats["numRecords"] == data.num_rows
    assert stats["nullCount"]["i"] == data["i"].null_count == 300
    assert stats["nullCount"]["s"] == 0
    assert stats["minValues"]["i"] == pc.min(data["i"]).as_py() < -490
    assert stats["maxValues"]["i"] == pc.max(data["i"]).as_py()
    finite = pc.filter(data["f"], pc.invert(pc.is_nan(data["f"])))
    assert stats["minValues"]["f"] == pc.min(finite).as_py()
    assert stats["maxValues"]["f"] == pc.max(finite).as_py()
    assert (stats["minValues"]["s"], stats["maxValues"]["s"]) == ("v000", "v036")
    assert stats["minValues"]["d"] == "2020-01-01"
    assert stats["maxValues"]["d"] == (dt.date(2020, 1, 1) + dt.timedelta(days=399)).isoformat()
    # No exact safe bound: long strings, timestamps (ms precision in the protocol), booleans.
    for name in ("long", "ts", "b"):
        assert name not in stats["minValues"] and name not in stats["maxValues"]


def test_delta_writes_commit_the_statistics(tmp_path):
    data = _table().drop_columns(["ts"])
    target = tmp_path / "delta"
    write_table([data.slice(0, 1500), data.slice(1500)], schema=data.schema, path=target,
                format="delta")
    actions = pa.table(DeltaTable(str(target)).get_add_actions(flatten=True))
    assert sum(actions["num_records"].to_pylist()) == data.num_rows
    assert min(actions["min.i"].to_pylist()) == pc.min(data["i"]).as_py()
    assert max(actions["max.s"].to_pylist()) == "v036"
    assert sum(actions["null_count.i"].to_pylist()) == 300
    # A filtered read through the statistics gives exactly the rows a full scan gives.
    dataset = DeltaTable(str(target)).to_pyarrow_dataset()
    expected = data.filter(pc.field("i") > 400).num_rows
    assert dataset.to_table(filter=pc.field("i") > 400).num_rows == expected > 0
