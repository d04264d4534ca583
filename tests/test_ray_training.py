"""Fitting with Ray Train on the session's real local Ray (2 CPUs): DDP, shards, checkpoints, faults.

Three fits in all (Ray Train's worker start-up dominates on 2 shared cores): CTGAN with
2 workers, the same fit with worker 1 killed (SIGKILL) before epoch 3, and the same
model with 1 worker through the CLI. Nothing is mocked.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pytest
from neural_contract import uniform_baseline

import synth_ray
from synth_ray import ConfigError
from synth_ray.table_input import to_arrow

EPOCHS = 6
SEED = 3
STATS_ROWS = 4_000


def fit(diamonds: pd.DataFrame, storage: Path, **kw) -> synth_ray.Synthesizer:
    from synth_ray.on_ray.training import fit_on_ray

    return fit_on_ray(diamonds, model="ctgan", epochs=EPOCHS, seed=SEED, stats_rows=STATS_ROWS,
                      storage_path=storage, name="run", **kw)


def quality(real: pd.DataFrame, synth: synth_ray.Synthesizer) -> float:
    return synth_ray.quality_score(real, synth.sample(5_000, seed=1), synth.metadata).score


@pytest.fixture(scope="module")
def storage(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("ray-train")


@pytest.fixture(scope="module")
def two_workers(ray_cluster, diamonds, storage) -> synth_ray.Synthesizer:
    return fit(diamonds, storage / "two", workers=2)


@pytest.fixture(scope="module")
def killed(ray_cluster, diamonds, storage) -> tuple[synth_ray.Synthesizer, Path]:
    from synth_ray.on_ray.training_worker import KillWorkerDrill

    marker = storage / "killed-marker"
    drill = KillWorkerDrill(rank=1, epoch=3, marker=str(marker))
    return fit(diamonds, storage / "killed", workers=2, max_failures=1, drill=drill), marker


@pytest.fixture(scope="module")
def one_worker_cli(ray_cluster, diamonds, storage) -> synth_ray.Synthesizer:
    from synth_ray.cli.main import main

    source = storage / "diamonds.parquet"
    pq.write_table(to_arrow(diamonds), source)
    code = main(["fit", str(source), "--out", str(storage / "model"), "--model", "ctgan",
                 "--engine", "ray", "--workers", "1", "--epochs", str(EPOCHS), "--seed", str(SEED),
                 "-q"])
    assert code == 0
    return synth_ray.load(storage / "model")


def test_two_workers_train_every_epoch_on_shards_and_record_the_stats_sample(two_workers, storage):
    history = two_workers.generator.history
    assert len(history["losses"]) == EPOCHS
    # DDP kept both workers' weights identical (checked by an all-reduce at the end).
    assert history["ray"] == {"workers": 2, "rows_per_worker_step": 250, "steps_per_epoch": 10,
                              "start_epochs": [0], "replicas_identical": True}
    info = two_workers.training
    assert (info.rows, info.stats_rows) == (5_000, STATS_ROWS)
    # Every checkpoint left in storage is safetensors + JSON (no pickles).
    files = [p for p in (storage / "two" / "run").glob("checkpoint_*/*") if p.is_file()]
    assert files and {p.suffix for p in files} <= {".json", ".safetensors"}


def test_killed_worker_resumes_from_its_last_checkpoint_not_from_scratch(two_workers, killed):
    synth, marker = killed
    assert marker.read_text().startswith("killed worker 1")  # a real SIGKILL happened
    ray_info = synth.generator.history["ray"]
    assert ray_info["start_epochs"] == [0, 3]  # attempt 2 started at epoch 3, not 0
    assert len(synth.generator.history["losses"]) == EPOCHS
    # Resuming restores weights, optimiser moments and every worker's random stream, and
    # the shards are the same: the resumed fit is the uninterrupted fit, bit for bit.
    for key, value in two_workers.generator.tensors().items():
        np.testing.assert_array_equal(synth.generator.tensors()[key], value, err_msg=key)


def test_one_worker_and_two_workers_reach_the_same_quality(diamonds, two_workers, one_worker_cli):
    assert one_worker_cli.generator.history["ray"]["workers"] == 1
    assert len(one_worker_cli.generator.history["losses"]) == EPOCHS
    one, two = quality(diamonds, one_worker_cli), quality(diamonds, two_workers)
    baseline = synth_ray.quality_score(diamonds, uniform_baseline(diamonds),
                                       two_workers.metadata).score
    assert min(one, two) > baseline + 0.05, (one, two, baseline)
    assert abs(one - two) < 0.05, (one, two)


def test_saved_model_keeps_the_stats_sample_size(two_workers, tmp_path):
    two_workers.save(tmp_path / "m")
    loaded = synth_ray.load(tmp_path / "m")
    assert loaded.training.stats_rows == STATS_ROWS
    assert loaded.sample_arrow(100, seed=2).equals(two_workers.sample_arrow(100, seed=2))


def test_stats_sample_does_not_depend_on_blocks(ray_cluster, diamonds):
    from synth_ray.on_ray.training_stats import sample_table_rows

    table = to_arrow(diamonds)
    one = sample_table_rows(ray_cluster.data.from_arrow(table), rows=700, seed=5)
    three = sample_table_rows(ray_cluster.data.from_arrow(
        [table.slice(0, 1_000), table.slice(1_000, 3_000), table.slice(4_000)]), rows=700, seed=5)
    assert one.num_rows == 700
    assert one.equals(three)


@pytest.mark.parametrize(("kw", "match"), [
    ({"workers": 3}, "need 3 CPUs but the Ray cluster has 2"),
    ({"workers": 0}, "workers must be an integer >= 1"),
    ({"model": "copula"}, "fit the copula with synth_ray.fit"),
    ({"options": {"validation_fraction": 0.1}}, "leave validation_fraction and patience at 0"),
    ({"options": {"batch_size": 10}, "workers": 2}, "leaves 0 rows per worker"),
    ({"use_gpu": True}, "needs 1 GPU"),
])
def test_bad_requests_are_refused_before_training(ray_cluster, diamonds, kw, match):
    from synth_ray.on_ray.training import fit_on_ray

    with pytest.raises(ConfigError, match=match):
        fit_on_ray(diamonds.head(50), **kw)
