"""The README's main job, end to end (``synth-ray demo``)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from deltalake import DeltaTable

import synth_ray
from synth_ray.main_job import exact_copy_count, run_main_job


def test_main_job_publishes_a_synthetic_delta_table(tmp_path):
    result = run_main_job(workdir=tmp_path, dataset="wage", seed=0)
    table = DeltaTable(str(result.synthetic))
    assert table.version() == result.delta_version == 0
    synthetic = table.to_pyarrow_table()
    real = synth_ray.read_table(result.source)
    assert synthetic.num_rows == real.num_rows == 3_000
    assert synthetic.schema.names == real.schema.names
    assert result.quality > 0.85
    # Wage has few distinct values per column, so a few coincidences happen; never wholesale copies.
    assert result.exact_copies < 0.01 * real.num_rows
    again = run_main_job(workdir=tmp_path, dataset="wage", seed=0)
    assert again.delta_version == 1
    assert DeltaTable(str(result.synthetic)).to_pyarrow_table().equals(synthetic)  # same seed


def test_exact_copy_count(mixed_table):
    assert exact_copy_count(mixed_table, mixed_table.slice(0, 10)) == 10
    assert exact_copy_count(mixed_table.slice(0, 5), mixed_table.slice(5, 10)) == 0


def test_demo_command_prints_where_things_are(tmp_path):
    done = subprocess.run([str(Path(sys.executable).parent / "synth-ray"), "demo", "--workdir",
                           str(tmp_path), "--dataset", "wage", "--rows", "500"],
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert f"synthetic table {tmp_path}/lakehouse/synthetic/wage (Delta, version 0, 500 rows)" in done.stdout
    assert "quality" in done.stdout and "first synthetic rows:" in done.stdout
