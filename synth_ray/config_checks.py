"""Strict checks shared by every config, spec and artifact parser.

Unknown keys are refused with the key's name and the nearest valid one, so that a
typo in a YAML file is a clear error rather than a silently ignored setting.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Mapping
from typing import Any

from synth_ray.errors import ConfigError

__all__ = ["check_keys", "unknown_name_message"]


def unknown_name_message(name: str, valid: Iterable[str], *, what: str) -> str:
    """A message for an unknown ``name`` that suggests the closest valid one."""
    valid = list(valid)
    close = difflib.get_close_matches(name, valid, n=1)
    hint = f"did you mean {close[0]!r}? " if close else ""
    shown = ", ".join(repr(v) for v in valid[:20]) + (" ..." if len(valid) > 20 else "")
    return f"unknown {what} {name!r}: {hint}valid {what}s are {shown}"


def check_keys(data: Mapping[str, Any], *, allowed: Iterable[str], where: str) -> None:
    """Raise :class:`ConfigError` if ``data`` has a key outside ``allowed``."""
    if not isinstance(data, Mapping):
        raise ConfigError(f"{where}: expected a mapping of keys to values, got {type(data).__name__}")
    allowed = [a for a in allowed if not a.startswith("_")]
    for key in data:
        if key not in allowed:
            raise ConfigError(f"{where}: " + unknown_name_message(str(key), allowed, what="key"))
