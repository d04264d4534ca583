"""The exceptions synth-ray raises.

Every error a user can cause derives from :class:`SynthRayError` and from the
built-in exception a caller would naturally catch (``ValueError``, ``OSError``...),
so ``except ValueError`` keeps working. Messages name the column or value at fault
and say what to do about it.
"""

from __future__ import annotations

__all__ = [
    "ArtifactError",
    "ConcurrentWriteError",
    "ConfigError",
    "DataError",
    "InputFormatError",
    "MissingExtraError",
    "SamplingError",
    "SchemaError",
    "StorageFullError",
    "SynthRayError",
]


class SynthRayError(Exception):
    """Base class of every error synth-ray raises on purpose."""


class SchemaError(SynthRayError, ValueError):
    """The table's columns or types cannot be used as they are (duplicate names, mixed types...)."""


class DataError(SynthRayError, ValueError):
    """The table's values cannot be learned from (no rows, infinite values...)."""


class ConfigError(SynthRayError, ValueError):
    """A table spec, model config or argument is malformed (unknown key, wrong type, bad value)."""


class SamplingError(SynthRayError, ValueError):
    """A sampling request is invalid (negative rows, bad range, unknown condition)."""


class ArtifactError(SynthRayError, ValueError):
    """A model artifact is missing, corrupt, tampered with, or written by a newer synth-ray."""


class InputFormatError(SynthRayError, OSError):
    """A table could not be read or written in the requested format."""


class MissingExtraError(SynthRayError, ImportError):
    """An optional dependency is not installed; the message names the extra to install."""

    def __init__(self, *, package: str, extra: str, feature: str) -> None:
        super().__init__(
            f"{feature} needs the optional package '{package}', which is not installed. "
            f"Install it with: pip install 'synth-ray[{extra}]'"
        )
        self.package = package
        self.extra = extra


class ConcurrentWriteError(SynthRayError, OSError):
    """Another process is writing the same table, or committed to it while this write ran.

    Nothing of this write was published; a retry (an Airflow task retry) writes on top of
    whatever the other writer published.
    """


class StorageFullError(SynthRayError, OSError):
    """The file system filled up (or a file size limit was hit) while writing a table.

    The message names the path; the partial files were removed and the published table
    was left as it was.
    """
