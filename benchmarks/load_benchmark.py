"""Load: 200,000,000 synthetic rows into a Delta table in one run, with bounded memory.

Target (issue text):
  "200,000,000 rows sampled into a Delta table on this machine in one run with peak
  memory under 4 GB; the time recorded in benchmarks/RESULTS.md."

Steps:
1. fit the Gaussian copula on ggplot2/diamonds (all 53,940 rows) with ``synth-ray fit``;
2. run ``synth-ray sample MODEL --rows N --out TMP/table --format delta --engine E -q`` as a
   subprocess (``--engine local`` by default; ``ray`` samples with Ray Data). Its peak
   memory is the larger of the process tree's summed RSS, polled every 0.1 s (the tree
   holds Ray's raylet, GCS and worker processes when the engine is ray), and the child's
   own ``ru_maxrss`` from ``wait4``; its time is the command's wall time, start-up
   included;
3. check the table: ``deltalake`` reads it, its row count (from the commit's file
   statistics and from a full count of the Parquet files) is N, it has exactly one
   version (one atomic commit), and its schema is the model's;
4. delete the table (about 2 GB at 200M rows on diamonds).

Usage:
  .venv/bin/python benchmarks/load_benchmark.py [--rows 200000000] [--engine local|ray]
      [--out-json results.json]

Exit status 1 when a target fails.
"""

from __future__ import annotations

import argparse
import json
import re
import shutil
import sys
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from copula_benchmark import CpuWatch, machine_info, print_targets
from machine_load import wait_for_quiet
from sampling_memory_benchmark import (
    fit_and_save,
    run_monitored,
    scratch_workdir,
    synth_ray_command,
)

TARGET_PEAK_BYTES = 4_000_000_000  # "under 4 GB", read as 10^9 bytes (the stricter reading)
SAMPLE_SEED = 1
MIB = 2**20


@dataclass
class LoadRun:
    command: list[str]
    engine: str
    rows: int
    wall_s: float
    rows_per_s: float
    cli_reported_rows_per_s: float | None
    polled_peak_rss_mib: float
    child_ru_maxrss_mib: float
    peak_rss_mib: float
    table_rows_from_log: int
    table_rows_counted: int
    table_files: int
    table_bytes: int
    table_versions: list[int]
    schema_matches: bool
    load_before: dict[str, float]
    others_cores: float


def check_table(path: Path, model_dir: Path) -> tuple[int, int, int, int, list[int], bool]:
    """(rows by the log's file statistics, rows counted in the files, files, bytes,
    versions in the log, schema equals the model's Delta schema)."""
    import pyarrow as pa
    import pyarrow.dataset as ds
    from deltalake import DeltaTable

    import synth_ray
    from synth_ray.lakehouse.writers import delta_schema

    table = DeltaTable(str(path))
    actions = table.get_add_actions(flatten=True)
    actions = pa.table(actions)
    log_rows = sum(int(v) for v in actions.column("num_records").to_pylist())
    files = [Path(u.removeprefix("file://")) for u in table.file_uris()]
    counted = ds.dataset([str(f) for f in files], format="parquet").count_rows()
    versions = sorted(int(h["version"]) for h in table.history())
    expected = delta_schema(synth_ray.load(model_dir).transformer.schema)
    actual = pa.schema(table.schema().to_arrow())
    matches = [f.name for f in expected] == list(actual.names) and all(
        str(e.type).replace("large_", "") == str(a.type).replace("large_", "").replace("_view", "")
        for e, a in zip(expected, actual, strict=True))
    return log_rows, counted, len(files), sum(f.stat().st_size for f in files), versions, matches


