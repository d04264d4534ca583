"""Reading a real table from Parquet, CSV or Delta into Arrow."""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa

from synth_ray.errors import InputFormatError
from synth_ray.lakehouse.table_format import TableFormat, detect_format

__all__ = ["read_table"]

_RECOVER_WAIT_S = 30.0


def _recover(path: Path) -> None:
    """Put back a folder table that a writer killed mid-swap left aside (see folder_swap)."""
    from synth_ray.lakehouse.folder_swap import recover_folder
    from synth_ray.lakehouse.table_lock import folder_lock

    with folder_lock(path, timeout_s=_RECOVER_WAIT_S):  # a live writer finishes its swap first
        recover_folder(path)


def read_table(path: str | Path, *, format: TableFormat | str | None = None) -> pa.Table:
    """Read the table at ``path``; ``format`` defaults to what the path looks like.

    A folder table that a writer killed in the middle of its two-rename swap left aside
    (only where the OS has no atomic exchange) is put back first.

    Raises:
        InputFormatError: missing path, unknown format, or a file that is not what its
            format says (the message names the file and the reader's complaint).
    """
    path = Path(path)
    if not path.exists() and any(path.parent.glob(f".{path.name}.old-*")):
        _recover(path)
    fmt = TableFormat(format) if format else detect_format(path)
    if not path.exists():
        raise InputFormatError(f"no table at {str(path)!r}: the path does not exist")
    try:
        if fmt is TableFormat.PARQUET:
            import pyarrow.parquet as pq

            return pq.read_table(path)
        if fmt is TableFormat.CSV:
            import pyarrow.csv as pcsv

            return pcsv.read_csv(path)
        from deltalake import DeltaTable

        return DeltaTable(str(path)).to_pyarrow_table()
    except Exception as exc:  # readers raise many types (Arrow, OS, Delta): name them all
        raise InputFormatError(
            f"cannot read {str(path)!r} as {fmt.value}: {type(exc).__name__}: {exc}".rstrip()
            + "; check that the file is a valid table of that format"
        ) from None
