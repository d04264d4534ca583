"""Table formats and how a path's format is recognised."""

from __future__ import annotations

import enum
from pathlib import Path

from synth_ray.errors import InputFormatError

__all__ = ["TableFormat", "detect_format"]


class TableFormat(enum.StrEnum):
    """A table's storage format.

    Attributes:
        PARQUET: a Parquet file, or a folder of Parquet files (a dataset).
        CSV: one CSV file with a header row.
        DELTA: a Delta Lake table folder (with ``_delta_log``), via the embedded
            ``deltalake`` library: no JVM.
    """

    PARQUET = "parquet"
    CSV = "csv"
    DELTA = "delta"


def detect_format(path: Path) -> TableFormat:
    """The format of the existing table at ``path``, from its layout and suffix.

    Raises:
        InputFormatError: the path does not exist or its format is not recognised.
    """
    if not path.exists():
        raise InputFormatError(f"no table at {str(path)!r}: the path does not exist")
    if path.is_dir():
        if (path / "_delta_log").is_dir():
            return TableFormat.DELTA
        if any(path.rglob("*.parquet")):
            return TableFormat.PARQUET
        raise InputFormatError(
            f"folder {str(path)!r} is neither a Delta table (no _delta_log) nor holds *.parquet "
            "files; pass --format to say what it is"
        )
    suffix = path.suffix.lower()
    if suffix in (".parquet", ".pq"):
        return TableFormat.PARQUET
    if suffix in (".csv", ".tsv", ".txt") or path.name.lower().endswith(".csv.gz"):
        return TableFormat.CSV
    raise InputFormatError(
        f"cannot tell the format of {str(path)!r} from its suffix {suffix!r}; use a .parquet or "
        ".csv file, a Delta table folder, or pass --format"
    )
