"""The data side of a distributed fit: the real table as a Ray Dataset, encoded for training.

The driver never holds the whole table for the fit's sake: a Parquet path is read by
Ray Data tasks, and an in-memory table (already on the driver) is cut into blocks
that are put in the object store. The rows are then mapped to network space (the
transformer's ``forward`` and the encoding's ``encode``, fitted on the statistics
sample) by Ray Data tasks; each Ray Train worker reads only its own shard of that
encoded Dataset (:func:`read_shard`).

Each block draws the modes of its continuous values from a generator seeded by the
fit's mode seed and the block's content, so the encoded table is the same on every run
for the same input blocks.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa

from synth_ray.constraints import ConstraintSet
from synth_ray.lakehouse.readers import read_table
from synth_ray.models.neural.encoding import EncodedTable, NetworkEncoding
from synth_ray.on_ray.training_stats import row_keys
from synth_ray.table_input import to_arrow
from synth_ray.transforms.table_transformer import TableTransformer

__all__ = ["encode_dataset", "read_shard", "table_dataset"]

SCALARS = "scalars"
INDICES = "indices"
_BLOCK_ROWS = 16_384  # rows per block of an in-memory table


def _is_parquet(path: Path) -> bool:
    if path.is_file():
        return path.suffix.lower() == ".parquet"
    return path.is_dir() and not (path / "_delta_log").is_dir() and any(path.rglob("*.parquet"))


def table_dataset(ray: Any, data: Any) -> Any:
    """``data`` as a ``ray.data.Dataset``.

    A Dataset is used as is and a Parquet file or folder is read by Ray Data; any
    other path (CSV, Delta) is read on the driver and, like a pandas
    DataFrame or Arrow table, cut into blocks of at most 16,384 rows.
    """
    if isinstance(data, ray.data.Dataset):
        return data
    if isinstance(data, str | Path):
        if _is_parquet(Path(data)):
            return ray.data.read_parquet(str(data))
        table = read_table(data)
    else:
        table = to_arrow(data)
    starts = range(0, max(table.num_rows, 1), _BLOCK_ROWS)
    return ray.data.from_arrow([table.slice(s, _BLOCK_ROWS) for s in starts])


def _encode_block(batch: pa.Table, *, transformer: TableTransformer, constraints: ConstraintSet,
                  encoding: NetworkEncoding, seed: int) -> dict[str, np.ndarray]:
    """One block in network space (a Ray Data map)."""
    content = int(np.bitwise_xor.reduce(row_keys(batch, seed=seed))) if batch.num_rows else 0
    rng = np.random.default_rng(np.random.SeedSequence((seed, content)))
    frame = constraints.to_model_space(transformer.forward(batch))
    encoded = encoding.encode(frame, rng=rng)
    return {SCALARS: encoded.scalars.astype(np.float32), INDICES: encoded.indices}


def encode_dataset(dataset: Any, *, transformer: TableTransformer, constraints: ConstraintSet,
                   encoding: NetworkEncoding, seed: int) -> Any:
    """The rows of ``dataset`` in network space: float32 ``scalars`` and int64 ``indices``.

    As in a local fit, the transformer's model space is reparametrised by the table
    spec's ``constraints`` (inequalities as differences, formula columns dropped).
    """
    return dataset.map_batches(
        _encode_block, fn_kwargs={"transformer": transformer, "constraints": constraints,
                                  "encoding": encoding, "seed": seed},
        batch_format="pyarrow", batch_size=None)


def _matrix(values: Any, n_rows: int, dtype: type) -> np.ndarray:
    array: np.ndarray = np.asarray(values, dtype=dtype)
    return array.reshape(n_rows, -1) if array.size or n_rows == 0 else np.zeros((n_rows, 0), dtype)


def read_shard(shard: Any, *, n_scalars: int, n_indices: int) -> EncodedTable:
    """The rows of a worker's ``ray.train.get_dataset_shard`` iterator, in memory.

    Training-by-sampling draws rows at random from the shard, so the shard (about
    ``1 / workers`` of the table, compactly encoded) is held by its worker.
    """
    scalars: list[np.ndarray] = [np.zeros((0, n_scalars), np.float32)]
    indices: list[np.ndarray] = [np.zeros((0, n_indices), np.int64)]
    for batch in shard.iter_batches(batch_format="numpy", batch_size=None):
        n = len(batch[INDICES])
        scalars.append(_matrix(batch[SCALARS], n, np.float32).reshape(n, n_scalars))
        indices.append(_matrix(batch[INDICES], n, np.int64).reshape(n, n_indices))
    return EncodedTable(scalars=np.concatenate(scalars), indices=np.concatenate(indices))
