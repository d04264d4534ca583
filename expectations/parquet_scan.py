"""The reference summary of a Spark DataFrame that is a plain scan of local Parquet files.

Sending rows from Spark's JVM to Python (``mapInArrow``) converts every value, row by
row, into Arrow: on 10,000,000 rows of ten columns that conversion alone took longer
than everything GX's own expectations do. When the DataFrame is nothing but
``spark.read.parquet(...)`` of local files (no projection, filter, partition columns or
other transformation: Spark would read those very files as they are), Spark's Python
workers read the files' row groups with pyarrow instead, cast each column to the Arrow
type Spark would have sent, and summarize them. The rows, their values and the summary
are the same; any other DataFrame, or any failure on this path, goes through
``mapInArrow`` (:func:`expectations.metrics._spark_summary`).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any
from urllib.parse import unquote, urlparse

from expectations.statistics import BatchSummary, summarize
from synth_ray.reference_profile import ReferenceProfile

__all__ = ["local_parquet_files", "summarize_parquet_scan"]

_BATCH_ROWS = 200_000


def local_parquet_files(df: Any) -> list[str] | None:
    """The local Parquet files ``df`` reads unchanged, or ``None`` if it is anything else.

    A plain scan is a ``LogicalRelation`` over a Parquet ``HadoopFsRelation`` without
    partition columns whose files all live on this machine's file system (``file:``).
    """
    try:  # classic PySpark only: Spark Connect has no JVM handle
        plan = df._jdf.queryExecution().analyzed()
        if plan.getClass().getSimpleName() != "LogicalRelation":
            return None
        relation = plan.relation()
        if (relation.getClass().getSimpleName() != "HadoopFsRelation"
                or relation.fileFormat().getClass().getSimpleName() != "ParquetFileFormat"
                or not relation.partitionSchema().isEmpty()):
            return None
        files = list(df.inputFiles())
    except Exception:  # py4j and attribute errors: not a DataFrame this path understands
        return None
    if not files or any(urlparse(f).scheme != "file" for f in files):
        return None
    return [unquote(urlparse(f).path) for f in files]


def _tasks(files: list[str], parallelism: int) -> list[list[tuple[str, list[int]]]]:
    """Row groups of ``files`` in about ``2 x parallelism`` tasks of similar row counts."""
    import pyarrow.parquet as pq

    groups = []
    for path in files:
        meta = pq.ParquetFile(path).metadata
        groups += [(path, i, meta.row_group(i).num_rows) for i in range(meta.num_row_groups)]
    total = sum(rows for _, _, rows in groups)
    target = max(total // max(2 * parallelism, 1), 1)
    tasks: list[list[tuple[str, list[int]]]] = [[]]
    filled = 0
    for path, index, rows in groups:
        if filled >= target:
            tasks.append([])
            filled = 0
        task = tasks[-1]
        if task and task[-1][0] == path:
            task[-1][1].append(index)
        else:
            task.append((path, [index]))
        filled += rows
    return [t for t in tasks if t] or [[(files[0], [])]]


def summarize_parquet_scan(df: Any, files: list[str], columns: list[str],
                           profile: ReferenceProfile) -> BatchSummary:
    """Summarize ``columns`` of the Parquet ``files`` behind ``df`` on Spark's Python workers.

    Raises:
        Exception: whatever pyarrow or Spark raise (a file changed, a type Spark reads
            differently): the caller then summarizes through ``mapInArrow``.
    """
    import pyarrow as pa
    from pyspark.sql.pandas.types import to_arrow_schema

    spark = df.sparkSession
    schema = to_arrow_schema(df.select(*columns).schema,
                             timezone=spark.conf.get("spark.sql.session.timeZone", "UTC"))
    sc = spark.sparkContext
    tasks = _tasks(files, sc.defaultParallelism)

    def summarize_task(task: list[tuple[str, list[int]]]) -> Iterator[str]:
        import pyarrow.parquet as pq

        total = BatchSummary()
        for path, row_groups in task:
            source = pq.ParquetFile(path)
            for batch in source.iter_batches(batch_size=_BATCH_ROWS, row_groups=row_groups,
                                             columns=columns, use_threads=False):
                table = pa.Table.from_batches([batch]).select(columns).cast(schema)
                total = total + summarize(table, profile)
        yield total.to_json()

    total = BatchSummary()
    for text in sc.parallelize(tasks, len(tasks)).flatMap(summarize_task).collect():
        total = total + BatchSummary.from_json(text)
    return total
