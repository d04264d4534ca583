"""The statistics sample of a distributed fit: bounded, uniform, independent of partitioning.

Metadata inference and the transforms (category sets, ranges, decimals, each continuous
column's variational Gaussian mixture) are fitted on at most ``rows`` rows, never on
the whole table collected to the driver. Every row gets a 64-bit key hashed from its
content and the seed; the rows with the ``rows`` smallest keys are the sample
(bottom-k sampling: uniform without replacement; exact duplicate rows share a key, so
they are kept or dropped together). Each block keeps its own smallest keys in a Ray
Data map, and the driver merges the streamed candidates, holding at most ``rows`` rows
plus one block's candidates. Keys depend only on the rows and the seed, so the sample
(sorted by key) is the same however the table is split into blocks.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa

from synth_ray.errors import DataError

__all__ = ["row_keys", "sample_table_rows"]

_KEY = "__synth_ray_sample_key"


def row_keys(table: pa.Table, *, seed: int) -> np.ndarray:
    """A uint64 key per row, hashed from the row's values and ``seed``."""
    if table.num_rows == 0:
        return np.zeros(0, dtype=np.uint64)
    hash_key = f"{int(seed) & 0xFFFF_FFFF_FFFF_FFFF:016x}"  # pandas wants 16 bytes
    frame = table.to_pandas(types_mapper=None, ignore_metadata=True)
    return pd.util.hash_pandas_object(frame, index=False, hash_key=hash_key).to_numpy(np.uint64)


def _smallest(table: pa.Table, keys: np.ndarray, rows: int) -> tuple[pa.Table, np.ndarray]:
    """The ``rows`` rows of smallest key, in key order."""
    if table.num_rows > rows:
        keep = np.argpartition(keys, rows - 1)[:rows]
        table, keys = table.take(keep), keys[keep]
    order = np.argsort(keys, kind="stable")
    return table.take(order), keys[order]


def _block_candidates(batch: pa.Table, *, rows: int, seed: int) -> pa.Table:
    """A block's ``rows`` smallest-key rows with their keys (a Ray Data map)."""
    kept, keys = _smallest(batch, row_keys(batch, seed=seed), rows)
    return kept.append_column(_KEY, pa.array(keys, type=pa.uint64()))


def sample_table_rows(dataset: Any, *, rows: int, seed: int) -> pa.Table:
    """At most ``rows`` rows of a ``ray.data.Dataset``, a uniform sample in key order.

    Args:
        dataset: the real table as a Ray Dataset.
        rows: the sample's size bound (>= 1).
        seed: the key hash's seed; the same seed gives the same sample for any blocks.
    """
    candidates = dataset.map_batches(_block_candidates, fn_kwargs={"rows": rows, "seed": seed},
                                     batch_format="pyarrow", batch_size=None)
    kept: pa.Table | None = None
    for batch in candidates.iter_batches(batch_format="pyarrow", batch_size=None):
        merged = batch if kept is None else pa.concat_tables([kept, batch])
        kept, _ = _smallest(merged, merged.column(_KEY).to_numpy(), rows)
    if kept is None:
        raise DataError("the table has no rows to learn from")
    return kept.drop_columns([_KEY]).combine_chunks()
