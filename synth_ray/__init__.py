"""synth-ray: realistic, privacy-safe synthetic copies of lakehouse tables.

The public API is imported lazily, so ``import synth_ray`` stays cheap and optional
extras (Ray, Spark, Great Expectations, Airflow) are only needed by what uses them.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from synth_ray._version import __version__

if TYPE_CHECKING:
    from synth_ray.api import fit, load, sample, sample_arrow, save
    from synth_ray.datasets import load_dataset
    from synth_ray.errors import (
        ArtifactError,
        ConcurrentWriteError,
        ConfigError,
        DataError,
        InputFormatError,
        MissingExtraError,
        SamplingError,
        SchemaError,
        StorageFullError,
        SynthRayError,
    )
    from synth_ray.evaluation.evaluate import EvaluationResult, evaluate
    from synth_ray.evaluation.quality import QualityScore, quality_score
    from synth_ray.evaluation.settings import EvaluationSettings
    from synth_ray.lakehouse.readers import read_table
    from synth_ray.lakehouse.writers import write_table
    from synth_ray.metadata import ColumnKind, ColumnMetadata, PiiType, TableMetadata
    from synth_ray.metadata_inference import infer_metadata
    from synth_ray.synthesizer import Synthesizer
    from synth_ray.table_spec import TableSpec, load_table_spec

_EXPORTS = {
    "fit": "synth_ray.api", "sample": "synth_ray.api", "sample_arrow": "synth_ray.api",
    "save": "synth_ray.api", "load": "synth_ray.api",
    "Synthesizer": "synth_ray.synthesizer",
    "ColumnKind": "synth_ray.metadata", "ColumnMetadata": "synth_ray.metadata",
    "PiiType": "synth_ray.metadata", "TableMetadata": "synth_ray.metadata",
    "infer_metadata": "synth_ray.metadata_inference",
    "TableSpec": "synth_ray.table_spec", "load_table_spec": "synth_ray.table_spec",
    "read_table": "synth_ray.lakehouse.readers", "write_table": "synth_ray.lakehouse.writers",
    "QualityScore": "synth_ray.evaluation.quality", "quality_score": "synth_ray.evaluation.quality",
    "evaluate": "synth_ray.evaluation.evaluate", "EvaluationResult": "synth_ray.evaluation.evaluate",
    "EvaluationSettings": "synth_ray.evaluation.settings",
    "load_dataset": "synth_ray.datasets",
    **{name: "synth_ray.errors" for name in (
        "ArtifactError", "ConcurrentWriteError", "ConfigError", "DataError", "InputFormatError",
        "MissingExtraError", "SamplingError", "SchemaError", "StorageFullError", "SynthRayError")},
}

__all__ = [  # noqa: RUF022 - grouped as in _EXPORTS
    "__version__", "fit", "sample", "sample_arrow", "save", "load", "Synthesizer",
    "ColumnKind", "ColumnMetadata", "PiiType", "TableMetadata", "infer_metadata", "TableSpec",
    "load_table_spec", "read_table", "write_table", "QualityScore", "quality_score",
    "evaluate", "EvaluationResult", "EvaluationSettings",
    "load_dataset", "ArtifactError", "ConfigError", "DataError", "InputFormatError",
    "MissingExtraError", "SamplingError", "SchemaError", "SynthRayError", "ConcurrentWriteError",
    "StorageFullError",
]


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'synth_ray' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return __all__
