"""Machine-learning utility: train on synthetic, test on real (TSTR) vs train real (TRTR).

The question a data scientist asks: "if I train my model on the synthetic table, how
much worse is it on real data?" Two models of the same kind (scikit-learn's
HistGradientBoosting, 100 trees) predict the target column from every other learned
column: one trained on real rows, one on as many synthetic rows; both are tested on
the holdout, real rows the generator never saw (testing on training rows would reward
a generator that copies them). Classification (categorical or boolean target): macro
F1 over the holdout's classes, and ROC AUC (one-vs-rest, macro over the holdout's
classes); regression (numerical target): R^2. The verdict is on the gap in the first
metric, TRTR minus TSTR.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from synth_ray.evaluation.encoding import EncodedColumn
from synth_ray.evaluation.features import feature_matrix, trainable
from synth_ray.evaluation.settings import int_seed
from synth_ray.evaluation.verdicts import Check, make_check

__all__ = ["UtilityMetric", "UtilityResult", "utility_checks", "utility_scores"]


@dataclass(frozen=True)
class UtilityMetric:
    """One score of the two models on the holdout.

    Attributes:
        name: ``macro_f1``, ``roc_auc`` or ``r2``.
        real: the model trained on real rows (TRTR).
        synthetic: the model trained on synthetic rows (TSTR).
    """

    name: str
    real: float
    synthetic: float

    @property
    def gap(self) -> float:
        """How much is lost by training on synthetic rows (TRTR - TSTR)."""
        return self.real - self.synthetic


@dataclass(frozen=True)
class UtilityResult:
    """Train-synthetic-test-real against train-real-test-real.

    Attributes:
        target: the predicted column.
        task: ``classification`` or ``regression``.
        metrics: the scores, the judged one first.
        train_rows: training rows of each model (the same for both).
        test_rows: holdout rows tested on.
    """

    target: str
    task: str
    metrics: tuple[UtilityMetric, ...]
    train_rows: int
    test_rows: int


class _ConstantClassifier:
    """What a classifier learns from rows of a single class: that class, always."""

    def __init__(self, label: int) -> None:
        self.classes_ = np.array([label])

    def predict(self, x: np.ndarray) -> np.ndarray:
        return np.full(len(x), self.classes_[0])

    def predict_proba(self, x: np.ndarray) -> np.ndarray:
        return np.ones((len(x), 1))


def _classifier(x: np.ndarray, y: np.ndarray, categorical: np.ndarray, seed: int) -> Any:
    from sklearn.ensemble import HistGradientBoostingClassifier

    if len(np.unique(y)) < 2:
        return _ConstantClassifier(int(y[0]))
    return HistGradientBoostingClassifier(max_iter=100, early_stopping=False,
                                          categorical_features=categorical,
                                          random_state=seed).fit(trainable(x), y)


def _macro_auc(y: np.ndarray, proba: np.ndarray, classes: np.ndarray) -> float:
    """One-vs-rest ROC AUC averaged over the test classes (a class never predicted: 0.5)."""
    from sklearn.metrics import roc_auc_score

    scores = []
    for c in np.unique(y):
        positive = y == c
        if positive.all():
            continue
        column = np.flatnonzero(classes == c)
        score = proba[:, column[0]] if len(column) else np.zeros(len(y))
        scores.append(roc_auc_score(positive, score))
    return float(np.mean(scores)) if scores else float("nan")


def _classification(train: dict[str, tuple[np.ndarray, np.ndarray]], test: tuple[np.ndarray, np.ndarray],
                    categorical: np.ndarray, seed: int) -> tuple[UtilityMetric, ...]:
    from sklearn.metrics import f1_score

    x_test, y_test = test
    labels = np.unique(y_test)
    results: dict[str, dict[str, float]] = {"macro_f1": {}, "roc_auc": {}}
    for source, (x, y) in train.items():
        model = _classifier(x, y, categorical, seed)
        results["macro_f1"][source] = float(f1_score(y_test, model.predict(x_test), labels=labels,
                                                     average="macro", zero_division=0))
        results["roc_auc"][source] = _macro_auc(y_test, model.predict_proba(x_test), model.classes_)
    return tuple(UtilityMetric(name=k, real=v["real"], synthetic=v["synthetic"])
                 for k, v in results.items())


def _regression(train: dict[str, tuple[np.ndarray, np.ndarray]], test: tuple[np.ndarray, np.ndarray],
                categorical: np.ndarray, seed: int) -> tuple[UtilityMetric, ...]:
    from sklearn.ensemble import HistGradientBoostingRegressor
    from sklearn.metrics import r2_score

    scores = {}
    for source, (x, y) in train.items():
        model = HistGradientBoostingRegressor(max_iter=100, early_stopping=False,
                                              categorical_features=categorical, random_state=seed)
        scores[source] = float(r2_score(test[1], model.fit(trainable(x), y).predict(test[0])))
    return (UtilityMetric(name="r2", real=scores["real"], synthetic=scores["synthetic"]),)


def _labelled(columns: list[EncodedColumn], target: EncodedColumn, table: str,
              limit: int) -> tuple[np.ndarray, np.ndarray]:
    """Features and target of the first ``limit`` rows of ``table`` with a non-null target."""
    values = getattr(target, table)
    rows = np.flatnonzero(target.present(values))[:limit]
    x, _ = feature_matrix(columns, table, rows=rows, exclude=target.name)
    return x, values[rows]


def utility_scores(columns: list[EncodedColumn], *, target: str, rows: int,
                   rng: np.random.Generator) -> UtilityResult | None:
    """TRTR and TSTR scores on the holdout; both models train on the same number of rows.

    ``None`` when the synthetic or the holdout sample has no row with a target value.
    """
    column = next(c for c in columns if c.name == target)
    n = min(rows, int(column.present(column.real).sum()), int(column.present(column.synthetic).sum()))
    if n == 0 or column.holdout is None or not column.present(column.holdout).any():
        return None
    train = {"real": _labelled(columns, column, "real", n),
             "synthetic": _labelled(columns, column, "synthetic", n)}
    test = _labelled(columns, column, "holdout", rows)
    _, categorical = feature_matrix(columns, "real", rows=slice(0, 1), exclude=target)
    seed = int_seed(rng)
    if column.continuous:
        metrics, task = _regression(train, test, categorical, seed), "regression"
    else:
        metrics, task = _classification(train, test, categorical, seed), "classification"
    return UtilityResult(target=target, task=task, metrics=metrics, train_rows=n,
                         test_rows=len(test[1]))


def utility_checks(result: UtilityResult | None) -> list[Check]:
    """The utility verdict, on the gap of the first metric (macro F1 or R^2)."""
    if result is None:
        return []
    first = result.metrics[0]
    return [make_check(
        "utility.gap", f"ML utility ({result.target})", first.gap,
        f"{first.name} on {result.test_rows:,} holdout rows: {first.real:.3f} trained on real, "
        f"{first.synthetic:.3f} trained on synthetic ({result.train_rows:,} rows each)")]
