"""Live figures of one model on its labelled predictions, and an estimate for the rest.

`metric_interval` is a fixed-sample interval for showing a realised metric (it is a
description, not a decision: `check degrading` decides with a confidence sequence):

- a mean over rows (mae, mse, logloss, brier): mean +- z * sd / sqrt(n) of the per-row
  losses; rmse: the square root of the mse interval's ends;
- auc: DeLong's variance of one AUC, var(V10) / m + var(V01) / n (`core.stats.auc`);
- anything else: the value without an interval.

`expected_classification` is confidence-based performance estimation in the manner of
NannyML's CBPE, for predictions whose labels have not arrived. It holds only under its
assumptions, which are stated with every estimate: the predictions are calibrated
probabilities (P(y = 1 | p) = p on the live rows), and the relation between the features and
the label has not changed since training (covariate shift only; no concept drift). Under
them each label is a Bernoulli(p) draw, so the expected log loss is the mean binary entropy
of p, the expected Brier score the mean of p (1 - p), and the expected AUC the ratio of the
expected number of correctly ordered positive-negative pairs to the expected number of
pairs (ties one half; a row is never paired with itself). `calibration_gap` checks the first
assumption on the labelled rows: mean prediction minus mean label with its interval.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import numpy.typing as npt

Z95 = 1.959963984540054
ASSUMPTIONS = (
    "predictions are calibrated probabilities on the live rows (P(label = 1 | p) = p)",
    "the relation between features and label is unchanged since training (covariate shift "
    "only, no concept drift)",
    "labels of the unlabelled rows are independent Bernoulli(p) draws",
)


def _z(alpha: float) -> float:
    from statistics import NormalDist

    return Z95 if alpha == 0.05 else NormalDist().inv_cdf(1.0 - alpha / 2.0)


def metric_interval(
    metric: str, y: npt.ArrayLike, prediction: npt.ArrayLike, alpha: float = 0.05
) -> tuple[float | None, float | None]:
    """(low, high) of `metric` on these rows, or (None, None) without one (see the module
    docstring)."""
    import numpy as np

    from core.stats.losses import ROW_MEAN_METRICS, row_losses

    labels = np.asarray(y, dtype=float).ravel()
    scores = np.asarray(prediction, dtype=float).ravel()
    n = labels.size
    if n < 2:
        return None, None
    z = _z(alpha)
    if metric in ROW_MEAN_METRICS:
        losses = row_losses(metric, labels, scores)
        assert losses is not None
        mean = float(losses.mean())
        half = z * float(losses.std(ddof=1)) / math.sqrt(n)
        low, high = mean - half, mean + half
        if metric == "rmse":
            return math.sqrt(max(low, 0.0)), math.sqrt(max(high, 0.0))
        return low, high
    if metric == "auc":
        from core.stats.auc import _components

        positive = labels == 1.0
        m, k = int(positive.sum()), int((~positive).sum())
        if m < 2 or k < 2:
            return None, None
        value, v10, v01 = _components(positive, scores)
        se = math.sqrt(float(np.var(v10, ddof=1)) / m + float(np.var(v01, ddof=1)) / k)
        return max(value - z * se, 0.0), min(value + z * se, 1.0)
    return None, None


def expected_classification(probabilities: npt.ArrayLike) -> dict[str, float | None]:
    """Expected auc, logloss and brier of unlabelled predictions under the CBPE
    assumptions (`ASSUMPTIONS`)."""
    import numpy as np

    p = np.clip(np.asarray(probabilities, dtype=float).ravel(), 0.0, 1.0)
    n = p.size
    if n == 0:
        return {"auc": None, "logloss": None, "brier": None}
    clipped = np.clip(p, 1e-15, 1.0 - 1e-15)
    entropy = -(clipped * np.log(clipped) + (1.0 - clipped) * np.log1p(-clipped))
    out: dict[str, float | None] = {
        "logloss": float(entropy.mean()),
        "brier": float((p * (1.0 - p)).mean()),
        "auc": None,
    }
    if n >= 2:
        q = 1.0 - p
        # Expected negatives scored below each row, ties one half: by midranks within
        # equal scores, computed on the cumulative negative weight in score order.
        order = np.argsort(p, kind="mergesort")
        sorted_p, sorted_q = p[order], q[order]
        below = np.concatenate(([0.0], np.cumsum(sorted_q)[:-1]))
        starts = np.concatenate(([True], sorted_p[1:] != sorted_p[:-1]))
        group = np.cumsum(starts) - 1
        group_q = np.bincount(group, weights=sorted_q)
        first_below = below[np.flatnonzero(starts)]
        tie_q = group_q[group]
        under = first_below[group] + 0.5 * (tie_q - sorted_q)
        numerator = float((sorted_p * under).sum())
        denominator = float(p.sum() * q.sum() - (p * q).sum())
        out["auc"] = numerator / denominator if denominator > 0 else None
    return out


def calibration_gap(
    y: npt.ArrayLike, probabilities: npt.ArrayLike, alpha: float = 0.05
) -> dict[str, Any]:
    """Mean prediction minus mean label on labelled rows, with a normal interval: an
    interval away from 0 says the predictions are not calibrated here, so a CBPE estimate
    would be biased."""
    import numpy as np

    labels = np.asarray(y, dtype=float).ravel()
    p = np.asarray(probabilities, dtype=float).ravel()
    n = labels.size
    if n < 2:
        return {"n": n, "gap": None, "interval": [None, None], "calibrated": None}
    diff = p - labels
    gap = float(diff.mean())
    half = _z(alpha) * float(diff.std(ddof=1)) / math.sqrt(n)
    calibrated = bool(gap - half <= 0.0 <= gap + half)
    return {"n": n, "gap": gap, "interval": [gap - half, gap + half], "calibrated": calibrated}
