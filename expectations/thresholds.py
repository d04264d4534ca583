"""How far a synthetic table may stray from the real one before the gate stops it."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, fields
from typing import Any

from synth_ray.errors import ConfigError

__all__ = ["GateThresholds"]


@dataclass(frozen=True)
class GateThresholds:
    """The gate's tolerances; every default is documented and chosen to pass a good sample.

    Attributes:
        max_ks: numerical and datetime columns: largest KS statistic (gap between the real
            and synthetic CDFs). 0.1 passes a faithful generator's sample of a few thousand
            rows (sampling noise is about ``1.36 / sqrt(rows)``) and stops a shift of a
            quarter of a standard deviation.
        max_tv: categorical and boolean columns: largest total variation distance between
            the category shares (0.1: ten percentage points of mass moved).
        max_association_delta: largest change of a reference pair's Pearson's r or
            Cramér's V (0.15). Cramér's V is biased upward on small samples (about
            ``sqrt(cells / rows)``): raise it for tables of a few hundred rows.
        null_fraction_slack: a column's share of nulls may differ from the real share by
            this much either way (0.02, two percentage points); a column with no real
            nulls must have none, an all-null one must stay all null.
        row_count_tolerance: relative tolerance on the requested row count (0: exact).
        max_copy_rate: largest share of synthetic rows equal to a training row on every
            learned column (0.0001: one row in 10,000). Not 0: values on a coarse grid repeat
            real rows by chance (10,000,000 copula rows of diamonds, whose values have two
            decimals, held one exact training row); a memorizing generator copies percents.
            A table of few distinct rows (a handful of categories only) needs more.
        max_dcr_share: largest share of synthetic rows nearer to a training row than to a
            holdout row (counted as if both sets were equally large; 0.5 is what a generator
            that memorized nothing scores). 0.6, the evaluation report's fail line: a faithful
            copula scores 0.49 to 0.55 on a few thousand rows of diamonds or Wage; a table
            of training rows with tiny noise scores about 1. Checked only when the gate is
            given training and holdout rows (the Airflow refresh always gives them).
    """

    max_ks: float = 0.1
    max_tv: float = 0.1
    max_association_delta: float = 0.15
    null_fraction_slack: float = 0.02
    row_count_tolerance: float = 0.0
    max_copy_rate: float = 0.0001
    max_dcr_share: float = 0.6

    def __post_init__(self) -> None:
        for f in fields(self):
            value = getattr(self, f.name)
            if isinstance(value, bool) or not isinstance(value, int | float) or math.isnan(value):
                raise ConfigError(f"gate threshold {f.name!r} must be a number, got {value!r}")
            object.__setattr__(self, f.name, float(value))
            upper = 2.0 if f.name == "max_association_delta" else 1.0
            if not 0.0 <= value <= upper:
                raise ConfigError(f"gate threshold {f.name!r} must be in [0, {upper:g}], got {value}")

    @classmethod
    def from_mapping(cls, data: Mapping[str, Any] | None) -> GateThresholds:
        """Thresholds from a table config's mapping; unknown keys are refused by name.

        Raises:
            ConfigError: an unknown key (with the nearest valid one) or a bad value.
        """
        from synth_ray.config_checks import check_keys

        if data is None:
            return cls()
        check_keys(data, allowed=[f.name for f in fields(cls)], where="gate thresholds")
        return cls(**dict(data))

    def to_dict(self) -> dict[str, float]:
        """JSON-ready form."""
        return {f.name: getattr(self, f.name) for f in fields(self)}
