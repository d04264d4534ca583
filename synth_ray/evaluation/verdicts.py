"""Pass / warn / fail verdicts and the documented thresholds behind them.

A number alone does not tell a user whether to trust a synthetic table, so every
headline metric is judged against a fixed, documented threshold. The thresholds live
here, in one table, so the report, the JSON and the README can quote the same rules.

==========================  ============  ==========  ==========  ==========================
check                       value         pass        warn        why this bound
==========================  ============  ==========  ==========  ==========================
fidelity.quality            score         >= 0.80     >= 0.65     SDMetrics-style scores
                                                                  above 0.8 are "good"
fidelity.null_rates         max abs diff  <= 0.02     <= 0.05     a few points of nulls
                                                                  change downstream joins
detection.auc               AUC or 1-AUC  <= 0.65     <= 0.80     0.5 = indistinguishable
utility.gap                 TRTR - TSTR   <= 0.05     <= 0.15     macro F1 or R^2 lost by
                                                                  training on synthetic rows
privacy.exact_matches       excess rate   <= 0.002    <= 0.01     synthetic copies beyond
                                                                  what fresh real rows show
privacy.dcr_share           share         <= 0.53     <= 0.60     ideal 0.50: no nearer to
                                                                  training than to holdout
privacy.dcr_tail            q05 ratio     >= 0.80     >= 0.50     closest synthetic rows vs
                                                                  closest holdout rows
privacy.nndr_tail           q05 ratio     >= 0.80     >= 0.50     same, for the distance
                                                                  ratio of 1st/2nd neighbour
diversity.category_cover    ratio         >= 0.95     >= 0.80     coverage / coverage a
                                                                  perfect generator expects
diversity.range_coverage    mean          >= 0.90     >= 0.75     share of the real range
                                                                  (0.5th-99.5th percentiles)
diversity.duplicates        excess rate   <= 0.01     <= 0.05     duplicates beyond the
                                                                  real table's own
==========================  ============  ==========  ==========  ==========================
"""

from __future__ import annotations

import enum
import math
from dataclasses import dataclass

__all__ = ["THRESHOLDS", "Check", "Threshold", "Verdict", "make_check", "worst"]


class Verdict(enum.StrEnum):
    """How a check came out.

    Attributes:
        PASS: within the documented bound: nothing to do.
        WARN: outside the pass bound but within the warn bound: look at the details.
        FAIL: outside the warn bound: the synthetic table should not be trusted for this use.
    """

    PASS = "pass"
    WARN = "warn"
    FAIL = "fail"


_ORDER = {Verdict.PASS: 0, Verdict.WARN: 1, Verdict.FAIL: 2}


def worst(verdicts: list[Verdict]) -> Verdict | None:
    """The most severe verdict of a list (``None`` for an empty list)."""
    return max(verdicts, key=_ORDER.__getitem__) if verdicts else None


@dataclass(frozen=True)
class Threshold:
    """The two bounds of a check.

    Attributes:
        pass_at: values at least this good pass.
        warn_at: values at least this good (but not passing) warn; worse ones fail.
        higher_is_better: whether larger values are better.
    """

    pass_at: float
    warn_at: float
    higher_is_better: bool

    def judge(self, value: float) -> Verdict:
        """The verdict for ``value`` (a NaN value fails: it could not be measured)."""
        if math.isnan(value):
            return Verdict.FAIL
        sign = 1.0 if self.higher_is_better else -1.0
        if sign * value >= sign * self.pass_at:
            return Verdict.PASS
        return Verdict.WARN if sign * value >= sign * self.warn_at else Verdict.FAIL

    def describe(self) -> str:
        """The rule in words, e.g. ``pass >= 0.8, warn >= 0.65``."""
        op = ">=" if self.higher_is_better else "<="
        return f"pass {op} {self.pass_at:g}, warn {op} {self.warn_at:g}"


THRESHOLDS: dict[str, Threshold] = {
    "fidelity.quality": Threshold(0.80, 0.65, higher_is_better=True),
    "fidelity.null_rates": Threshold(0.02, 0.05, higher_is_better=False),
    "detection.auc": Threshold(0.65, 0.80, higher_is_better=False),
    "utility.gap": Threshold(0.05, 0.15, higher_is_better=False),
    "privacy.exact_matches": Threshold(0.002, 0.01, higher_is_better=False),
    "privacy.dcr_share": Threshold(0.53, 0.60, higher_is_better=False),
    "privacy.dcr_tail": Threshold(0.80, 0.50, higher_is_better=True),
    "privacy.nndr_tail": Threshold(0.80, 0.50, higher_is_better=True),
    "diversity.category_coverage": Threshold(0.95, 0.80, higher_is_better=True),
    "diversity.range_coverage": Threshold(0.90, 0.75, higher_is_better=True),
    "diversity.duplicates": Threshold(0.01, 0.05, higher_is_better=False),
}


@dataclass(frozen=True)
class Check:
    """One judged metric, as the summary card shows it.

    Attributes:
        key: stable identifier, ``section.name`` (a key of :data:`THRESHOLDS`).
        label: short name for people.
        value: the judged number.
        verdict: pass, warn or fail.
        rule: the threshold in words.
        detail: what the number means here, with the figures it was computed from.
    """

    key: str
    label: str
    value: float
    verdict: Verdict
    rule: str
    detail: str

    @property
    def section(self) -> str:
        """The part of the evaluation the check belongs to (``privacy``, ``utility``...)."""
        return self.key.split(".", 1)[0]


def make_check(key: str, label: str, value: float, detail: str) -> Check:
    """Judge ``value`` with the threshold registered under ``key``."""
    threshold = THRESHOLDS[key]
    return Check(key=key, label=label, value=float(value), verdict=threshold.judge(value),
                 rule=threshold.describe(), detail=detail)
