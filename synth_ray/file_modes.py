"""Permissions for files and folders made through ``tempfile`` (which makes them private).

Staged outputs are renamed into place, so they must end with the permissions a
plain ``open``/``mkdir`` would have given them under the process's umask.
"""

from __future__ import annotations

import os
from pathlib import Path

__all__ = ["publishable"]


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def publishable(path: Path) -> Path:
    """Give ``path`` (and, for a folder, its direct files) the umask's default modes."""
    mask = _umask()
    if path.is_dir():
        path.chmod(0o777 & ~mask)
        for child in path.iterdir():
            if child.is_file():
                child.chmod(0o666 & ~mask)
    elif path.exists():
        path.chmod(0o666 & ~mask)
    return path
