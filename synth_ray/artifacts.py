"""Model artifacts that are safe to load: safetensors for arrays, JSON for the rest.

A model directory holds exactly three files::

    manifest.json        format name and version, synth-ray version, sha256 and size of each file
    model.json           metadata, transform parameters, generator config, training info
    tensors.safetensors  the generator's arrays

and, for models fitted since the quality gate exists, the real table's reference profile
(:mod:`synth_ray.reference_profile`): ``reference_profile.json`` and
``reference_hashes.safetensors``. Older models without them still load.

Loading never unpickles and never imports code named by the files. It refuses a
directory with unexpected files, a checksum or size mismatch, malformed JSON, or a
format version newer than this synth-ray reads, each with a message saying what to do.
Saving writes to a temporary sibling directory and renames it into place.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import stat
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from synth_ray._version import __version__
from synth_ray.errors import ArtifactError, SynthRayError
from synth_ray.file_modes import publishable

if TYPE_CHECKING:
    from synth_ray.synthesizer import Synthesizer

__all__ = [
    "FORMAT_NAME", "FORMAT_VERSION", "load_model", "load_model_files", "model_files",
    "read_model_files", "save_model",
]

FORMAT_NAME = "synth-ray-model"
FORMAT_VERSION = 1
MANIFEST = "manifest.json"
MODEL_JSON = "model.json"
TENSORS = "tensors.safetensors"
_REFERENCE = frozenset({"reference_profile.json", "reference_hashes.safetensors"})


_DOCUMENT_KEYS = ("model", "model_config", "model_columns", "chunk_rows", "schema_fingerprint",
                  "metadata", "transforms", "training", "constraints")


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _model_document(synth: Synthesizer) -> dict[str, Any]:
    return {
        "model": synth.training.model,
        "model_config": synth.generator.config(),
        "model_columns": [c.to_dict() for c in synth.generator.columns],
        "chunk_rows": synth.chunk_rows,
        "schema_fingerprint": synth.metadata.schema_fingerprint(),
        "metadata": synth.metadata.to_dict(),
        "transforms": synth.transformer.to_dict(),
        "training": synth.training.to_dict(),
        **({"constraints": synth.constraints.to_dict()} if synth.constraints else {}),
    }


def model_files(synth: Synthesizer) -> dict[str, bytes]:
    """The model's files as bytes: what ``save_model`` writes and what Ray and Spark ship.

    Keeping the artifact in memory lets executors load a model shipped inside a task
    closure (Spark Connect has no broadcast) through exactly the checks a directory gets.
    """
    from safetensors.numpy import save

    document = json.dumps(_model_document(synth), ensure_ascii=False, indent=1).encode("utf-8")
    tensors = save({k: np.ascontiguousarray(v) for k, v in synth.generator.tensors().items()},
                   metadata={"format": FORMAT_NAME})
    files = {MODEL_JSON: document, TENSORS: tensors}
    if synth.reference is not None:
        files.update(synth.reference.to_files())
    manifest = {"format": FORMAT_NAME, "format_version": FORMAT_VERSION,
                "synth_ray_version": __version__,
                "files": {n: {"sha256": _sha256(b), "bytes": len(b)} for n, b in files.items()}}
    return {MANIFEST: json.dumps(manifest, indent=1).encode("utf-8"), **files}


def save_model(synth: Synthesizer, path: str | Path) -> Path:
    """Write ``synth`` to the directory ``path``, replacing a model already there.

    Raises:
        ArtifactError: ``path`` is a file, or a non-empty directory that is not a model.
    """
    target = Path(path)
    if target.exists() and not target.is_dir():
        raise ArtifactError(f"{str(target)!r} is a file; give a directory path for the model")
    if target.is_dir() and any(target.iterdir()) and not (target / MANIFEST).is_file():
        raise ArtifactError(
            f"{str(target)!r} is a non-empty directory that holds no synth-ray model; "
            "choose an empty or new directory so that nothing of yours is overwritten"
        )
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{target.name}.saving-", dir=target.parent))
    try:
        for name, data in model_files(synth).items():
            (staging / name).write_bytes(data)
        publishable(staging)
        if target.exists():
            retired = Path(tempfile.mkdtemp(prefix=f".{target.name}.old-", dir=target.parent))
            os.replace(target, retired / "model")
            os.replace(staging, target)
            shutil.rmtree(retired, ignore_errors=True)
        else:
            os.replace(staging, target)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return target


def _read_manifest(data: bytes | None, where: str) -> dict[str, Any]:
    if data is None:
        raise ArtifactError(f"{where} has no {MANIFEST}: it is not a synth-ray model")
    try:
        manifest = json.loads(data)
    except (ValueError, UnicodeDecodeError) as exc:
        raise ArtifactError(f"{MANIFEST} in {where} is corrupt ({exc}); refit the model") from None
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT_NAME:
        raise ArtifactError(f"{where} is not a synth-ray model (manifest format is wrong)")
    version = manifest.get("format_version")
    if not isinstance(version, int) or version < 1:
        raise ArtifactError(f"{MANIFEST} in {where} has an invalid format_version {version!r}")
    if version > FORMAT_VERSION:
        raise ArtifactError(
            f"the model at {where} was written by synth-ray "
            f"{manifest.get('synth_ray_version')} in format version {version}; this synth-ray "
            f"{__version__} reads up to version {FORMAT_VERSION}: upgrade synth-ray to load it"
        )
    return manifest


def _check_names(names: set[str], where: str) -> None:
    extra = sorted(names - {MANIFEST, MODEL_JSON, TENSORS} - _REFERENCE)
    if extra:
        raise ArtifactError(
            f"unexpected file(s) {extra} in model directory {where}: a model holds only "
            f"{MANIFEST}, {MODEL_JSON} and {TENSORS}; remove the others (they are never loaded)"
        )


def _verify(files: Mapping[str, bytes], listed: Mapping[str, Any], where: str) -> None:
    if set(listed) not in ({MODEL_JSON, TENSORS}, {MODEL_JSON, TENSORS} | _REFERENCE):
        raise ArtifactError(f"{MANIFEST} in {where} lists {sorted(listed)}, expected "
                            f"{sorted([MODEL_JSON, TENSORS])}")
    for name, entry in listed.items():
        data = files.get(name)
        if data is None:
            raise ArtifactError(f"{name} is missing from model directory {where}; refit or re-copy it")
        if not isinstance(entry, Mapping) or (len(data), _sha256(data)) != (
                entry.get("bytes"), entry.get("sha256")):
            raise ArtifactError(
                f"{name} in {where} does not match its checksum in {MANIFEST}: the file is "
                "truncated, corrupt or was modified; restore it from the original save, or refit"
            )


def load_model_files(files: Mapping[str, bytes], *, where: str = "the shipped model") -> Synthesizer:
    """A model from its files' bytes (see :func:`model_files`), with every check of a load.

    Raises:
        ArtifactError: missing, corrupt, tampered, or newer-format artifact.
    """
    from safetensors import SafetensorError
    from safetensors.numpy import load

    _check_names(set(files), where)
    manifest = _read_manifest(files.get(MANIFEST), where)
    _verify(files, manifest.get("files") or {}, where)
    try:
        listed = set(manifest.get("files") or {})
        reference = {n: files[n] for n in _REFERENCE} if listed >= _REFERENCE else None
        return _build(json.loads(files[MODEL_JSON]), load(files[TENSORS]), reference)
    except SynthRayError as exc:
        raise ArtifactError(f"model at {where} cannot be loaded: {exc}") from None
    except (ValueError, KeyError, TypeError, AttributeError, SafetensorError, OSError) as exc:
        raise ArtifactError(
            f"model at {where} is malformed ({type(exc).__name__}: {exc}); refit the model"
        ) from None


def _read_regular(path: Path, where: str, *, size: Any = None) -> bytes:
    """A plain file's bytes; links, FIFOs, devices and files of the wrong size are refused unread.

    A link could make a load read any file of the machine (or ``/dev/zero`` forever), and a
    FIFO blocks: only regular files that save() could have written are read.
    """
    info = path.lstat()
    if not stat.S_ISREG(info.st_mode):
        what = "a symbolic link" if stat.S_ISLNK(info.st_mode) else "not a regular file"
        raise ArtifactError(f"{path.name} in model directory {where} is {what}: a model's files are "
                            "plain files written by save(); replace it with the original file, or refit")
    if size is not None and info.st_size != size:
        raise ArtifactError(
            f"{path.name} in {where} does not match its checksum in {MANIFEST}: it has {info.st_size} "
            f"bytes, the manifest says {size!r}; the file is truncated, corrupt or was modified; "
            "restore it from the original save, or refit")
    with path.open("rb") as handle:
        return handle.read(info.st_size + 1)  # a file that grows meanwhile fails its checksum


def read_model_files(path: str | Path) -> dict[str, bytes]:
    """The files of the model directory ``path`` (unexpected files are refused unread).

    The manifest is read first and each file only if its size is the manifest's, so a
    planted multi-gigabyte file is refused without being read.
    """
    folder = Path(path)
    where = repr(str(folder))
    if not folder.is_dir():
        raise ArtifactError(
            f"no model at {where}: expected a directory written by `synth-ray fit` or save()")
    names = {p.name for p in folder.iterdir()}
    _check_names(names, where)
    if MANIFEST not in names:
        return {}  # load_model_files says it is not a model
    manifest = _read_regular(folder / MANIFEST, where)
    listed = _read_manifest(manifest, where).get("files")
    sizes = {n: e.get("bytes") for n, e in listed.items() if isinstance(e, Mapping)} \
        if isinstance(listed, Mapping) else {}
    return {MANIFEST: manifest, **{name: _read_regular(folder / name, where, size=sizes.get(name))
                                   for name in names - {MANIFEST}}}


def load_model(path: str | Path) -> Synthesizer:
    """Read the model directory ``path``.

    Raises:
        ArtifactError: missing, corrupt, tampered, or newer-format artifact.
    """
    return load_model_files(read_model_files(path), where=repr(str(Path(path))))


def _build(document: Mapping[str, Any], tensors: Mapping[str, np.ndarray],
           reference: Mapping[str, bytes] | None = None) -> Synthesizer:
    from synth_ray.config_checks import check_keys
    from synth_ray.metadata import TableMetadata
    from synth_ray.models.registry import generator_class
    from synth_ray.reference_profile import HASHES_FILE, PROFILE_FILE, ReferenceProfile
    from synth_ray.synthesizer import Synthesizer, TrainingInfo
    from synth_ray.transforms.model_frame import ModelColumn
    from synth_ray.transforms.table_transformer import TableTransformer

    check_keys(document, allowed=_DOCUMENT_KEYS, where=MODEL_JSON)  # nothing else is ever read
    metadata = TableMetadata.from_dict(document["metadata"])
    if metadata.schema_fingerprint() != document["schema_fingerprint"]:
        raise ArtifactError("the schema fingerprint does not match the stored schema")
    transformer = TableTransformer.from_dict(document["transforms"], schema=metadata.arrow_schema)
    columns = [ModelColumn.from_dict(c) for c in document["model_columns"]]
    generator = generator_class(document["model"]).from_state(
        columns=columns, config=document["model_config"], tensors=tensors
    )
    from synth_ray.constraints import ConstraintSet

    return Synthesizer(metadata=metadata, transformer=transformer, generator=generator,
                       constraints=ConstraintSet.from_dict(document.get("constraints")),
                       training=TrainingInfo(**document["training"]),
                       chunk_rows=int(document["chunk_rows"]),
                       reference=None if reference is None else ReferenceProfile.from_files(
                           reference[PROFILE_FILE], reference[HASHES_FILE],
                           schema=metadata.arrow_schema))
