"""Replacing a folder table with a staged one so that readers see the old or the new, never neither.

On Linux the swap is one system call, ``renameat2(RENAME_EXCHANGE)``: the staged folder
and the published one trade places atomically, so at every instant the target path
holds a complete table (the old one, then the new one), whatever process is killed when.
The old table is then removed from where the staged one was.

Where the file system or OS has no atomic exchange, the swap takes two renames (the old
folder aside into ``.<name>.old-*/``, then the staged one into place). A process killed
between them leaves the target missing with the old table aside: :func:`recover_folder`
puts the old table back, and every synth-ray writer (under the table's lock) and
:func:`synth_ray.read_table` run it first. Only in that fallback is there a window of
two renames in which a reader outside synth-ray finds no table; it never finds a mix.

Staging folders (``.<name>.staging-*``) and retired ones (``.<name>.old-*``) live beside
the target, on its file system. Those left by a killed writer are removed by the next
writer, which holds the table's lock, so no live writer's staging is ever touched.
"""

from __future__ import annotations

import ctypes
import errno
import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from synth_ray.lakehouse.table_lock import folder_lock

__all__ = ["exchange_paths", "recover_folder", "replace_folder", "staged_folder"]

_AT_FDCWD = -100
_RENAME_EXCHANGE = 2
_UNSUPPORTED = (errno.EINVAL, errno.ENOSYS, errno.ENOTSUP, errno.EXDEV)


def exchange_paths(a: Path, b: Path) -> bool:
    """Swap ``a`` and ``b`` atomically; False where the OS or file system cannot.

    Raises:
        OSError: the exchange is supported but failed (a missing path, no permission).
    """
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        renameat2 = libc.renameat2
    except (OSError, AttributeError):  # not Linux/glibc: no renameat2
        return False
    done = renameat2(_AT_FDCWD, os.fsencode(a), _AT_FDCWD, os.fsencode(b), _RENAME_EXCHANGE)
    if done == 0:
        return True
    code = ctypes.get_errno()
    if code in _UNSUPPORTED:
        return False
    raise OSError(code, os.strerror(code), str(a), None, str(b))


def _aside(target: Path, kind: str) -> Path:
    return Path(tempfile.mkdtemp(prefix=f".{target.name}.{kind}-", dir=target.parent))


def replace_folder(staging: Path, target: Path) -> None:
    """Move ``staging`` to ``target``, retiring what was there; ``staging`` is gone after.

    ``staging`` must be on ``target``'s file system. It is first renamed beside the target
    (so the caller's path stops holding rows the moment the swap begins), then exchanged
    with the target in one step, or moved in by two renames where no exchange exists.
    """
    if not target.exists():
        os.replace(staging, target)
        return
    retired = _aside(target, "old")
    moved = retired / target.name
    os.replace(staging, moved)
    if exchange_paths(moved, target):  # the target now holds the new rows, `moved` the old
        shutil.rmtree(retired, ignore_errors=True)
        return
    new = retired / f"{target.name}.new"
    os.replace(moved, new)
    os.replace(target, moved)  # from here until the next rename: no target; see recover_folder
    os.replace(new, target)
    shutil.rmtree(retired, ignore_errors=True)


def recover_folder(target: Path) -> bool:
    """Put back the table a writer killed mid-swap left aside; True when it did.

    Only the two-rename fallback can leave the target missing: its old folder then waits
    in ``.<name>.old-*/<name>``. Call it holding the table's lock.
    """
    if target.exists():
        return False
    for retired in sorted(target.parent.glob(f".{target.name}.old-*")):
        if (retired / target.name).is_dir():
            os.replace(retired / target.name, target)
            shutil.rmtree(retired, ignore_errors=True)
            return True
    return False


def _remove_debris(target: Path) -> None:
    """Remove the staging and retired folders of writers that died (call under the lock)."""
    for kind in ("staging", "old"):
        for debris in target.parent.glob(f".{target.name}.{kind}-*"):
            shutil.rmtree(debris, ignore_errors=True)


@contextmanager
def staged_folder(target: Path) -> Iterator[Path]:
    """Hold the table's lock and yield a fresh staging folder beside ``target``.

    The lock is taken first; a table a killed writer left mid-swap is recovered and its
    leftovers removed; the staging folder is removed on the way out, whatever happened
    (after a publish it no longer exists).

    Raises:
        ConcurrentWriteError: another process is writing the table.
    """
    target.parent.mkdir(parents=True, exist_ok=True)
    with folder_lock(target):
        recover_folder(target)
        _remove_debris(target)
        staging = _aside(target, "staging")
        try:
            yield staging
        finally:
            shutil.rmtree(staging, ignore_errors=True)
