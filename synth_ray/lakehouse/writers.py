"""Writing synthetic tables as a stream, and publishing them in one step.

Nothing half-written is ever visible where a finished table is expected:

- Parquet folder: files are written into a hidden staging folder beside the target,
  which then replaces the target by rename (append: each new file is renamed in).
- Parquet or CSV file: written to a hidden temporary file, then renamed over the target.
- Delta: the embedded ``deltalake`` writer streams the data files and commits them
  in one transaction; readers see the old version until the commit.

Memory is bounded: batches are written as they arrive.
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
from synth_ray.lakehouse.table_format import TableFormat

__all__ = ["WriteResult", "delta_schema", "parquet_rows", "publish_folder", "replace_folder",
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


def _counted(batches: Iterable[pa.Table], counter: list[int],
             schema: pa.Schema | None = None) -> Iterator[pa.RecordBatch]:
    for table in batches:
        counter[0] += table.num_rows
        yield from (table if schema is None else table.cast(schema)).to_batches()


def replace_folder(staging: Path, target: Path) -> None:
    """Move ``staging`` to ``target``, retiring what was there (two renames)."""
    if target.exists():
        retired = Path(tempfile.mkdtemp(prefix=f".{target.name}.old-", dir=target.parent))
        os.replace(target, retired / target.name)
        os.replace(staging, target)
        shutil.rmtree(retired, ignore_errors=True)
    else:
        os.replace(staging, target)


def publish_folder(staging: Path, target: Path, *, mode: str) -> None:
    """Publish a staged folder: it replaces ``target``, or (``append``) its files move into it."""
    publishable(staging)
    if mode == "append" and target.is_dir():
        for file in sorted(staging.iterdir()):
            os.replace(file, target / file.name)
    else:
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
    staging = Path(tempfile.mkdtemp(prefix=f".{target.name}.staging-", dir=target.parent))
    try:
        prefix = f"part-{uuid.uuid4().hex[:12]}"
        _write_parquet_files(batches, schema, staging, counter, prefix)
        publish_folder(staging, target, mode=mode)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return counter[0]


def _write_single_file(batches: Iterable[pa.Table], schema: pa.Schema, target: Path,
                       fmt: TableFormat) -> int:
    counter = [0]
    fd, tmp_name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    os.close(fd)
    tmp = Path(tmp_name)
    try:
        if fmt is TableFormat.CSV:
            import pyarrow.csv as pcsv

            with pcsv.CSVWriter(tmp, schema) as writer:
                for batch in _counted(batches, counter):
                    writer.write_batch(batch)
        else:
            folder = tmp.parent
            _write_parquet_files(batches, schema, folder, counter, tmp.name, split=False)
            os.replace(folder / f"{tmp.name}-00000.parquet", tmp)
        os.replace(publishable(tmp), target)
    finally:
        tmp.unlink(missing_ok=True)
    return counter[0]


def _write_delta(batches: Iterable[pa.Table], schema: pa.Schema, target: Path,
                 mode: str) -> tuple[int, int]:
    from deltalake import DeltaTable, write_deltalake

    counter = [0]
    stored = delta_schema(schema)
    failure: list[BaseException] = []

    def guarded() -> Iterator[pa.RecordBatch]:
        try:
            yield from _counted(batches, counter, stored)
        except BaseException as exc:  # re-raised below as itself, not wrapped by deltalake
            failure.append(exc)
            raise

    reader = pa.RecordBatchReader.from_batches(stored, guarded())
    try:
        if mode == "overwrite":
            write_deltalake(str(target), reader, mode="overwrite", schema_mode="overwrite")
        else:
            write_deltalake(str(target), reader, mode="append")
    except Exception:
        if failure:
            raise failure[0] from None
        raise
    return counter[0], DeltaTable(str(target)).version()


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
