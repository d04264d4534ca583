"""Writing synthetic tables as a stream, and publishing them in one step.

Nothing half-written is ever visible where a finished table is expected:

- Parquet folder: files are written into a hidden staging folder beside the target,
  which then takes the target's place in one atomic exchange
  (:mod:`synth_ray.lakehouse.folder_swap`; append: the old files are hard-linked in
  beside the new ones first, so an append is one exchange too). The writer holds the
  table's lock (:mod:`synth_ray.lakehouse.table_lock`) throughout, so a second writer
  fails at once instead of mixing its files in.
- Parquet or CSV file: written to a hidden temporary file, then renamed over the target.
- Delta: the data files are written into ``write-<id>/`` inside the table and committed
  in one transaction against the version the write started from; readers see the old
  version until the commit, and a writer that lost a race to another commit fails.

A full disk raises :class:`~synth_ray.errors.StorageFullError` naming the path, after
the partial files are removed. Memory is bounded: batches are written as they arrive.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pyarrow as pa

from synth_ray.errors import InputFormatError
from synth_ray.file_modes import publishable
from synth_ray.lakehouse.delta_commit import delta_staging
from synth_ray.lakehouse.folder_swap import replace_folder, staged_folder
from synth_ray.lakehouse.table_format import TableFormat
from synth_ray.lakehouse.write_errors import write_errors

__all__ = ["WriteResult", "delta_schema", "link_or_copy", "parquet_rows", "publish_folder",
           "write_table"]

_ROWS_PER_FILE = 8_000_000  # Parquet folder: a new file every this many rows


@dataclass(frozen=True)
class WriteResult:
    """What a write produced.

    Attributes:
        path: where the table is.
        format: its format.
        rows: rows written.
        version: Delta only: the table version the write committed.
    """

    path: Path
    format: TableFormat
    rows: int
    version: int | None = None


def delta_schema(schema: pa.Schema) -> pa.Schema:
    """The closest schema Delta Lake can store.

    Delta has no nanosecond timestamps, unsigned or dictionary types: timestamps
    become microseconds, unsigned ints the next signed width, dictionaries their
    value type. Other types pass through.
    """
    def convert(t: pa.DataType) -> pa.DataType:
        if pa.types.is_dictionary(t):
            return convert(t.value_type)
        if pa.types.is_timestamp(t):
            return pa.timestamp("us", tz=t.tz)
        if pa.types.is_unsigned_integer(t):
            return {8: pa.int16(), 16: pa.int32(), 32: pa.int64()}.get(t.bit_width, pa.int64())
        if pa.types.is_date64(t):
            return pa.date32()
        if pa.types.is_float16(t):
            return pa.float32()
        return t

    return pa.schema([pa.field(f.name, convert(f.type), f.nullable) for f in schema])


def _counted(batches: Iterable[pa.Table], counter: list[int]) -> Iterator[pa.RecordBatch]:
    for table in batches:
        counter[0] += table.num_rows
        yield from table.to_batches()


def link_or_copy(source: str | Path, dest: str | Path) -> None:
    """Hard-link ``source`` as ``dest`` (same file system: instant, no space), else copy it."""
    try:
        os.link(source, dest)
    except OSError as exc:
        if isinstance(exc, FileExistsError):
            raise
        shutil.copy2(source, dest)


def publish_folder(staging: Path, target: Path, *, mode: str) -> None:
    """Publish a staged folder: it replaces ``target``, atomically, in one exchange.

    ``append``: the target's files are first hard-linked into ``staging`` beside the new
    ones, so an append is published in one exchange too (never a partial append). Call it
    holding the table's lock (inside :func:`~synth_ray.lakehouse.folder_swap.staged_folder`).
    """
    publishable(staging)
    if mode == "append" and target.is_dir():
        shutil.copytree(target, staging, copy_function=link_or_copy, dirs_exist_ok=True)
    replace_folder(staging, target)


def parquet_rows(files: Iterable[Path]) -> int:
    """Rows in Parquet ``files``, from their footers."""
    import pyarrow.parquet as pq

    return sum(pq.ParquetFile(f).metadata.num_rows for f in files)


def _write_parquet_files(batches: Iterable[pa.Table], schema: pa.Schema, folder: Path,
                         counter: list[int], prefix: str, *, split: bool = True) -> None:
    """Write ``prefix-00000.parquet``, ``-00001`` ...: a new file every ``_ROWS_PER_FILE`` rows.

    With ``split=False``, one file whatever the row count (a single-file target).
    """
    import pyarrow.parquet as pq

    writer: pq.ParquetWriter | None = None
    part, in_file = 0, 0
    try:
        for table in batches:
            if writer is None or (split and in_file >= _ROWS_PER_FILE):
                if writer is not None:
                    writer.close()
                writer = pq.ParquetWriter(folder / f"{prefix}-{part:05d}.parquet", schema)
                part, in_file = part + 1, 0
            writer.write_table(table, row_group_size=1 << 20)
            in_file += table.num_rows
            counter[0] += table.num_rows
        if writer is None:  # zero rows: still leave a readable, typed, empty table
            pq.write_table(schema.empty_table(), folder / f"{prefix}-00000.parquet")
    finally:
        if writer is not None:
            writer.close()


def _write_parquet_folder(batches: Iterable[pa.Table], schema: pa.Schema, target: Path,
                          mode: str) -> int:
    import uuid

    counter = [0]
    with write_errors(target), staged_folder(target) as staging:
        prefix = f"part-{uuid.uuid4().hex[:12]}"
        _write_parquet_files(batches, schema, staging, counter, prefix)
        publish_folder(staging, target, mode=mode)
    return counter[0]


def _write_single_file(batches: Iterable[pa.Table], schema: pa.Schema, target: Path,
                       fmt: TableFormat) -> int:
    counter = [0]
    fd, tmp_name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    os.close(fd)
    tmp = Path(tmp_name)
    part = tmp.parent / f"{tmp.name}-00000.parquet"
    try:
        with write_errors(target):
            if fmt is TableFormat.CSV:
                import pyarrow.csv as pcsv

                with pcsv.CSVWriter(tmp, schema) as writer:
                    for batch in _counted(batches, counter):
                        writer.write_batch(batch)
            else:
                _write_parquet_files(batches, schema, tmp.parent, counter, tmp.name, split=False)
                os.replace(part, tmp)
            os.replace(publishable(tmp), target)
    finally:
        tmp.unlink(missing_ok=True)
        part.unlink(missing_ok=True)
    return counter[0]


def _write_delta(batches: Iterable[pa.Table], schema: pa.Schema, target: Path,
                 mode: str) -> tuple[int, int]:
    counter = [0]
    stored = delta_schema(schema)
    with delta_staging(target) as staging:
        staging.folder.mkdir()
        _write_parquet_files((t.cast(stored) for t in batches), stored, staging.folder, counter,
                             "part")
        version = staging.commit(sorted(staging.folder.glob("*.parquet")), schema=stored, mode=mode)
    return counter[0], version


def write_table(batches: Iterable[pa.Table], *, schema: pa.Schema, path: str | Path,
                format: TableFormat | str = TableFormat.DELTA, mode: str = "overwrite") -> WriteResult:
    """Stream ``batches`` (tables of ``schema``) into a table at ``path``, atomically.

    Args:
        batches: the rows, in order.
        schema: their Arrow schema.
        path: target table: a folder (Delta, Parquet) or a file (``*.parquet``, CSV).
        format: ``delta`` (default), ``parquet`` or ``csv``.
        mode: ``overwrite`` (replace the table) or ``append`` (Delta, Parquet folder).
    """
    fmt = TableFormat(format)
    target = Path(path)
    if mode not in ("overwrite", "append"):
        raise InputFormatError(f"write mode must be 'overwrite' or 'append', got {mode!r}")
    single_file = fmt is TableFormat.CSV or (fmt is TableFormat.PARQUET and target.suffix == ".parquet")
    if mode == "append" and single_file:
        raise InputFormatError(f"cannot append to the single {fmt.value} file {str(target)!r}; "
                               "write a Parquet folder or a Delta table to append")
    target.parent.mkdir(parents=True, exist_ok=True)
    if fmt is TableFormat.DELTA:
        rows, version = _write_delta(batches, schema, target, mode)
        return WriteResult(path=target, format=fmt, rows=rows, version=version)
    if single_file:
        rows = _write_single_file(batches, schema, target, fmt)
    else:
        rows = _write_parquet_folder(batches, schema, target, mode)
    return WriteResult(path=target, format=fmt, rows=rows)
