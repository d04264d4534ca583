"""Publishing a validated staging folder as the synthetic table, atomically and idempotently.

- Delta: the staged Parquet files are moved into the table's folder (invisible until
  committed) and committed in one transaction carrying an application transaction
  ``synth-ray:<table>:<run key>``; on failure they are moved back, so a retry finds
  them. An append whose run key the table already records is skipped.
- Parquet: overwrite replaces the folder by rename; an append renames the run's files
  in (named after the run key, so a rerun finds them and skips).
- Iceberg: one ``overwrite`` or ``append`` snapshot whose summary carries the run key;
  an append whose run key a snapshot already carries is skipped.

A retry of a publish that succeeded just before its task died finds no staged files
and the run key already published: it reports the table as it is instead of failing.
"""

from __future__ import annotations

import shutil
import uuid
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import pyarrow as pa

from airflow_dags.config import TableConfig, TargetFormat

__all__ = ["PublishResult", "app_id", "publish"]

RUN_PROPERTY = "synth-ray.run-key"


@dataclass(frozen=True)
class PublishResult:
    """What publishing did.

    Attributes:
        rows: rows published (0 when the run was already published).
        version: the Delta version or Iceberg snapshot id now current (None for Parquet).
        already_published: an append rerun of a run key the table already holds: skipped.
    """

    rows: int
    version: int | None
    already_published: bool

    def to_dict(self) -> dict[str, Any]:
        """JSON form (for XCom and the Asset event)."""
        return asdict(self)


def app_id(config: TableConfig, run: str) -> str:
    """The Delta application transaction id of a run: one per table and logical date."""
    return f"synth-ray:{config.name}:{run}"


def _has_staged(staging: Path) -> bool:
    """Whether staged files wait: when none do, a retry may follow a publish that succeeded."""
    return any(staging.glob("*.parquet"))


def _staged_files(staging: Path) -> list[Path]:
    files = sorted(staging.glob("*.parquet"))
    if not files:
        from synth_ray.errors import InputFormatError

        raise InputFormatError(f"no staged Parquet files in {str(staging)!r}; rerun the sample task")
    return files


def _rows(files: list[Path]) -> int:
    import pyarrow.parquet as pq

    return sum(pq.ParquetFile(f).metadata.num_rows for f in files)


def _commit_delta(target: Path, moved: list[Path], schema: pa.Schema, config: TableConfig, *,
                  run: str, seed: int) -> None:
    from deltalake import CommitProperties, Transaction

    from synth_ray.lakehouse.delta_commit import commit_parquet_files

    props = CommitProperties(custom_metadata={RUN_PROPERTY: run, "synth-ray.seed": str(seed),
                                              "synth-ray.dag": config.dag_id},
                             app_transactions=[Transaction(app_id(config, run), 1)])
    commit_parquet_files(target, moved, schema=schema, mode=config.mode, commit_properties=props)


def _publish_delta(config: TableConfig, staging: Path, run: str, seed: int) -> PublishResult:
    import pyarrow.parquet as pq
    from deltalake import DeltaTable

    target = config.target.path
    assert target is not None
    if DeltaTable.is_deltatable(str(target)) and (config.mode == "append" or not _has_staged(staging)):
        table = DeltaTable(str(target))
        if table.transaction_version(app_id(config, run)) is not None:
            return PublishResult(rows=0, version=table.version(), already_published=True)
    files = _staged_files(staging)
    rows, schema = _rows(files), pq.read_schema(files[0])
    target.mkdir(parents=True, exist_ok=True)
    batch = uuid.uuid4().hex[:8]
    moved: list[tuple[Path, Path]] = []
    try:
        for i, file in enumerate(files):
            dest = target / f"part-{run}-{batch}-{i:05d}.parquet"
            shutil.move(file, dest)
            moved.append((file, dest))
        _commit_delta(target, [d for _, d in moved], schema, config, run=run, seed=seed)
    except BaseException:
        for source, dest in moved:  # back to staging: the published table never saw them
            shutil.move(dest, source)
        raise
    return PublishResult(rows=rows, version=DeltaTable(str(target)).version(), already_published=False)


def _publish_parquet(config: TableConfig, staging: Path, run: str) -> PublishResult:
    from synth_ray.file_modes import publishable
    from synth_ray.lakehouse.writers import replace_folder

    target = config.target.path
    assert target is not None
    if (config.mode == "append" or not _has_staged(staging)) and any(target.glob(f"part-{run}-*.parquet")):
        return PublishResult(rows=0, version=None, already_published=True)
    files = _staged_files(staging)
    rows = _rows(files)
    if config.mode == "append" and target.is_dir():
        for i, file in enumerate(files):
            shutil.move(file, target / f"part-{run}-{i:05d}.parquet")
        return PublishResult(rows=rows, version=None, already_published=False)
    for i, file in enumerate(files):
        file.rename(staging / f"part-{run}-{i:05d}.parquet")
    target.parent.mkdir(parents=True, exist_ok=True)
    replace_folder(publishable(staging), target)
    return PublishResult(rows=rows, version=None, already_published=False)


def _publish_iceberg(config: TableConfig, staging: Path, run: str, seed: int) -> PublishResult:
    import pyarrow.dataset as ds

    from airflow_dags.iceberg import load_catalog

    target = config.target
    assert target.catalog is not None and target.table is not None
    catalog = load_catalog(target.catalog)
    if (config.mode == "append" or not _has_staged(staging)) and catalog.table_exists(target.table):
        table = catalog.load_table(target.table)
        if any(s.summary is not None and s.summary.get(RUN_PROPERTY) == run for s in table.snapshots()):
            return PublishResult(rows=0, version=table.current_snapshot().snapshot_id,
                                 already_published=True)
    files = _staged_files(staging)
    data = ds.dataset([str(f) for f in files], format="parquet")
    catalog.create_namespace_if_not_exists(target.table.rsplit(".", 1)[0])
    table = catalog.create_table_if_not_exists(target.table, schema=data.schema)
    if config.mode == "overwrite" and table.schema().as_arrow() != data.schema:
        with table.update_schema() as update:
            update.union_by_name(data.schema)
    props = {RUN_PROPERTY: run, "synth-ray.seed": str(seed)}
    reader = data.scanner().to_reader()
    if config.mode == "append":
        table.append(reader, snapshot_properties=props)
    else:
        table.overwrite(reader, snapshot_properties=props)
    return PublishResult(rows=_rows(files), version=table.current_snapshot().snapshot_id,
                         already_published=False)


def publish(config: TableConfig, *, staging: Path, run: str, seed: int) -> PublishResult:
    """Publish the staged rows of run ``run`` to the config's target in one step."""
    fmt = config.target.format
    if fmt is TargetFormat.DELTA:
        return _publish_delta(config, staging, run, seed)
    if fmt is TargetFormat.ICEBERG:
        return _publish_iceberg(config, staging, run, seed)
    return _publish_parquet(config, staging, run)
