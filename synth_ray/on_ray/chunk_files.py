"""A sampling actor that writes its chunks straight to Parquet files (a sink in the actors).

Moving a block through Ray's object store (serialise, copy into shared memory, read back
by a writer or the driver) costs about a third of the Gaussian copula's own time per row
(benchmarks/RESULTS.md). :class:`ChunkFileWriter` loads the model once per actor like
:class:`~synth_ray.on_ray.sampling.ChunkSampler`, makes the chunks of each input block
and streams them into one Parquet file in the staging folder, returning only the file's
name and row count. The driver then publishes the files in one step, as Ray's own
datasinks do.

File names come from the block's first chunk piece (``part-<chunk>-<first row>``), so
they sort in row order and a retried block (its actor died) writes the same file again:
each attempt writes a hidden temporary file and renames it into place.
"""

from __future__ import annotations

import os
import uuid
from pathlib import Path
from typing import Any

import pyarrow as pa

from synth_ray.on_ray.sampling import ChunkSampler
from synth_ray.sampling import sample_chunk

__all__ = ["TEMPORARY_GLOB", "ChunkFileWriter", "file_name"]

TEMPORARY_GLOB = ".part-*.tmp"  # what a killed attempt may leave in the folder
_ROW_GROUP_ROWS = 1 << 20


def file_name(chunk: int, lo: int) -> str:
    """The Parquet file holding rows from piece ``(chunk, lo)`` on: sorts in row order."""
    return f"part-{chunk:010d}-{lo:06d}.parquet"


class ChunkFileWriter(ChunkSampler):
    """Ray Data callable class: each input block's chunks, written to one Parquet file."""

    def __init__(self, *, folder: str, schema: pa.Schema, **sampler_args: Any) -> None:
        super().__init__(**sampler_args)
        self.folder = Path(folder)
        self.schema = schema

    def __call__(self, batch: pa.Table) -> pa.Table:
        """Write the chunk pieces of ``batch`` (columns chunk, lo, hi); return file and rows."""
        import pyarrow.parquet as pq

        pieces = list(zip(batch["chunk"].to_pylist(), batch["lo"].to_pylist(),
                          batch["hi"].to_pylist(), strict=True))
        if not pieces:
            return pa.table({"file": pa.array([], pa.string()), "rows": pa.array([], pa.int64())})
        name = file_name(pieces[0][0], pieces[0][1])
        partial = self.folder / f".{name}.{uuid.uuid4().hex[:8]}.tmp"
        rows = 0
        try:
            with pq.ParquetWriter(partial, self.schema) as writer:
                for chunk, lo, hi in pieces:
                    table = sample_chunk(self.synth, seed=self.seed, chunk_index=chunk,
                                         plan=self.plan).slice(lo, hi - lo)
                    if not table.schema.equals(self.schema):
                        table = table.cast(self.schema)  # Delta's stored types
                    writer.write_table(table, row_group_size=_ROW_GROUP_ROWS)
                    rows += hi - lo
            os.replace(partial, self.folder / name)
        finally:
            partial.unlink(missing_ok=True)
        return pa.table({"file": [name], "rows": pa.array([rows], pa.int64())})
