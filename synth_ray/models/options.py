"""Checking model options: unknown settings are refused by name, never ignored."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from synth_ray.errors import ConfigError

__all__ = ["check_no_options"]


def check_no_options(options: Mapping[str, Any], *, model: str) -> None:
    """Refuse any option for a model that takes none."""
    if options:
        raise ConfigError(
            f"model {model!r} takes no options, got {', '.join(sorted(options))}; remove them"
        )
