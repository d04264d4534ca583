"""Model artifacts: identical after a round trip, and refused when unsafe or damaged."""

from __future__ import annotations

import json
import pickle
import shutil
import struct

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


def _reseal(folder, name: str, data: bytes) -> None:
    """Replace a model file and rewrite the manifest to match: what an attacker who can write
    the folder can always do (a checksum is not a signature), so every check after it must hold."""
    import hashlib

    (folder / name).write_bytes(data)
    manifest = json.loads((folder / "manifest.json").read_text())
    manifest["files"][name] = {"sha256": hashlib.sha256(data).hexdigest(), "bytes": len(data)}
    (folder / "manifest.json").write_text(json.dumps(manifest))


def test_symlink_pointing_outside_the_model_is_refused_unread(tmp_path, saved):
    outside = tmp_path / "outside.safetensors"  # same bytes: the checksum alone would accept it
    outside.write_bytes((saved / "tensors.safetensors").read_bytes())
    (saved / "tensors.safetensors").unlink()
    (saved / "tensors.safetensors").symlink_to(outside)
    with pytest.raises(ArtifactError, match="tensors.safetensors in model directory .* is a symbolic link"):
        synth_ray.load(saved)
    (saved / "tensors.safetensors").unlink()
    (saved / "tensors.safetensors").symlink_to("/dev/zero")  # would be read forever
    with pytest.raises(ArtifactError, match="is a symbolic link"):
        synth_ray.load(saved)


def test_fifo_in_place_of_a_model_file_is_refused_without_blocking(saved):
    import os
    import threading

    fifo = saved / "model.json"
    fifo.unlink()
    os.mkfifo(fifo)  # reading it blocks the loader until someone writes
    done = threading.Event()

    def unblock() -> None:  # should the loader open the FIFO (a regression), feed it and fail the test
        while not done.wait(0.05):
            try:
                writer = os.open(fifo, os.O_WRONLY | os.O_NONBLOCK)
            except OSError:
                continue  # no reader yet
            os.write(writer, b"{}")
            os.close(writer)
            return

    threading.Thread(target=unblock, daemon=True).start()
    try:
        with pytest.raises(ArtifactError, match="model.json in model directory .* is not a regular file"):
            synth_ray.load(saved)
    finally:
        done.set()


def test_oversized_planted_file_is_refused_before_it_is_read(saved):
    with (saved / "tensors.safetensors").open("r+b") as handle:
        handle.truncate(2**30)  # 1 GiB (sparse) stands for any size: it must not be read at all
    with pytest.raises(ArtifactError, match=r"tensors.safetensors .* has 1073741824 bytes, the manifest says"):
        synth_ray.load(saved)


def _safetensors(header: dict, data: bytes) -> bytes:
    text = json.dumps(header).encode()
    return struct.pack("<Q", len(text)) + text + data


@pytest.mark.parametrize(("forged", "expected"), [
    (struct.pack("<Q", 2**60) + b"{}", "header too large"),  # an 8 EiB header length
    (struct.pack("<Q", 100) + b'{"cholesky": {"dtype": "F64"', "invalid header length"),  # cut short
    (struct.pack("<Q", 28) + b'{"cholesky": {"dtype": "F64"', "invalid JSON in header"),
    (_safetensors({"cholesky": {"dtype": "F64", "shape": [10**9], "data_offsets": [0, 8 * 10**9]}},
                  bytes(16)), "file not fully covered"),  # claims 8 GB of data that is not there
    (_safetensors({"cholesky": {"dtype": "F64", "shape": [2], "data_offsets": [0, 16]}}, bytes(16)),
     "KeyError"),  # well formed, but not this model's tensors
])
def test_forged_safetensors_headers_are_refused(saved, forged, expected):
    _reseal(saved, "tensors.safetensors", forged)
    with pytest.raises(ArtifactError, match=f"malformed .*{expected}"):
        synth_ray.load(saved)


@pytest.mark.parametrize(("edit", "expected"), [
    (lambda d: d.update({"py/object": "os.system"}), "unknown key 'py/object'"),
    (lambda d: d.update({"__reduce__": ["os.system", ["touch {marker}"]]}), "unknown key '__reduce__'"),
    (lambda d: d.update({"model": "__import__('os').system('touch {marker}')"}), "unknown model"),
    (lambda d: d["transforms"]["columns"][0].update({"transform": "builtins.eval"}), "malformed .*KeyError"),
    (lambda d: d["training"].update({"__class__": "os.system"}), "malformed .*TypeError"),
    (lambda d: d["metadata"]["columns"][0].update({"kind": "!!python/object/apply:os.system"}),
     "malformed .*ValueError"),
])
def test_code_like_fields_in_model_json_are_refused_and_never_run(tmp_path, saved, edit, expected):
    marker = tmp_path / "pwned"
    document = json.loads((saved / "model.json").read_text())
    edit(document)
    text = json.dumps(document).replace("{marker}", str(marker))
    _reseal(saved, "model.json", text.encode())
    with pytest.raises(ArtifactError, match=expected):
        synth_ray.load(saved)
    assert not marker.exists()