def run_load(model_dir: Path, rows: int, engine: str, workdir: Path) -> LoadRun:
    target = workdir / "table"
    command = [synth_ray_command(), "sample", str(model_dir), "--rows", str(rows),
               "--out", str(target), "--format", "delta", "--engine", engine,
               "--seed", str(SAMPLE_SEED), "-q"]
    load_before = wait_for_quiet(max_wait_s=120)
    with CpuWatch() as watch:
        code, wall, polled, ru_maxrss, _, stdout = run_monitored(command)
    if code != 0:
        raise SystemExit(f"{' '.join(command)} exited {code}:\n{stdout[-4000:]}")
    log_rows, counted, n_files, n_bytes, versions, matches = check_table(target, model_dir)
    reported = re.search(r"\(([\d,]+) rows/s\)", stdout)
    return LoadRun(
        command=command, engine=engine, rows=rows, wall_s=wall, rows_per_s=rows / wall,
        cli_reported_rows_per_s=float(reported.group(1).replace(",", "")) if reported else None,
        polled_peak_rss_mib=polled / MIB, child_ru_maxrss_mib=ru_maxrss / MIB,
        peak_rss_mib=max(polled, ru_maxrss) / MIB, table_rows_from_log=log_rows,
        table_rows_counted=counted, table_files=n_files, table_bytes=n_bytes,
        table_versions=versions, schema_matches=matches, load_before=load_before,
        others_cores=watch.others_cores)


def report(run: LoadRun, machine: dict[str, Any]) -> list[tuple[bool, str]]:
    print(f"# {machine['date']}, synth-ray at {machine['git']}, "
          f"{machine['cpu_count']} cores ({machine['cpu']}), "
          f"{machine['mem_total_gib']:.1f} GiB, Python {machine['python']}")
    print(f"# other processes used {run.others_cores:.2f} cores during the run "
          f"(1-min load {run.load_before['load_1min']:.2f} before)")
    print(f"# command: {' '.join(run.command)}")
    print("\n| engine | rows | seconds | rows/s | peak RSS MiB | files | MiB on disk | versions |")
    print("|---|---|---|---|---|---|---|---|")
    print(f"| {run.engine} | {run.rows:,} | {run.wall_s:.1f} | {run.rows_per_s:,.0f} "
          f"| {run.peak_rss_mib:,.0f} | {run.table_files} | {run.table_bytes / MIB:,.0f} "
          f"| {run.table_versions} |")
    reported = f"{run.cli_reported_rows_per_s:,.0f}" if run.cli_reported_rows_per_s else "n/a"
    print(f"\n# polled tree peak {run.polled_peak_rss_mib:,.0f} MiB, child ru_maxrss "
          f"{run.child_ru_maxrss_mib:,.0f} MiB; the command reported {reported} rows/s "
          f"(sampling + write, without start-up)")
    checks = [
        (run.table_rows_from_log == run.rows == run.table_rows_counted,
         f"the Delta table holds the {run.rows:,} rows asked for: {run.table_rows_from_log:,} "
         f"by the log, {run.table_rows_counted:,} counted in its files"),
        (run.table_versions == [0], f"one run, one atomic commit: versions {run.table_versions}"),
        (run.schema_matches, "the table's schema is the model's"),
        (run.peak_rss_mib * MIB < TARGET_PEAK_BYTES,
         f"peak memory under 4 GB ({TARGET_PEAK_BYTES / MIB:,.0f} MiB): "
         f"{run.peak_rss_mib:,.0f} MiB"),
    ]
    print_targets(checks)
    print(f"time  {run.wall_s:.1f} s for {run.rows:,} rows")
    return checks


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=200_000_000)
    parser.add_argument("--engine", choices=["local", "ray"], default="local")
    parser.add_argument("--tmp-dir", type=Path, default=None,
                        help="where the model and the table go (default: the system temp)")
    parser.add_argument("--out-json", type=Path, help="also write every figure as JSON")
    args = parser.parse_args(argv)

    machine = machine_info()
    workdir = scratch_workdir("load-", tmp_dir=args.tmp_dir, rows=args.rows)
    try:
        fit_and_save(workdir / "model")
        run = run_load(workdir / "model", args.rows, args.engine, workdir)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    checks = report(run, machine)
    if args.out_json:
        args.out_json.write_text(json.dumps({
            "machine": machine, "run": asdict(run),
            "targets": [{"passed": p, "target": line} for p, line in checks],
        }, indent=2))
    return 0 if all(p for p, _ in checks) else 1


if __name__ == "__main__":
    sys.exit(main())
