"""The processes of a local Spark session: CPU seconds and memory of the JVM and each Python worker.

A local session is the driver's Python (this process), one JVM (driver and executor in one:
``spark-submit`` started by py4j, a child of this process) and the JVM's Python workers
(``pyspark.daemon`` and the workers it forks; reused across tasks). Splitting a job's CPU time
between the JVM and the Python workers says where Spark's per-row cost goes; summing their
memory bounds what the executors hold during a write.
"""

from __future__ import annotations

import contextlib
import os
import threading
import time
from dataclasses import dataclass
from typing import Any

import psutil
from machine_load import cpu_times

MIB = 2**20


def spark_jvm() -> psutil.Process:
    """The JVM of this process's local Spark session (a ``java`` child of this process)."""
    for child in psutil.Process(os.getpid()).children(recursive=True):
        with contextlib.suppress(psutil.Error):
            if child.name() == "java" or "java" in os.path.basename(child.exe()):
                return child
    raise RuntimeError("no local Spark JVM under this process: start a local session first")


def _python_workers(jvm: psutil.Process) -> list[psutil.Process]:
    return [p for p in _safe_children(jvm) if _is_python(p)]


def _safe_children(proc: psutil.Process) -> list[psutil.Process]:
    try:
        return proc.children(recursive=True)
    except psutil.Error:
        return []


def _is_python(proc: psutil.Process) -> bool:
    try:
        return "python" in proc.name().lower() or "pyspark" in " ".join(proc.cmdline())
    except psutil.Error:
        return False


def _cpu_s(proc: psutil.Process) -> float:
    """User + system seconds of ``proc`` and of its children that have exited and were waited for."""
    try:
        t = proc.cpu_times()
    except psutil.Error:
        return 0.0
    return t.user + t.system + t.children_user + t.children_system


@dataclass
class CpuSplit:
    """CPU seconds used during a block: by the JVM, by all Python workers, by the driver's Python."""

    jvm_s: float = 0.0
    python_workers_s: float = 0.0
    driver_s: float = 0.0
    wall_s: float = 0.0
    machine_busy_s: float = 0.0

    @property
    def others_cores(self) -> float:
        """Cores other processes on the machine kept busy, on average, during the block."""
        ours = self.jvm_s + self.python_workers_s + self.driver_s
        return max(0.0, self.machine_busy_s - ours) / max(self.wall_s, 1e-9)

    def per_million(self, rows: int) -> dict[str, float]:
        """Microseconds of CPU each spent per row."""
        scale = 1e6 / max(rows, 1)
        return {"jvm_us_per_row": round(self.jvm_s * scale, 3),
                "python_us_per_row": round(self.python_workers_s * scale, 3),
                "driver_us_per_row": round(self.driver_s * scale, 3)}

    def cores(self) -> dict[str, float]:
        """Average cores each kept busy over the block's wall time."""
        wall = max(self.wall_s, 1e-9)
        return {"jvm_cores": round(self.jvm_s / wall, 2),
                "python_cores": round(self.python_workers_s / wall, 2),
                "driver_cores": round(self.driver_s / wall, 2),
                "others_cores": round(self.others_cores, 2)}


class SparkCpu:
    """``with SparkCpu() as cpu:`` records the JVM's, the Python workers' and the driver's CPU seconds.

    Python workers alive at the start or the end are counted by their own times; a worker
    that exited in between is counted through its parent's ``children_*`` times (the daemon
    waits for the workers it forked).
    """

    def __init__(self) -> None:
        self.jvm = spark_jvm()
        self.driver = psutil.Process(os.getpid())
        self.split = CpuSplit()

    def _snapshot(self) -> tuple[float, dict[int, float], float]:
        workers = {p.pid: _cpu_s(p) for p in _python_workers(self.jvm)}
        jvm = self.jvm.cpu_times()
        driver = self.driver.cpu_times()
        return jvm.user + jvm.system, workers, driver.user + driver.system

    def __enter__(self) -> SparkCpu:
        self._jvm0, self._workers0, self._driver0 = self._snapshot()
        self._busy0 = cpu_times()[0]
        self._start = time.perf_counter()
        return self

    def __exit__(self, *exc: object) -> None:
        jvm1, workers1, driver1 = self._snapshot()
        busy_s = (cpu_times()[0] - self._busy0) / os.sysconf("SC_CLK_TCK")
        python = sum(v - self._workers0.get(pid, 0.0) for pid, v in workers1.items())
        self.split = CpuSplit(jvm_s=jvm1 - self._jvm0, python_workers_s=python,
                              driver_s=driver1 - self._driver0,
                              wall_s=time.perf_counter() - self._start, machine_busy_s=busy_s)


def executor_memory(jvm: psutil.Process) -> tuple[int, int, int]:
    """(summed PSS, summed RSS, Python workers) of the JVM and every Python worker under it."""
    pss = rss = 0
    workers = _python_workers(jvm)
    for member in [jvm, *workers]:
        with contextlib.suppress(psutil.Error):
            info = member.memory_full_info()
            pss += getattr(info, "pss", info.rss)
            rss += info.rss
    return pss, rss, len(workers)


class PeakExecutorMemory:
    """Peak summed PSS/RSS of the JVM and its Python workers during a ``with`` block, polled.

    Reading every process's smaps costs CPU, so the poll is every ``interval_s`` (0.5 s).
    """

    def __init__(self, interval_s: float = 0.5) -> None:
        self.jvm = spark_jvm()
        self.interval_s = interval_s
        self.peak_pss = self.peak_rss = self.max_workers = 0
        self.samples = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._poll, daemon=True)

    def _take(self) -> None:
        pss, rss, workers = executor_memory(self.jvm)
        self.peak_pss, self.peak_rss = max(self.peak_pss, pss), max(self.peak_rss, rss)
        self.max_workers = max(self.max_workers, workers)
        self.samples += 1

    def _poll(self) -> None:
        while not self._stop.wait(self.interval_s):
            self._take()

    def __enter__(self) -> PeakExecutorMemory:
        self._take()
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
        self._take()

    def report(self) -> dict[str, Any]:
        """The peaks in MiB, the most Python workers seen and how many polls were taken."""
        return {"peak_pss_mib": round(self.peak_pss / MIB), "peak_rss_mib": round(self.peak_rss / MIB),
                "python_workers": self.max_workers, "polls": self.samples}
