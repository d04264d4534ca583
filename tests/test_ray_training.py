"""Fitting with Ray Train on the session's real local Ray (2 CPUs): DDP, shards, checkpoints, faults.

Ray Train's worker start-up dominates on 2 shared cores, so the file runs two Ray Train
fits, both CTGAN with 2 workers on the same Parquet file, spec and seed: one through the
``synth-ray fit --engine ray`` CLI (uninterrupted; its saved model is what the Great
Expectations gate and the constraint checks use), and one through the API with worker 1
killed (SIGKILL) before epoch 3. The K=1 reference is a local in-process fit with the
same seed and epochs: one process, the whole table, the same global batch and steps per
epoch, the same training loop. Nothing is mocked.
"""

from __future__ import annotations

import json
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
COMBINATION = ["cut", "color", "clarity"]
SPEC = {"constraints": [{"type": "inequality", "low": "depth", "high": "price"},
                        {"type": "fixed_combinations", "columns": COMBINATION}]}
# A 6-epoch CTGAN (60 steps) is not a finished model: its columns are still nearly
# independent, so the pair checks are switched off (a change of 2 is the most Pearson's r
# can move) and the distribution checks get room; the no-copied-rows check keeps its
# default (not a single copied row). The test is about the profile, not the model.
LOOSE = {"max_ks": 0.3, "max_tv": 0.3, "max_association_delta": 2.0, "null_fraction_slack": 0.05}


def quality(real: pd.DataFrame, synth: synth_ray.Synthesizer) -> float:
    return synth_ray.quality_score(real, synth.sample(5_000, seed=1), synth.metadata).score


