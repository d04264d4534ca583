"""Models loaded once per Python worker, from the bytes shipped in a task's closure.

Spark reuses its Python workers across tasks (``spark.python.worker.reuse``, on by
default), so a model kept in this module's cache is loaded once per worker process,
not once per task or batch. Entries are keyed by the sha256 of the model's manifest,
which lists the checksum of every other file (a load verifies them), and only the most
recently used few are kept, so a long-lived worker serving many models stays bounded.
"""

from __future__ import annotations

import hashlib
import threading
from collections import OrderedDict
from collections.abc import Mapping
from typing import TYPE_CHECKING

from synth_ray.artifacts import MANIFEST, load_model_files
from synth_ray.errors import ArtifactError

if TYPE_CHECKING:
    from synth_ray.synthesizer import Synthesizer

__all__ = ["MAX_CACHED_MODELS", "cached_model", "loads_in_this_process"]

MAX_CACHED_MODELS = 4

_models: OrderedDict[str, Synthesizer] = OrderedDict()
_lock = threading.Lock()
_loads = [0]


def cached_model(files: Mapping[str, bytes]) -> Synthesizer:
    """The model whose files are ``files``, loaded (with every check) at most once here.

    Raises:
        ArtifactError: the files are not a loadable model.
    """
    manifest = files.get(MANIFEST)
    if manifest is None:
        raise ArtifactError(f"the shipped model has no {MANIFEST}: ship synth_ray.artifacts.model_files()")
    key = hashlib.sha256(manifest).hexdigest()
    with _lock:
        model = _models.get(key)
        if model is None:
            model = load_model_files(files, where="the model shipped to this Spark worker")
            _loads[0] += 1
            _models[key] = model
            while len(_models) > MAX_CACHED_MODELS:
                _models.popitem(last=False)
        _models.move_to_end(key)
        return model


def loads_in_this_process() -> int:
    """How many models this process has loaded (what the cache exists to keep small)."""
    return _loads[0]
