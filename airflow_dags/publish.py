"""Publishing a validated staging folder as the synthetic table, atomically and idempotently.

The staged files are hard-linked (copied across file systems) into the table, never
moved: the staging folder stays whole until ``publish_step`` drops it after success, so
a publish killed at any point (even by SIGKILL) is simply run again.

- Delta: the links go into a fresh ``write-<id>/`` folder inside the table (invisible
  until committed) and are committed in one transaction against the version the publish
  started from, carrying an application transaction ``synth-ray:<table>:<run key>``; on
  failure they are removed. An append whose run key the table already records is skipped.
- Parquet: under the table's lock, a folder of links to the staged files (named after
  the run key) replaces the table in one atomic exchange; an append links the table's
  current files in beside them first, so it is one exchange too. A rerun of an append
  finds the run's file names and skips.
- Iceberg: one ``overwrite`` or ``append`` snapshot whose summary carries the run key;
  an append whose run key a snapshot already carries is skipped.

A retry of a publish that succeeded just before its task died finds no staged files
and the run key already published: it reports the table as it is instead of failing.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

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


def _commit_properties(config: TableConfig, run: str, seed: int) -> Any:
    from deltalake import CommitProperties, Transaction

    return CommitProperties(custom_metadata={RUN_PROPERTY: run, "synth-ray.seed": str(seed),
                                             "synth-ray.dag": config.dag_id},
                            app_transactions=[Transaction(app_id(config, run), 1)])


def _publish_delta(config: TableConfig, staging: Path, run: str, seed: int) -> PublishResult:
    import pyarrow.parquet as pq
    from deltalake import DeltaTable

    from synth_ray.lakehouse.delta_commit import delta_staging
    from synth_ray.lakehouse.writers import link_or_copy

    target = config.target.path
    assert target is not None
    if DeltaTable.is_deltatable(str(target)) and (config.mode == "append" or not _has_staged(staging)):
        table = DeltaTable(str(target))
        if table.transaction_version(app_id(config, run)) is not None:
            return PublishResult(rows=0, version=table.version(), already_published=True)
    files = _staged_files(staging)
    rows, schema = _rows(files), pq.read_schema(files[0])
    with delta_staging(target) as write:  # on failure the links are removed, staging stays
        write.folder.mkdir()
        linked = [write.folder / f"part-{run}-{i:05d}.parquet" for i in range(len(files))]
        for file, dest in zip(files, linked, strict=True):
            link_or_copy(file, dest)
        version = write.commit(linked, schema=schema, mode=config.mode,
                               commit_properties=_commit_properties(config, run, seed))
    return PublishResult(rows=rows, version=version, already_published=False)


def _publish_parquet(config: TableConfig, staging: Path, run: str) -> PublishResult:
    from synth_ray.lakehouse.folder_swap import staged_folder
    from synth_ray.lakehouse.writers import link_or_copy, publish_folder

    target = config.target.path
    assert target is not None
    with staged_folder(target) as fresh:
        if ((config.mode == "append" or not _has_staged(staging))
                and any(target.glob(f"part-{run}-*.parquet"))):
            return PublishResult(rows=0, version=None, already_published=True)
        files = _staged_files(staging)
        for i, file in enumerate(files):
            link_or_copy(file, fresh / f"part-{run}-{i:05d}.parquet")
        publish_folder(fresh, target, mode=config.mode)
    return PublishResult(rows=_rows(files), version=None, already_published=False)


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