@pytest.fixture(scope="module")
def storage(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("ray-train")


@pytest.fixture(scope="module")
def source(diamonds, storage) -> Path:
    path = storage / "diamonds.parquet"
    pq.write_table(to_arrow(diamonds), path)
    (storage / "spec.json").write_text(json.dumps(SPEC))
    return path


@pytest.fixture(scope="module")
def cli_model_dir(ray_cluster, source, storage) -> Path:
    """The uninterrupted K=2 fit, through the CLI; its saved model directory."""
    from synth_ray.cli.main import main

    code = main(["fit", str(source), "--out", str(storage / "model"), "--model", "ctgan",
                 "--engine", "ray", "--workers", "2", "--epochs", str(EPOCHS), "--seed", str(SEED),
                 "--spec", str(storage / "spec.json"), "-q"])
    assert code == 0
    return storage / "model"


@pytest.fixture(scope="module")
def two_workers(cli_model_dir) -> synth_ray.Synthesizer:
    return synth_ray.load(cli_model_dir)


@pytest.fixture(scope="module")
def killed(ray_cluster, source, storage) -> tuple[synth_ray.Synthesizer, Path]:
    from synth_ray.on_ray.training import fit_on_ray
    from synth_ray.on_ray.training_worker import KillWorkerDrill

    marker = storage / "killed-marker"
    drill = KillWorkerDrill(rank=1, epoch=3, marker=str(marker))
    synth = fit_on_ray(source, model="ctgan", workers=2, epochs=EPOCHS, seed=SEED, spec=SPEC,
                       storage_path=storage / "killed", name="run", max_failures=1, drill=drill)
    return synth, marker


@pytest.fixture(scope="module")
def local_fit(diamonds) -> synth_ray.Synthesizer:
    """K=1: the same model, seed and epochs fitted in this process."""
    return synth_ray.fit(diamonds, model="ctgan", spec=SPEC, seed=SEED,
                         options={"epochs": EPOCHS})


def test_cli_fit_trains_every_epoch_on_two_shards_and_records_the_stats_sample(two_workers):
    history = two_workers.generator.history
    assert len(history["losses"]) == EPOCHS
    # 250 rows per worker and step: each worker draws from its own shard, half the global
    # batch; DDP kept both workers' weights identical (an all-reduce check at the end).
    assert history["ray"] == {"workers": 2, "rows_per_worker_step": 250, "steps_per_epoch": 10,
                              "start_epochs": [0], "replicas_identical": True}
    info = two_workers.training
    assert (info.rows, info.stats_rows) == (5_000, 5_000)  # the default bound exceeds the table
    assert two_workers.reference is not None and two_workers.reference.rows == 5_000


def test_killed_worker_resumes_from_its_last_checkpoint_not_from_scratch(two_workers, killed,
                                                                         storage):
    synth, marker = killed
    assert marker.read_text().startswith("killed worker 1")  # a real SIGKILL happened
    ray_info = synth.generator.history["ray"]
    assert ray_info["start_epochs"] == [0, 3]  # attempt 2 started at epoch 3, not 0
    assert len(synth.generator.history["losses"]) == EPOCHS
    # Resuming restores weights, optimiser moments and every worker's random stream, and
    # the shards are the same: the resumed fit is the uninterrupted (CLI) fit, bit for bit.
    for key, value in two_workers.generator.tensors().items():
        np.testing.assert_array_equal(synth.generator.tensors()[key], value, err_msg=key)
    # Every checkpoint left in storage is safetensors + JSON (no pickles).
    files = [p for p in (storage / "killed" / "run").glob("checkpoint_*/*") if p.is_file()]
    assert files and {p.suffix for p in files} <= {".json", ".safetensors"}


def test_two_workers_reach_the_quality_of_one_process(diamonds, two_workers, local_fit):
    two, one = quality(diamonds, two_workers), quality(diamonds, local_fit)
    baseline = synth_ray.quality_score(diamonds, uniform_baseline(diamonds),
                                       two_workers.metadata).score
    assert min(one, two) > baseline + 0.05, (one, two, baseline)
    assert abs(one - two) < 0.05, (one, two)


def test_spec_constraints_hold_in_every_sampled_row(two_workers, diamonds):
    assert two_workers.constraints.reparametrised == (0,)  # depth <= price learned as a difference
    sample = two_workers.sample(3_000, seed=4)
    assert (sample["depth"] <= sample["price"]).all()
    real = set(diamonds[COMBINATION].astype(str).itertuples(index=False, name=None))
    assert set(sample[COMBINATION].astype(str).itertuples(index=False, name=None)) <= real


def test_gate_passes_its_own_sample_and_flags_copied_training_rows(two_workers, cli_model_dir,
                                                                   diamonds):
    from expectations import validate_synthetic

    sample = two_workers.sample(2_000, seed=5)
    result = validate_synthetic(sample, model_dir=cli_model_dir, thresholds=LOOSE)
    assert result.success, result.summary
    copied = sample.copy()
    copied.iloc[:20] = diamonds.iloc[-20:].to_numpy()  # real rows, from the end of the table
    failed = validate_synthetic(copied, model_dir=cli_model_dir, thresholds=LOOSE)
    assert not failed.success
    assert any("expect_no_rows_copied_from_training" in f for f in failed.failures), failed.summary


def test_row_hashes_cover_every_block_of_the_table_exactly_like_a_local_profile(ray_cluster,
                                                                                 diamonds):
    from synth_ray.evaluation.row_hashes import row_hashes
    from synth_ray.on_ray.training_stats import reference_profile, salted_row_hashes
    from synth_ray.reference_profile import salt_hashes

    table = to_arrow(diamonds)
    metadata = synth_ray.infer_metadata(table)
    blocks = ray_cluster.data.from_arrow([table.slice(0, 1_000), table.slice(1_000, 3_000),
                                          table.slice(4_000)])
    salt = "0123456789abcdef0123456789abcdef"
    hashed = salted_row_hashes(blocks, metadata, rows=table.num_rows, salt=salt)
    names = [c.name for c in metadata if c.learned]
    assert hashed is not None and hashed.coverage == 1.0 and hashed.columns == tuple(names)
    np.testing.assert_array_equal(hashed.hashes, np.unique(salt_hashes(row_hashes(table, names),
                                                                       salt)))
    # Statistics from a 700-row sample, hashes from all 5,000 rows.
    profile = reference_profile(blocks, table.slice(0, 700), metadata, rows=5_000, seed=1)
    assert profile.rows == 5_000 and profile.row_hashes is not None
    assert len(profile.row_hashes.hashes) == len(hashed.hashes)


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
