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

The fit-time reference profile (:mod:`synth_ray.reference_profile`, what the Great
Expectations gate checks samples against) takes its statistics from the same sample,
but its salted row hashes (the no-copied-rows check) cover the whole table: each block
hashes its own rows in a Ray Data map and only the hashes reach the driver
(:func:`reference_profile`).
"""

from __future__ import annotations

import contextlib
import dataclasses
import secrets
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
import pyarrow as pa

from synth_ray.errors import DataError
from synth_ray.reference_profile import (
    MAX_HASHED_ROWS,
    ReferenceProfile,
    RowHashReference,
    build_reference_profile,
    salt_hashes,
)

if TYPE_CHECKING:
    from synth_ray.metadata import TableMetadata

__all__ = ["reference_profile", "row_keys", "salted_row_hashes", "sample_table_rows"]

_HASH = "hash"

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


def _block_hashes(batch: pa.Table, *, names: list[str], schema: pa.Schema, salt: str,
                  limit: int) -> pa.Table:
    """A block's unique salted row hashes below ``limit`` (a Ray Data map).

    Each column is cast to its real type first, as the gate casts a synthetic table
    (:func:`expectations.statistics.copy_count`), so both hash the same values alike.
    """
    from synth_ray.evaluation.row_hashes import row_hashes
    from synth_ray.table_input import to_arrow

    batch = to_arrow(batch)  # float NaN as null, as the local fit's table has it
    columns = {}
    for name in names:
        values, target = batch.column(name), schema.field(name).type
        with contextlib.suppress(pa.ArrowInvalid, pa.ArrowNotImplementedError, pa.ArrowTypeError):
            values = values if values.type == target else values.cast(target)
        columns[name] = values
    hashed = np.unique(salt_hashes(row_hashes(pa.table(columns), names), salt))
    return pa.table({_HASH: pa.array(hashed[hashed <= np.uint64(limit)], type=pa.uint64())})


def salted_row_hashes(dataset: Any, metadata: TableMetadata, *, rows: int,
                      salt: str | None = None) -> RowHashReference | None:
    """Salted hashes of every row of ``dataset`` over the learned columns, merged on the driver.

    The hashes are :func:`synth_ray.reference_profile.salt_hashes` of
    :func:`synth_ray.evaluation.row_hashes.row_hashes`, exactly as a local fit stores
    them. A table of more than ``MAX_HASHED_ROWS`` rows keeps the hashes below a
    threshold instead of a row sample: salted hashes are uniform, so that is a uniform
    sample of the distinct rows (share ``coverage``), the same for any blocks.

    Args:
        dataset: the real table as a Ray Dataset.
        metadata: its metadata (learned columns and their real Arrow types).
        rows: rows of the table.
        salt: 32 hex digits (default: random, as for a local fit).
    """
    names = [c.name for c in metadata if c.learned]
    if not names or rows == 0:
        return None
    salt = salt if salt is not None else secrets.token_hex(16)
    coverage = min(1.0, MAX_HASHED_ROWS / rows)
    limit = (1 << 64) - 1 if coverage >= 1.0 else min(int(coverage * float(1 << 64)), (1 << 64) - 1)
    schema = metadata.arrow_schema
    parts = [np.zeros(0, np.uint64)]
    hashed = dataset.map_batches(_block_hashes, batch_format="pyarrow", batch_size=None,
                                 fn_kwargs={"names": names, "schema": schema, "salt": salt,
                                            "limit": limit})
    for batch in hashed.iter_batches(batch_format="pyarrow", batch_size=None):
        parts.append(batch.column(_HASH).to_numpy())
    return RowHashReference(columns=tuple(names),
                            types=tuple(str(schema.field(n).type) for n in names), salt=salt,
                            hashes=np.unique(np.concatenate(parts)), coverage=coverage)


def reference_profile(dataset: Any, sample: pa.Table, metadata: TableMetadata, *, rows: int,
                      seed: int) -> ReferenceProfile:
    """The fit-time reference profile of a distributed fit.

    Column statistics and pairs come from the statistics ``sample`` (its size is the
    model's ``training.stats_rows``); ``rows`` and the row hashes are the whole table's.
    """
    profile = build_reference_profile(sample, metadata, seed=seed)
    return dataclasses.replace(profile, rows=rows,
                               row_hashes=salted_row_hashes(dataset, metadata, rows=rows))
