"""The disk filling up during a refresh: a clear error, no debris, the published table intact.

The disk is a real 1 MiB tmpfs mounted for the test (``mount -t tmpfs``, as root). Where
mounting is not permitted (an unprivileged CI container), the refresh runs in a child
process whose file size limit (``RLIMIT_FSIZE``, with ``SIGXFSZ`` ignored so a write
fails with ``EFBIG`` instead of killing it) is smaller than the new data file, so the
test still runs, and still fails if the error, the cleanup or the old table is wrong.
Both ways run here, the limit always, the tmpfs where the mount works.
"""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from deltalake import DeltaTable

import synth_ray
from synth_ray.cli.main import main

OLD_ROWS, NEW_ROWS = 2_000, 300_000  # 35 kB: fits in 1 MiB; 3 MB: does not
LIMIT = 1 << 20

_RLIMIT_CHILD = """
import resource, signal, sys
signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
resource.setrlimit(resource.RLIMIT_FSIZE, ({limit}, {limit}))
from synth_ray.cli.main import main
sys.exit(main(sys.argv[1:]))
"""


@pytest.fixture(scope="module")
def model_dir(diamonds_model, tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("storage") / "model"
    diamonds_model.save(path)
    return path


@pytest.fixture
def small_disk(tmp_path) -> Iterator[Path | None]:
    """A 1 MiB tmpfs, or None where this process may not mount one."""
    mount = tmp_path / "disk"
    mount.mkdir()
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={LIMIT}", "tmpfs", str(mount)],
                          capture_output=True, text=True, check=False)
    if done.returncode != 0:
        yield None
        return
    try:
        yield mount
    finally:
        subprocess.run(["umount", "-l", str(mount)], check=True)


def sample_args(model_dir: Path, target: Path, fmt: str, rows: int) -> list[str]:
    return ["sample", str(model_dir), "--rows", str(rows), "--out", str(target), "--format", fmt,
            "--seed", str(rows), "--threads", "1", "-q"]


def refresh_in_child(args: list[str], *, limited: bool) -> subprocess.CompletedProcess[str]:
    """``synth-ray sample`` in a child process (with the file size limit when ``limited``)."""
    if limited:
        command = [sys.executable, "-c", _RLIMIT_CHILD.format(limit=LIMIT), *args]
    else:
        command = [sys.executable, "-m", "synth_ray", *args]
    return subprocess.run(command, capture_output=True, text=True, timeout=300)


def entries(folder: Path) -> list[str]:
    return sorted(p.relative_to(folder).as_posix() for p in folder.rglob("*"))


@pytest.mark.parametrize("fmt", ["delta", "parquet"])
@pytest.mark.parametrize("disk", ["tmpfs", "file-size-limit"])
def test_full_disk_gives_a_clear_error_no_debris_and_the_old_table(model_dir, small_disk, tmp_path,
                                                                 fmt, disk):
    if disk == "tmpfs" and small_disk is None:
        disk = "file-size-limit"  # no mount here: the limit stands in for the full disk
    root = small_disk if disk == "tmpfs" else tmp_path
    assert root is not None
    target = root / "lake" / "table"
    assert main(sample_args(model_dir, target, fmt, OLD_ROWS)) == 0
    old, before = synth_ray.read_table(target), entries(root)
    done = refresh_in_child(sample_args(model_dir, target, fmt, NEW_ROWS),
                            limited=disk == "file-size-limit")
    assert done.returncode == 3, done.stderr  # a synth-ray error, not a crash or a signal
    message = done.stderr
    assert f"while writing the table at {str(target)!r}" in message, message
    assert "free space on that file system" in message
    assert "No space left on device" in message or "File too large" in message
    assert entries(root) == before  # no staging folder, part file or lock file left
    assert synth_ray.read_table(target).equals(old)
    if fmt == "delta":
        assert DeltaTable(str(target)).version() == 0
