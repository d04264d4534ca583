"""A real refresh (``synth-ray sample``) in a child process, killed by SIGKILL at a chosen point.

Run by the fault tests as ``python fault_child.py POINT MARKER -- <synth-ray sample args>``
(or ``-- --publish CONFIG STAGING RUN SEED``: the refresh DAG's publish step).
POINT says where the process kills itself (``os.kill(os.getpid(), SIGKILL)``: no
cleanup, no ``finally``, exactly like the OOM killer or a lost node):

- ``none``: no kill; the refresh runs to its end.
- ``mid-write``: while the data file is being written, after two batches are in it.
- ``before-publish``: the new rows complete on disk, just before the Delta commit or
  (Parquet folder) the atomic exchange of the staged folder with the published one.
- ``after-publish``: just after the commit / the exchange returned, before any cleanup.
- ``mid-swap``: Parquet folder where no atomic exchange exists (forced here): between the
  two renames of the fallback swap, when the published folder has been moved aside.
- ``hold``: no kill; wait before publishing until the file MARKER + ``.go`` exists (the
  concurrency tests release two writers at once).

The child writes MARKER when it reaches the point, so the test knows the kill happened
where it meant it to.
"""

from __future__ import annotations

import os
import signal
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any


def _die(marker: Path, point: str) -> None:
    marker.write_text(point)
    os.kill(os.getpid(), signal.SIGKILL)


def _around(owner: Any, name: str, before: Callable[[], None] | None = None,
            after: Callable[[], None] | None = None) -> None:
    original = getattr(owner, name)

    def wrapped(*args: Any, **kwargs: Any) -> Any:
        if before is not None:
            before()
        result = original(*args, **kwargs)
        if after is not None:
            after()
        return result

    setattr(owner, name, wrapped)


def _hold(marker: Path) -> None:
    marker.write_text("waiting")
    go = Path(f"{marker}.go")
    while not go.exists():
        time.sleep(0.01)


def _publish_step(delta: bool) -> tuple[Any, str]:
    """The function that makes the new rows visible: the Delta commit or the folder exchange."""
    from synth_ray.lakehouse import delta_commit, folder_swap

    return (delta_commit, "commit_parquet_files") if delta else (folder_swap, "exchange_paths")


def _mid_swap(marker: Path) -> None:
    """Force the two-rename fallback and die once the published folder is aside."""
    from synth_ray.lakehouse import folder_swap

    folder_swap.exchange_paths = lambda a, b: False  # type: ignore[assignment]
    calls = [0]
    real_replace = os.replace

    def replace(src: Any, dst: Any) -> None:
        real_replace(src, dst)
        calls[0] += 1
        if calls[0] == 3:  # staged aside, staged renamed, published folder aside: no target now
            _die(marker, "mid-swap")

    folder_swap.os.replace = replace  # type: ignore[attr-defined]


def _arm(point: str, marker: Path, delta: bool) -> None:
    import pyarrow.parquet as pq

    if point == "mid-write":
        writes = [0]

        def count() -> None:
            writes[0] += 1
            if writes[0] == 2:
                _die(marker, point)

        _around(pq.ParquetWriter, "write_table", after=count)
    elif point in ("before-publish", "after-publish", "hold"):
        owner, name = _publish_step(delta)
        if point == "hold":
            _around(owner, name, before=lambda: _hold(marker))
        elif point == "before-publish":
            _around(owner, name, before=lambda: _die(marker, point))
        else:
            _around(owner, name, after=lambda: _die(marker, point))
    elif point == "mid-swap":
        _mid_swap(marker)


def _publish(point: str, marker: Path, config_path: str, staging: str, run: str, seed: str) -> int:
    """The refresh DAG's publish step (``airflow_dags.publish.publish``) of staged rows."""
    from airflow_dags.config import TargetFormat, load_table_config
    from airflow_dags.publish import publish

    config = load_table_config(config_path)
    _arm(point, marker, config.target.format is TargetFormat.DELTA)
    publish(config, staging=Path(staging), run=run, seed=int(seed))
    return 0


def main(argv: list[str]) -> int:
    """Arm the kill point, then run ``synth-ray sample`` with the arguments after ``--``.

    ``-- --publish CONFIG STAGING RUN SEED`` runs the DAG's publish step instead.
    """
    point, marker, sep, *cli = argv
    assert sep == "--", "usage: fault_child.py POINT MARKER -- <synth-ray sample args>"
    if cli[0] == "--publish":
        return _publish(point, Path(marker), *cli[1:])
    delta = "delta" in cli[cli.index("--format") + 1] if "--format" in cli else True
    _arm(point, Path(marker), delta)
    from synth_ray.cli.main import main as synth_ray_main

    return synth_ray_main(["sample", *cli])


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
