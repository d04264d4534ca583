"""Where the CPU of ``synth-ray sample ... --format parquet`` goes: sampling vs Parquet writing.

Issue 2 asks that ``synth-ray sample`` of 50,000,000 rows to Parquet keep its rows/s within
20% of the in-memory figure. ``sampling_memory_benchmark.py`` measures both rates; this
script explains the gap. It samples ``--rows`` diamonds rows on one thread into the CLI's
65,536-row tables, held in memory, then writes the same tables with ``ParquetWriter`` under
several writer settings and prints the process CPU time per row (``getrusage``) and the
file size of each, then the cost of each column alone under the CLI's settings. With both
costs per row, the best ratio the command can reach on a machine whose cores are shared by
sampling and writing is ``sample / (sample + write)``.

Usage:
  .venv/bin/python benchmarks/parquet_write_cost.py [--rows 2000000] [--out-dir /tmp]
"""

from __future__ import annotations

import argparse
import resource
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from machine_load import wait_for_quiet

# The CLI's writer (synth_ray/lakehouse/writers.py): pyarrow's defaults (snappy,
# dictionary encoding and statistics on) and 2^20-row row groups.
ROW_GROUP = 1 << 20


def cpu_seconds() -> float:
    """User + system CPU of this process so far."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


@contextmanager
def cpu_per_row(rows: int, into: list[float]) -> Iterator[None]:
    """Append the CPU microseconds per row spent inside the block to ``into``."""
    start = cpu_seconds()
    yield
    into.append((cpu_seconds() - start) / rows * 1e6)


def write_cost(tables: list[Any], path: Path, **settings: Any) -> tuple[float, float]:
    """(core-µs per row, file MiB) of writing ``tables`` to ``path`` with ``settings``."""
    import pyarrow.parquet as pq

    rows = sum(t.num_rows for t in tables)
    cost: list[float] = []
    with cpu_per_row(rows, cost), pq.ParquetWriter(path, tables[0].schema, **settings) as writer:
        for table in tables:
            writer.write_table(table, row_group_size=ROW_GROUP)
    size = path.stat().st_size / 2**20
    path.unlink()
    return cost[0], size


def settings_to_try(string_columns: list[str]) -> dict[str, dict[str, Any]]:
    """Writer settings to compare, by label (the first is the CLI's)."""
    return {
        "the CLI's (snappy, dictionary, statistics)": {},
        "statistics off": {"write_statistics": False},
        "dictionary only on string columns": {"use_dictionary": string_columns},
        "same, no compression": {"use_dictionary": string_columns, "compression": "none"},
        "no dictionary, no compression": {"use_dictionary": False, "compression": "none"},
        "lz4": {"compression": "lz4"},
        "zstd level 1": {"compression": "zstd", "compression_level": 1},
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=2_000_000)
    parser.add_argument("--out-dir", type=Path, default=Path(tempfile.gettempdir()))
    parser.add_argument("--max-wait", type=float, default=60.0)
    args = parser.parse_args(argv)

    import pyarrow as pa

    from synth_ray import api
    from synth_ray.datasets import load_dataset

    synth = api.fit(load_dataset("ggplot2/diamonds"), seed=0)
    quiet = wait_for_quiet(max_wait_s=args.max_wait)
    print(f"others' busy cores before: {quiet.get('busy_cores', float('nan')):.2f}")
    sampling: list[float] = []
    with cpu_per_row(args.rows, sampling):
        tables = list(synth.iter_batches(args.rows, seed=1, threads=1))
    print(f"sampling, 1 thread: {sampling[0]:.3f} core-µs/row ({len(tables)} tables)")
    strings = [f.name for f in tables[0].schema if pa.types.is_string(f.type)]
    path = args.out_dir / "synth-ray-parquet-write-cost.parquet"
    first: float | None = None
    for label, settings in settings_to_try(strings).items():
        cost, size = write_cost(tables, path, **settings)
        first = cost if first is None else first
        print(f"write, {label:45s} {cost:.3f} core-µs/row  {size:8.1f} MiB")
    for field in tables[0].schema:
        cost, _ = write_cost([t.select([field.name]) for t in tables], path)
        print(f"  column {field.name:12s} {field.type!s:10s} {cost:.3f} core-µs/row")
    assert first is not None
    print(f"best CLI/in-memory ratio with the CLI's writer when sampling and writing share the "
          f"cores: {sampling[0] / (sampling[0] + first):.2f} (the target is 0.8)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
