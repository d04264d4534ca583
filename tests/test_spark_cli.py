"""`synth-ray fit/sample --engine spark`, run in-process on the test session's Spark."""

from __future__ import annotations

import pyarrow.parquet as pq
from deltalake import DeltaTable

import synth_ray


def test_fit_and_sample_with_the_spark_engine(spark, mixed_table, tmp_path, capsys):
    from synth_ray.cli.main import main

    pq.write_table(mixed_table, tmp_path / "orders.parquet")
    code = main(["fit", str(tmp_path / "orders.parquet"), "--engine", "spark", "--max-rows", "400",
                 "--out", str(tmp_path / "model"), "-q"])
    assert code == 0
    assert "of 2,000 rows" in capsys.readouterr().out
    model = synth_ray.load(tmp_path / "model")
    assert model.training.source["method"] == "driver_sample" and model.training.rows <= 400
    assert spark.getActiveSession() is not None  # the CLI borrowed the session; it did not stop it

    code = main(["sample", str(tmp_path / "model"), "--rows", "2500", "--seed", "3", "--engine", "spark",
                 "--partitions", "2", "--out", str(tmp_path / "synth"), "-q"])
    assert code == 0
    assert "wrote 2,500 rows" in capsys.readouterr().out
    table = DeltaTable(str(tmp_path / "synth")).to_pyarrow_table().sort_by("order_id")
    local = model.sample_arrow(2_500, seed=3)
    assert table["amount"].to_pylist() == local["amount"].to_pylist()
    assert main(["sample", str(tmp_path / "model"), "--rows", "5", "--engine", "spark",
                 "--out", str(tmp_path / "x.csv")]) == 3  # Spark writes Delta or Parquet: a clear refusal
    assert "not 'csv'" in capsys.readouterr().err
