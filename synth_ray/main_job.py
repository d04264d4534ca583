"""The main job, end to end on embedded defaults: what ``synth-ray demo`` runs.

A bundled real table is published as a local Delta "source" table (standing in for a
lakehouse table), a generator is fitted on it and saved, synthetic rows are written
to a synthetic Delta table in one commit, and a short quality summary is printed.
"""

from __future__ import annotations

import argparse
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pyarrow as pa

__all__ = ["MainJobResult", "exact_copy_count", "publish_source", "run_demo_command", "run_main_job"]


@dataclass(frozen=True)
class MainJobResult:
    """Where the main job put things and what it measured."""

    source: Path
    model: Path
    synthetic: Path
    delta_version: int | None
    rows: int
    quality: float
    column_shapes: float
    pair_trends: float
    exact_copies: int


def exact_copy_count(real: pa.Table, synthetic: pa.Table) -> int:
    """How many synthetic rows are exact copies of some real row (all columns equal)."""
    import pandas as pd

    def row_hashes(table: pa.Table) -> np.ndarray:
        return pd.util.hash_pandas_object(table.to_pandas(), index=False).to_numpy()

    return int(np.isin(row_hashes(synthetic), row_hashes(real)).sum())


def publish_source(dataset: str, path: Path) -> pa.Table:
    """Publish the bundled table ``dataset`` as a Delta table at ``path`` (the job's real table)."""
    from synth_ray.datasets import load_dataset
    from synth_ray.lakehouse.writers import write_table
    from synth_ray.table_input import to_arrow

    real = to_arrow(load_dataset(dataset))
    write_table([real], schema=real.schema, path=path, format="delta")
    return real


def run_main_job(*, workdir: str | Path = "work", dataset: str = "diamonds",
                 rows: int | None = None, seed: int = 0) -> MainJobResult:
    """Publish the source, fit, save, sample to Delta, score; return what happened."""
    from synth_ray.evaluation.quality import quality_score
    from synth_ray.lakehouse.readers import read_table
    from synth_ray.lakehouse.writers import write_table
    from synth_ray.synthesizer import Synthesizer

    root = Path(workdir)
    source, model_dir = root / "lakehouse" / "real" / dataset, root / "models" / dataset
    target = root / "lakehouse" / "synthetic" / dataset
    publish_source(dataset, source)
    real = read_table(source)
    synth = Synthesizer.fit(real, seed=seed)
    synth.save(model_dir)
    n = real.num_rows if rows is None else rows
    written = write_table(synth.iter_batches(n, seed=seed), schema=synth.metadata.arrow_schema,
                          path=target, format="delta")
    synthetic = read_table(target)
    score = quality_score(real, synthetic, synth.metadata, seed=seed)
    return MainJobResult(source=source, model=model_dir, synthetic=target,
                         delta_version=written.version, rows=synthetic.num_rows,
                         quality=score.score, column_shapes=score.column_shapes,
                         pair_trends=score.pair_trends,
                         exact_copies=exact_copy_count(real, synthetic))


def run_demo_command(args: argparse.Namespace) -> int:
    """``synth-ray demo``: run the main job and print where everything is."""
    from synth_ray.lakehouse.readers import read_table

    started = time.perf_counter()
    result = run_main_job(workdir=args.workdir, dataset=args.dataset, rows=args.rows, seed=args.seed)
    print(f"synth-ray main job: {args.dataset} ({time.perf_counter() - started:.1f} s)")
    print(f"  real table      {result.source} (Delta)")
    print(f"  model           {result.model}")
    print(f"  synthetic table {result.synthetic} (Delta, version {result.delta_version}, "
          f"{result.rows:,} rows)")
    print(f"  quality         {result.quality:.3f} (column shapes {result.column_shapes:.3f}, "
          f"pair trends {result.pair_trends:.3f}; SDMetrics QualityReport definition)")
    print(f"  exact copies    {result.exact_copies} of {result.rows:,} synthetic rows equal a real row")
    print("first synthetic rows:")
    print(read_table(result.synthetic).slice(0, 5).to_pandas().to_string(index=False))
    return 0
