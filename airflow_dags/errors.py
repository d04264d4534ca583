"""Errors of the refresh DAGs. Each tells the task's retry policy whether a retry can help."""

from __future__ import annotations

from synth_ray.errors import SynthRayError

__all__ = ["NOT_RETRYABLE", "GateFailedError"]


class GateFailedError(SynthRayError, RuntimeError):
    """The staged synthetic table failed the Great Expectations gate: nothing was published."""


# Failures that a retry would repeat identically: fail the task at once. Anything else
# (a lost Ray worker, a full disk, a busy catalog) is retried with the config's retries.
NOT_RETRYABLE = (
    "airflow_dags.errors.GateFailedError",
    "synth_ray.errors.ConfigError",
    "synth_ray.errors.SchemaError",
    "synth_ray.errors.DataError",
    "synth_ray.errors.ArtifactError",
    "synth_ray.errors.MissingExtraError",
)
