"""One writer at a time per folder table: an ``fcntl`` lock beside the table.

Parquet folders have no transaction log to arbitrate concurrent writers, so a writer
holds an exclusive ``flock`` on ``.<name>.lock`` (in the target's parent folder) from
the moment it starts staging until the new folder is published. A second writer fails
at once with :class:`~synth_ray.errors.ConcurrentWriteError` naming the holder's pid;
it never waits on a lock that a stuck process could hold forever. The kernel releases
the lock when its holder dies, even by SIGKILL, so a killed writer never blocks the next.

The lock file is removed on release, without a race: a locker checks, once it holds the
lock, that the path still names the file it locked (else a releaser removed it meanwhile
and it locks again), and a releaser removes the path while still holding the lock.
"""

from __future__ import annotations

import fcntl
import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from synth_ray.errors import ConcurrentWriteError

__all__ = ["folder_lock", "lock_path"]

_POLL_S = 0.05


def lock_path(target: Path) -> Path:
    """The lock file of the table at ``target``: ``.<name>.lock`` beside it."""
    return target.parent / f".{target.name}.lock"


def _holder(path: Path) -> str:
    try:
        pid = path.read_text().strip()
    except OSError:
        pid = ""
    return f"pid {pid}" if pid else "another process"


def _try_lock(path: Path) -> int | None:
    """The fd of ``path`` locked exclusively, or None when another process holds it."""
    while True:
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            return None
        try:
            same = os.fstat(fd).st_ino == os.stat(path).st_ino
        except FileNotFoundError:
            same = False
        if same:
            return fd
        os.close(fd)  # released and removed by its last holder meanwhile: lock the new file


@contextmanager
def folder_lock(target: Path, *, timeout_s: float = 0.0) -> Iterator[None]:
    """Hold the table's writer lock for the ``with`` block.

    Args:
        target: the table's folder (it need not exist yet).
        timeout_s: how long to wait for a busy lock before failing (0: fail at once).

    Raises:
        ConcurrentWriteError: another process holds the lock (the message names its pid).
    """
    path = lock_path(target)
    path.parent.mkdir(parents=True, exist_ok=True)
    deadline = time.monotonic() + timeout_s
    while (fd := _try_lock(path)) is None:
        if time.monotonic() >= deadline:
            raise ConcurrentWriteError(
                f"the table at {str(target)!r} is being written by {_holder(path)} (lock "
                f"{str(path)!r}); nothing was written: wait for that write to finish and retry"
            )
        time.sleep(_POLL_S)
    try:
        os.ftruncate(fd, 0)
        os.write(fd, str(os.getpid()).encode())
        yield
    finally:
        path.unlink(missing_ok=True)
        os.close(fd)
