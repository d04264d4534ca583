"""Model artifacts: identical after a round trip, and refused when unsafe or damaged."""

from __future__ import annotations

import json
import pickle
import shutil

import pytest
from safetensors.numpy import load_file

import synth_ray
from synth_ray import ArtifactError
from synth_ray.artifacts import FORMAT_VERSION


@pytest.fixture
def saved(tmp_path, mixed_model):
    return mixed_model.save(tmp_path / "model")


def test_round_trip_samples_identically(saved, mixed_model):
    loaded = synth_ray.load(saved)
    assert loaded.sample_arrow(5_000, seed=4).equals(mixed_model.sample_arrow(5_000, seed=4))
    assert loaded.metadata == mixed_model.metadata
    assert loaded.training == mixed_model.training


def test_layout_is_json_and_safetensors_only(saved):
    assert sorted(p.name for p in saved.iterdir()) == [
        "manifest.json", "model.json", "reference_hashes.safetensors", "reference_profile.json",
        "tensors.safetensors"]
    manifest = json.loads((saved / "manifest.json").read_text())
    assert manifest["format_version"] == FORMAT_VERSION
    assert manifest["synth_ray_version"] == synth_ray.__version__
    assert set(manifest["files"]) == {"model.json", "tensors.safetensors", "reference_profile.json",
                                      "reference_hashes.safetensors"}
    document = json.loads((saved / "model.json").read_text())
    assert document["schema_fingerprint"] == synth_ray.load(saved).metadata.schema_fingerprint()
    assert "cholesky" in load_file(str(saved / "tensors.safetensors"))


def test_save_replaces_a_model_but_not_other_folders(tmp_path, mixed_model):
    target = mixed_model.save(tmp_path / "m")
    mixed_model.save(target)  # replacing a model is fine
    other = tmp_path / "mine"
    other.mkdir()
    (other / "notes.txt").write_text("keep me")
    with pytest.raises(ArtifactError, match="holds no synth-ray model"):
        mixed_model.save(other)
    assert (other / "notes.txt").read_text() == "keep me"


def test_planted_pickle_is_refused_and_never_loaded(saved):
    class Boom:
        def __reduce__(self):
            return (exec, ("raise SystemExit('pickle was executed')",))

    (saved / "extra.pkl").write_bytes(pickle.dumps(Boom()))
    with pytest.raises(ArtifactError, match=r"unexpected file\(s\) \['extra.pkl'\]"):
        synth_ray.load(saved)


def test_tensors_replaced_by_a_pickle_are_refused(saved):
    (saved / "tensors.safetensors").write_bytes(pickle.dumps({"cholesky": [1.0]}))
    with pytest.raises(ArtifactError, match="does not match its checksum"):
        synth_ray.load(saved)


def test_truncated_file_is_refused(saved):
    data = (saved / "tensors.safetensors").read_bytes()
    (saved / "tensors.safetensors").write_bytes(data[: len(data) // 2])
    with pytest.raises(ArtifactError, match="truncated, corrupt or was modified"):
        synth_ray.load(saved)


def test_tampered_json_is_refused(saved):
    path = saved / "model.json"
    path.write_text(path.read_text().replace('"copula"', '"ctgan"', 1))
    with pytest.raises(ArtifactError, match="does not match its checksum"):
        synth_ray.load(saved)


def test_consistent_but_malformed_document_is_refused(saved):
    import hashlib

    path = saved / "model.json"
    document = json.loads(path.read_text())
    del document["transforms"]
    path.write_text(json.dumps(document))
    manifest = json.loads((saved / "manifest.json").read_text())
    manifest["files"]["model.json"] = {"sha256": hashlib.sha256(path.read_bytes()).hexdigest(),
                                       "bytes": path.stat().st_size}
    (saved / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(ArtifactError, match="malformed"):
        synth_ray.load(saved)


def test_newer_format_is_refused_with_upgrade_advice(saved):
    manifest = json.loads((saved / "manifest.json").read_text())
    manifest["format_version"] = FORMAT_VERSION + 1
    manifest["synth_ray_version"] = "9.0.0"
    (saved / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(ArtifactError, match="synth-ray 9.0.0 .* upgrade synth-ray"):
        synth_ray.load(saved)


def test_corrupt_manifest_and_missing_model(tmp_path, saved):
    (saved / "manifest.json").write_text("{not json")
    with pytest.raises(ArtifactError, match="corrupt"):
        synth_ray.load(saved)
    with pytest.raises(ArtifactError, match="no model at"):
        synth_ray.load(tmp_path / "nowhere")
    shutil.rmtree(saved)
    saved.mkdir()
    with pytest.raises(ArtifactError, match="not a synth-ray model"):
        synth_ray.load(saved)


def test_in_memory_files_round_trip_with_the_same_checks(mixed_model):
    from synth_ray.artifacts import load_model_files, model_files

    files = model_files(mixed_model)
    assert set(files) == {"manifest.json", "model.json", "tensors.safetensors",
                          "reference_profile.json", "reference_hashes.safetensors"}
    loaded = load_model_files(files)
    assert loaded.sample_arrow(1_000, seed=2).equals(mixed_model.sample_arrow(1_000, seed=2))
    damaged = {**files, "tensors.safetensors": files["tensors.safetensors"][:-8]}
    with pytest.raises(ArtifactError, match="does not match its checksum"):
        load_model_files(damaged)
