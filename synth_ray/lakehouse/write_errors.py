"""What a failed table write means to the user: a full disk or a concurrent writer, named as such.

Arrow, deltalake (Rust) and the OS report a full file system each in their own words
(``OSError(28)``, ``DeltaError('... No space left on device (os error 28)')``, ``EFBIG``
past a file size limit); a Delta commit that lost a race to another writer raises
deltalake's ``CommitFailedError``. Writers run inside :func:`write_errors` so both come
out as synth-ray errors that name the table's path and say what to do.
"""

from __future__ import annotations

import errno
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from synth_ray.errors import ConcurrentWriteError, StorageFullError, SynthRayError

__all__ = ["is_storage_full", "write_errors"]

_FULL_ERRNOS = (errno.ENOSPC, errno.EDQUOT, errno.EFBIG)
_FULL_WORDS = ("no space left on device", "disk quota exceeded", "file too large",
               "os error 28", "os error 122", "os error 27")


def is_storage_full(exc: BaseException) -> bool:
    """Whether ``exc`` (or what caused it) says the file system is full or a size limit hit."""
    seen: BaseException | None = exc
    while seen is not None:
        if isinstance(seen, OSError) and seen.errno in _FULL_ERRNOS:
            return True
        if any(word in str(seen).lower() for word in _FULL_WORDS):
            return True
        seen = seen.__cause__ or seen.__context__
    return False


def _commit_conflict(exc: BaseException) -> bool:
    return type(exc).__name__ == "CommitFailedError"


@contextmanager
def write_errors(target: Path) -> Iterator[None]:
    """Translate a full disk and a lost commit race while writing ``target`` into synth-ray errors.

    Raises:
        StorageFullError: the file system holding ``target`` (or a size limit) is full.
        ConcurrentWriteError: another writer committed to the Delta table first.
    """
    try:
        yield
    except SynthRayError:
        raise
    except Exception as exc:
        if is_storage_full(exc):
            raise StorageFullError(
                f"the disk is full (or a file size limit was reached) while writing the table at "
                f"{str(target)!r} ({exc}); free space on that file system (or write to another "
                "path) and rerun: the partial files were removed and the published table is as it was"
            ) from exc
        if _commit_conflict(exc):
            raise ConcurrentWriteError(
                f"another process committed to the Delta table at {str(target)!r} while this write "
                "ran, so this write was not committed and its files were removed; rerun it to "
                f"write on top of the new version ({exc})"
            ) from exc
        raise
