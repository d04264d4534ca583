"""Finding or starting the Spark session synth-ray runs on, with the environment it needs.

Library functions take a session as an argument; only the command line starts one. A
local session needs ``JAVA_HOME`` (derived from the ``java`` on ``PATH`` when unset),
executors running this very Python (``PYSPARK_PYTHON``) and a loopback address
(``SPARK_LOCAL_IP``): each is only a default, never overriding what is already set.
"""

from __future__ import annotations

import os
import shutil
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING

from synth_ray.errors import MissingExtraError

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

__all__ = ["LOCAL_MASTER", "get_spark", "import_pyspark", "local_spark_environment", "temporary_conf"]

LOCAL_MASTER = "local[*,4]"  # every core; a failed task is retried up to 3 times, as on a cluster


def import_pyspark(feature: str) -> ModuleType:
    """``import pyspark``, or an ImportError naming the extra to install."""
    try:
        import pyspark
    except ImportError:
        raise MissingExtraError(package="pyspark", extra="spark", feature=feature) from None
    return pyspark


def local_spark_environment() -> None:
    """Default ``JAVA_HOME``, ``PYSPARK_PYTHON`` and ``SPARK_LOCAL_IP`` for a local session."""
    if "JAVA_HOME" not in os.environ and (java := shutil.which("java")):
        os.environ["JAVA_HOME"] = str(Path(java).resolve().parent.parent)
    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    os.environ.setdefault("PYSPARK_DRIVER_PYTHON", sys.executable)
    os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")


def get_spark(*, master: str | None = None, app_name: str = "synth-ray") -> tuple[SparkSession, bool]:
    """The active Spark session, else a new one; and whether this call started it.

    Args:
        master: where to run a new session (default: ``SPARK_REMOTE`` for Spark Connect if
            set, else :data:`LOCAL_MASTER`). Ignored when a session is already active.
        app_name: the application's name in the Spark UI.

    Returns:
        ``(session, started)``: stop the session only if ``started``.
    """
    import_pyspark("Spark sampling and fitting")
    from pyspark.sql import SparkSession

    active = SparkSession.getActiveSession()
    if active is not None:
        return active, False
    local_spark_environment()
    builder = SparkSession.builder.appName(app_name)
    if master is not None:
        builder = builder.master(master)
    elif not os.environ.get("SPARK_REMOTE"):
        builder = builder.master(LOCAL_MASTER)
    return builder.getOrCreate(), True


@contextmanager
def temporary_conf(spark: SparkSession, key: str, value: str) -> Iterator[None]:
    """Set a runtime SQL conf of ``spark`` inside the block; restore (or unset) it afterwards."""
    before = spark.conf.get(key, None)
    spark.conf.set(key, value)
    try:
        yield
    finally:
        if before is None:
            spark.conf.unset(key)
        else:
            spark.conf.set(key, before)
