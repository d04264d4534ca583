"""Connecting to Ray: a local cluster by default, a real one when an address is given."""

from __future__ import annotations

import os
import socket
from types import ModuleType

from synth_ray.errors import MissingExtraError, SynthRayError

__all__ = ["RayUnavailableError", "ensure_ray", "import_ray"]


class RayUnavailableError(SynthRayError, ConnectionError):
    """The Ray cluster at the given address cannot be reached."""


def import_ray(feature: str) -> ModuleType:
    """``import ray``, or an ImportError naming the extra to install."""
    try:
        import ray
    except ImportError:
        raise MissingExtraError(package="ray", extra="ray", feature=feature) from None
    return ray


_CONNECT_TIMEOUT_S = 5.0


def _check_reachable(address: str) -> None:
    """Fail fast on a dead ``host:port``: ``ray.init`` itself retries for many minutes."""
    if address == "auto" or ":" not in address:
        return
    host, _, port = address.removeprefix("ray://").rpartition(":")
    try:
        with socket.create_connection((host or "127.0.0.1", int(port)), timeout=_CONNECT_TIMEOUT_S):
            pass
    except (OSError, ValueError) as exc:
        raise RayUnavailableError(
            f"cannot reach a Ray cluster at {address!r} ({exc}); start one with `ray start --head`, "
            "fix the address, or omit it to use a local Ray"
        ) from None


def ensure_ray(*, address: str | None = None, num_cpus: int | None = None) -> ModuleType:
    """Connect to Ray once per process and return the ``ray`` module.

    Args:
        address: a cluster address (``ray://host:10001``, ``host:6379``, ``auto``); by default
            ``RAY_ADDRESS`` if set, else a local Ray started for this process.
        num_cpus: CPUs of a local Ray (default: all).

    Raises:
        RayUnavailableError: nothing answers at ``address``.
    """
    ray = import_ray("Ray sampling and fitting")
    if ray.is_initialized():
        return ray
    target = address or os.environ.get("RAY_ADDRESS") or None
    if target:
        _check_reachable(target)
    try:
        if target:
            ray.init(address=target, logging_level="WARNING", log_to_driver=False)
        else:
            ray.init(num_cpus=num_cpus, include_dashboard=False, logging_level="WARNING",
                     log_to_driver=False)
    except (ConnectionError, TimeoutError, RuntimeError, ValueError) as exc:
        raise RayUnavailableError(
            f"cannot reach a Ray cluster at {target!r} ({type(exc).__name__}: {exc}); start one "
            "with `ray start --head`, fix the address, or omit it to use a local Ray"
        ) from None
    return ray
