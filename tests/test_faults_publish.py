"""A refresh killed while publishing, and two refreshes of one table at once (real processes).

Each refresh is ``synth-ray sample`` in a child process (tests/fault_child.py) overwriting
an existing Delta table or Parquet folder, SIGKILLed at a chosen point: while the data
file is half written, just before the commit / folder exchange, just after it, and (the
Parquet fallback where the OS has no atomic exchange) between its two renames. The
published table must then read as entirely the old rows or entirely the new ones, and a
rerun must complete. Nothing is simulated: the kill is a real SIGKILL, so no ``finally``
and no cleanup runs in the killed process.
"""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from pathlib import Path

import pyarrow as pa
import pytest
from deltalake import DeltaTable

import synth_ray
from synth_ray.cli.main import main as synth_ray_main

CHILD = Path(__file__).with_name("fault_child.py")
ROWS = 200_000  # four chunks of 65,536 rows: four batches, so a write can die half done
OLD, NEW, OTHER = 1, 2, 3


@pytest.fixture(scope="module")
def model_dir(diamonds_model, tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("faults") / "model"
    diamonds_model.save(path)
    return path


def sample_args(model_dir: Path, target: Path, fmt: str, seed: int) -> list[str]:
    return [str(model_dir), "--rows", str(ROWS), "--out", str(target), "--format", fmt,
            "--seed", str(seed), "--threads", "1", "-q"]


def refresh(model_dir: Path, target: Path, fmt: str, seed: int) -> None:
    """A refresh that runs to its end, in this process."""
    assert synth_ray_main(["sample", *sample_args(model_dir, target, fmt, seed)]) == 0


def start_child(model_dir: Path, target: Path, fmt: str, seed: int, point: str,
                marker: Path) -> subprocess.Popen[str]:
    return subprocess.Popen([sys.executable, str(CHILD), point, str(marker), "--",
                             *sample_args(model_dir, target, fmt, seed)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def killed_refresh(model_dir: Path, target: Path, fmt: str, point: str, tmp_path: Path) -> None:
    marker = tmp_path / f"{point}.marker"
    child = start_child(model_dir, target, fmt, NEW, point, marker)
    _, err = child.communicate(timeout=120)
    assert child.returncode == -signal.SIGKILL, err  # really killed, not failed
    assert marker.read_text() == point  # ... at the point this case is about


@pytest.fixture(scope="module")
def tables(model_dir, tmp_path_factory) -> dict[tuple[str, int], pa.Table]:
    """The old and new rows of each format, as an undisturbed refresh publishes them."""
    root = tmp_path_factory.mktemp("undisturbed")
    out = {}
    for fmt in ("delta", "parquet"):
        for seed in (OLD, NEW, OTHER):
            refresh(model_dir, root / f"{fmt}-{seed}", fmt, seed)
            out[fmt, seed] = synth_ray.read_table(root / f"{fmt}-{seed}")
    assert not out["delta", OLD].equals(out["delta", NEW])
    return out


def debris(target: Path) -> list[str]:
    """What writers left beside a folder table: staging, retired folders, lock files."""
    return sorted(p.name for p in target.parent.iterdir() if p.name.startswith(f".{target.name}."))


CASES = [("delta", "mid-write", OLD), ("delta", "before-publish", OLD),
         ("delta", "after-publish", NEW), ("parquet", "mid-write", OLD),
         ("parquet", "before-publish", OLD), ("parquet", "after-publish", NEW)]


@pytest.mark.parametrize(("fmt", "point", "visible"), CASES)
def test_killed_refresh_leaves_old_or_new_table_and_a_rerun_completes(model_dir, tables, tmp_path,
                                                                      fmt, point, visible):
    target = tmp_path / "table"
    refresh(model_dir, target, fmt, OLD)
    killed_refresh(model_dir, target, fmt, point, tmp_path)
    assert synth_ray.read_table(target).equals(tables[fmt, visible])  # whole old or whole new
    if fmt == "delta":
        assert DeltaTable(str(target)).version() == (1 if visible == NEW else 0)
    refresh(model_dir, target, fmt, NEW)  # the rerun completes
    assert synth_ray.read_table(target).equals(tables[fmt, NEW])
    if fmt == "parquet":
        assert debris(target) == []  # the killed writer's staging/retired folders are gone
    else:  # the killed write's files are in no version: readers never see them
        table = DeltaTable(str(target))
        live = {Path(u.removeprefix("file://")).resolve() for u in table.file_uris()}
        on_disk = {p.resolve() for p in target.rglob("*.parquet")}
        assert live <= on_disk and table.version() in (1, 2)


def test_killed_between_the_renames_of_the_fallback_swap_is_repaired(model_dir, tables, tmp_path):
    """Without an atomic exchange the swap is two renames; a kill between them is repaired."""
    target = tmp_path / "table"
    refresh(model_dir, target, "parquet", OLD)
    killed_refresh(model_dir, target, "parquet", "mid-swap", tmp_path)
    assert not target.exists()  # the documented window: the old folder is aside ...
    assert [n for n in debris(target) if ".old-" in n]
    assert synth_ray.read_table(target).equals(tables["parquet", OLD])  # ... a reader puts it back
    assert target.is_dir()
    refresh(model_dir, target, "parquet", NEW)
    assert synth_ray.read_table(target).equals(tables["parquet", NEW]) and debris(target) == []


def wait_for(path: Path, text: str, child: subprocess.Popen[str]) -> None:
    deadline = time.monotonic() + 120
    while not (path.exists() and path.read_text() == text):
        assert child.poll() is None, child.communicate()
        assert time.monotonic() < deadline, f"{path} never said {text!r}"
        time.sleep(0.05)


def test_two_delta_refreshes_at_once_one_commits_the_other_fails_cleanly(model_dir, tables,
                                                                        tmp_path):
    target = tmp_path / "table"
    refresh(model_dir, target, "delta", OLD)
    seeds = {NEW: tmp_path / "a.marker", OTHER: tmp_path / "b.marker"}
    children = {seed: start_child(model_dir, target, "delta", seed, "hold", marker)
                for seed, marker in seeds.items()}
    for seed, marker in seeds.items():  # both wrote their files and wait at the commit
        wait_for(marker, "waiting", children[seed])
    for marker in seeds.values():  # released together
        Path(f"{marker}.go").touch()
    results = {seed: (child.wait(timeout=120), child.communicate()[1]) for seed, child in children.items()}
    winners = [seed for seed, (code, _) in results.items() if code == 0]
    assert len(winners) == 1, results
    [(code, err)] = [r for seed, r in results.items() if seed not in winners]
    assert code == 3 and "another process committed to the Delta table at" in err, err
    assert str(target) in err and "rerun it" in err
    table = DeltaTable(str(target))
    assert table.version() == 1  # exactly one commit on top of the old version
    assert synth_ray.read_table(target).equals(tables["delta", winners[0]])  # the winner's rows
    assert len(list(target.glob("write-*"))) == 2  # the loser's staged files were removed


def test_two_parquet_refreshes_at_once_the_second_fails_at_once(model_dir, tables, tmp_path):
    target = tmp_path / "table"
    refresh(model_dir, target, "parquet", OLD)
    marker = tmp_path / "a.marker"
    first = start_child(model_dir, target, "parquet", NEW, "hold", marker)
    wait_for(marker, "waiting", first)  # staged, holding the lock, about to swap
    second = subprocess.run([sys.executable, "-m", "synth_ray", "sample",
                             *sample_args(model_dir, target, "parquet", OTHER)],
                            capture_output=True, text=True, timeout=120)
    assert second.returncode == 3, second.stderr
    assert f"the table at {str(target)!r} is being written by pid {first.pid}" in second.stderr
    assert synth_ray.read_table(target).equals(tables["parquet", OLD])  # untouched meanwhile
    Path(f"{marker}.go").touch()
    assert first.wait(timeout=120) == 0, first.communicate()
    assert synth_ray.read_table(target).equals(tables["parquet", NEW])
    assert debris(target) == []


def dag_config(tmp_path: Path, fmt: str) -> Path:
    import yaml

    config = {"name": "faults", "source": {"format": "delta", "path": str(tmp_path / "real")},
              "target": {"format": fmt, "path": str(tmp_path / "synthetic")}, "rows": ROWS,
              "sampling_engine": "local", "schedule": None}
    path = tmp_path / "faults.yaml"
    path.write_text(yaml.safe_dump(config), encoding="utf-8")
    return path


def staged(diamonds_model, config, staging: Path, seed: int) -> pa.Table:
    """The DAG's sample step (the target's types, Parquet in the run's staging folder)."""
    import pyarrow.parquet as pq

    from airflow_dags.engines import sample_to_staging

    sample_to_staging(diamonds_model, config, staging=staging, seed=seed)
    return pq.read_table(staging)


@pytest.mark.parametrize("fmt", ["delta", "parquet"])
@pytest.mark.parametrize("point", ["before-publish", "after-publish"])
def test_dag_publish_step_killed_is_completed_by_its_retry(diamonds_model, tmp_path, fmt, point):
    from airflow_dags.config import load_table_config
    from airflow_dags.publish import publish

    config_path = dag_config(tmp_path, fmt)
    config, target = load_table_config(config_path), tmp_path / "synthetic"
    old = staged(diamonds_model, config, tmp_path / "staging-1", OLD)
    publish(config, staging=tmp_path / "staging-1", run="20250301T000000Z", seed=OLD)
    staging = tmp_path / "staging-2"
    new = staged(diamonds_model, config, staging, NEW)
    marker = tmp_path / "publish.marker"
    child = subprocess.Popen([sys.executable, str(CHILD), point, str(marker), "--", "--publish",
                              str(config_path), str(staging), "20250302T000000Z", str(NEW)],
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    _, err = child.communicate(timeout=120)
    assert child.returncode == -signal.SIGKILL and marker.read_text() == point, err
    assert synth_ray.read_table(target).equals(old if point == "before-publish" else new)
    assert list(staging.glob("*.parquet"))  # linked, not moved: the staged rows are still there
    result = publish(config, staging=staging, run="20250302T000000Z", seed=NEW)  # the task's retry
    assert result.rows == ROWS and not result.already_published
    assert synth_ray.read_table(target).equals(new)
    if fmt == "parquet":
        assert debris(target) == []
    else:  # v0 the first run; v1 the killed publish's commit (if it got there); then the retry
        assert DeltaTable(str(target)).version() == (1 if point == "before-publish" else 2)
