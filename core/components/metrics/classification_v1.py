"""Classification: ROC AUC (higher is better), log loss and Brier score (lower is better).

`prediction` is the probability of the positive class. AUC is NaN on a window with one class.
"""

from __future__ import annotations

from typing import Any

METRICS = {"auc": "maximize", "logloss": "minimize", "brier": "minimize"}
EPSILON = 1e-15


def compute(y_true: Any, prediction: Any) -> dict[str, float]:
    import numpy as np
    import pandas as pd

    y = np.asarray(y_true, dtype=float)
    p = np.clip(np.asarray(prediction, dtype=float), EPSILON, 1 - EPSILON)
    positives = int((y == 1).sum())
    negatives = int((y == 0).sum())
    if positives and negatives:
        # Mann-Whitney U with average ranks for ties: equal to the area under the ROC curve.
        ranks = pd.Series(p).rank(method="average").to_numpy()
        auc = (ranks[y == 1].sum() - positives * (positives + 1) / 2) / (positives * negatives)
    else:
        auc = float("nan")
    logloss = float(-np.mean(y * np.log(p) + (1 - y) * np.log(1 - p)))
    brier = float(np.mean((p - y) ** 2))
    return {"auc": float(auc), "logloss": logloss, "brier": brier}
