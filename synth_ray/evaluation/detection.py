"""Detection: how well a classifier tells real rows from synthetic ones.

A gradient-boosted classifier (scikit-learn's HistGradientBoostingClassifier, 100
trees, no early stopping so every fold fits alike) is trained to label rows real or
synthetic, on equal numbers of each, and scored by cross-validated ROC AUC. 0.5 means
the classifier does no better than chance: the rows are indistinguishable; 1.0 means
every synthetic row gives itself away. This catches what per-column and per-pair
scores miss: higher-order dependencies and impossible combinations.

An AUC well *below* 0.5 is no better news: the classifier is systematically wrong,
which happens when synthetic rows duplicate real ones (a real test row's copy sits in
the training folds with the other label). So the verdict judges ``max(AUC, 1 - AUC)``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from synth_ray.evaluation.encoding import EncodedColumn
from synth_ray.evaluation.features import feature_matrix, trainable
from synth_ray.evaluation.settings import int_seed
from synth_ray.evaluation.verdicts import Check, make_check

__all__ = ["MIN_DETECTION_ROWS", "DetectionResult", "detection_auc", "detection_checks"]

MIN_DETECTION_ROWS = 20  # rows of each class below which a cross-validated AUC means nothing


@dataclass(frozen=True)
class DetectionResult:
    """Cross-validated ROC AUC of a real-vs-synthetic classifier.

    Attributes:
        auc: mean ROC AUC over the folds (0.5 = indistinguishable).
        auc_std: standard deviation of the AUC over the folds.
        folds: number of cross-validation folds.
        rows_per_class: real rows and synthetic rows used (each).
        model: the classifier.
    """

    auc: float
    auc_std: float
    folds: int
    rows_per_class: int
    model: str = "HistGradientBoostingClassifier(max_iter=100)"


def detection_auc(columns: list[EncodedColumn], *, rows: int, folds: int,
                  rng: np.random.Generator) -> DetectionResult | None:
    """Cross-validated AUC on ``rows`` rows of each sample (``None`` below 20 rows each)."""
    from sklearn.ensemble import HistGradientBoostingClassifier
    from sklearn.metrics import roc_auc_score
    from sklearn.model_selection import StratifiedKFold

    n = min(rows, len(columns[0].real), len(columns[0].synthetic))
    if n < MIN_DETECTION_ROWS:
        return None
    real, categorical = feature_matrix(columns, "real", rows=slice(0, n))
    synthetic, _ = feature_matrix(columns, "synthetic", rows=slice(0, n))
    x = np.vstack([real, synthetic])
    y = np.concatenate([np.zeros(n, dtype=np.int8), np.ones(n, dtype=np.int8)])
    seed = int_seed(rng)
    scores = []
    for train, test in StratifiedKFold(n_splits=folds, shuffle=True, random_state=seed).split(x, y):
        model = HistGradientBoostingClassifier(max_iter=100, early_stopping=False,
                                               categorical_features=categorical, random_state=seed)
        model.fit(trainable(x[train]), y[train])
        scores.append(roc_auc_score(y[test], model.predict_proba(x[test])[:, 1]))
    return DetectionResult(auc=float(np.mean(scores)), auc_std=float(np.std(scores)), folds=folds,
                           rows_per_class=n)


def detection_checks(result: DetectionResult | None) -> list[Check]:
    """The detection verdict (none when detection could not run)."""
    if result is None:
        return []
    below = (" (below 0.5: the classifier is systematically wrong, a sign of synthetic rows "
             "that copy real ones; judged as 1 - AUC)") if result.auc < 0.5 else ""
    return [make_check(
        "detection.auc", "Real vs synthetic detection", max(result.auc, 1.0 - result.auc),
        f"a gradient-boosted classifier separates {result.rows_per_class:,} real from as many "
        f"synthetic rows with ROC AUC {result.auc:.3f} ± {result.auc_std:.3f} "
        f"({result.folds}-fold CV); 0.5 = indistinguishable" + below)]
