"""How busy the shared machine is, and how much memory a phase peaks at.

Every benchmark script times phases on a 2-core machine that other people also use. These
helpers let a script wait until the machine is quiet, record how quiet it was, and measure a
phase's peak RSS. Standard library plus psutil only: the SDV side of the benchmarks imports
this module too, inside the separate benchmark virtual environment.
"""

from __future__ import annotations

import os
import sys
import threading
import time
from pathlib import Path

DEFAULT_MAX_BUSY = 0.5  # cores other processes may keep busy before a timed phase starts


def load_1min() -> float:
    return os.getloadavg()[0]


def cpu_times() -> tuple[int, int]:
    """(busy, total) jiffies over all CPUs since boot, from /proc/stat."""
    fields = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    idle = fields[3] + fields[4]  # idle + iowait
    return sum(fields) - idle, sum(fields)


def busy_cores(window_s: float = 3.0) -> float:
    """Cores kept busy by everything else while this process sleeps for ``window_s``."""
    busy0, total0 = cpu_times()
    time.sleep(window_s)
    busy1, total1 = cpu_times()
    return (busy1 - busy0) / max(total1 - total0, 1) * (os.cpu_count() or 1)


def wait_for_quiet(max_busy: float = DEFAULT_MAX_BUSY, max_wait_s: float = 600.0) -> dict[str, float]:
    """Wait until other work keeps at most ``max_busy`` cores busy; return what was seen.

    Timing under load would measure the other people's work, not ours. The 1-min load
    average lags (it still counts our own previous phase for a minute or two), so the gate is
    the CPU time others used over a short idle window; both figures are returned to be
    recorded. We wait rather than fail, and warn when we gave up waiting.
    """
    deadline = time.monotonic() + max_wait_s
    busy = busy_cores()
    while busy > max_busy and time.monotonic() < deadline:
        print(f"# others keep {busy:.2f} cores busy (1-min load {load_1min():.2f}): waiting",
              file=sys.stderr, flush=True)
        time.sleep(10)
        busy = busy_cores()
    if busy > max_busy:
        print(f"# WARNING: timing while others keep {busy:.2f} cores busy", file=sys.stderr)
    return {"busy_cores": round(busy, 2), "load_1min": round(load_1min(), 2)}


class PeakRss:
    """Peak RSS of a ``with`` block: the kernel's VmHWM after a reset, else psutil polling.

    Attributes: ``start_bytes`` (RSS on entry), ``peak_bytes``, ``exact`` (True when the
    kernel high-water mark could be reset and read, so no short spike between polls is missed).
    """

    def __init__(self, interval_s: float = 0.02) -> None:
        import psutil

        self._process = psutil.Process()
        self._interval_s = interval_s
        self.start_bytes = self.peak_bytes = self._process.memory_info().rss
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._poll, daemon=True)
        try:
            Path("/proc/self/clear_refs").write_text("5")  # resets VmHWM to the current RSS
            self.exact = True
        except OSError:
            self.exact = False

    def _poll(self) -> None:
        while not self._stop.wait(self._interval_s):
            self.peak_bytes = max(self.peak_bytes, self._process.memory_info().rss)

    def __enter__(self) -> PeakRss:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
        self.peak_bytes = max(self.peak_bytes, self._process.memory_info().rss)
        if self.exact:
            for line in Path("/proc/self/status").read_text().splitlines():
                if line.startswith("VmHWM:"):
                    self.peak_bytes = max(self.peak_bytes, int(line.split()[1]) * 1024)

    @property
    def mib(self) -> float:
        return self.peak_bytes / 2**20
