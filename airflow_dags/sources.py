"""Reading the real table and fingerprinting it cheaply (no data read to fingerprint).

The content fingerprint changes when the table's data may have changed: the set of
Delta data files (so metadata-only commits do not count), the Iceberg snapshot, the
Parquet/CSV files' names, sizes and modification times, a Spark table's input files.
The schema fingerprint changes with the column names and types only.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import pyarrow as pa

from airflow_dags.config import SourceConfig, SourceFormat

__all__ = ["Fingerprint", "read_source", "source_fingerprint"]

Fingerprint = dict[str, str]


def _digest(parts: Any) -> str:
    return hashlib.sha256(json.dumps(parts, sort_keys=True, default=str).encode()).hexdigest()


def _schema_digest(schema: pa.Schema) -> str:
    return _digest([[f.name, str(f.type)] for f in schema])


def _files_digest(path: Path) -> str:
    files = [path] if path.is_file() else sorted(p for p in path.rglob("*") if p.is_file())
    return _digest([[str(f.relative_to(path) if f != path else f.name), f.stat().st_size,
                     f.stat().st_mtime_ns] for f in files])


def _delta(path: Path) -> Fingerprint:
    from deltalake import DeltaTable

    table = DeltaTable(str(path))
    adds = pa.table(table.get_add_actions(flatten=True))
    files = sorted(zip(adds["path"].to_pylist(), adds["size_bytes"].to_pylist(), strict=True))
    return {"content": _digest(files), "schema": _schema_digest(pa.schema(table.schema().to_arrow())),
            "version": str(table.version())}


def _files(source: SourceConfig) -> Fingerprint:
    import pyarrow.dataset as ds

    assert source.path is not None
    if not source.path.exists():
        from synth_ray.errors import InputFormatError

        raise InputFormatError(f"no source table at {str(source.path)!r}: the path does not exist")
    schema = ds.dataset(source.path, format=source.format.value).schema
    return {"content": _files_digest(source.path), "schema": _schema_digest(schema)}


def _iceberg(source: SourceConfig) -> Fingerprint:
    from airflow_dags.iceberg import load_catalog

    assert source.catalog is not None and source.table is not None
    table = load_catalog(source.catalog).load_table(source.table)
    snapshot = table.current_snapshot()
    return {"content": _digest([snapshot.snapshot_id if snapshot else None]),
            "schema": _schema_digest(table.schema().as_arrow())}


def _spark(source: SourceConfig) -> Fingerprint:
    from spark_udfs.session import get_spark

    frame = get_spark()[0].table(str(source.table))
    files = sorted(frame.inputFiles())
    sizes = [Path(f.removeprefix("file:")).stat().st_size if f.startswith("file:") else None
             for f in files]
    return {"content": _digest([files, sizes]), "schema": _digest(frame.schema.json())}


def source_fingerprint(source: SourceConfig) -> Fingerprint:
    """``{"content": sha256, "schema": sha256, ...}`` of the source, read from metadata only."""
    if source.format is SourceFormat.DELTA:
        assert source.path is not None
        return _delta(source.path)
    if source.format is SourceFormat.ICEBERG:
        return _iceberg(source)
    if source.format is SourceFormat.SPARK:
        return _spark(source)
    return _files(source)


def read_source(source: SourceConfig) -> pa.Table:
    """The whole real table as Arrow."""
    if source.format is SourceFormat.ICEBERG:
        from airflow_dags.iceberg import load_catalog

        assert source.catalog is not None and source.table is not None
        return load_catalog(source.catalog).load_table(source.table).scan().to_arrow()
    if source.format is SourceFormat.SPARK:
        from spark_udfs.session import get_spark

        return get_spark()[0].table(str(source.table)).toArrow()
    from synth_ray.lakehouse.readers import read_table

    assert source.path is not None
    return read_table(source.path, format=source.format.value)
