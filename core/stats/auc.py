"""DeLong's test for two correlated AUCs on the same rows, and its combination over folds.

AUC is not a mean over rows, so it gets its own paired test: DeLong, DeLong and
Clarke-Pearson (1988), with the O(n log n) midrank algorithm of Sun and Xu (2014). A tie
between a positive and a negative score counts one half. The variance of AUC_b - AUC_a
includes the covariance of the two AUCs, which is what makes the test paired.

Over walk-forward folds (disjoint test windows, so independent estimates) the estimate is
the mean of the per-fold deltas and its variance the sum of the per-fold variances over
K^2, against a normal reference. A fold holding one class has no AUC: it is skipped and
counted.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING

from core.stats.paired import PairedTest, check_alpha, critical, no_interval, no_spread, two_sided

if TYPE_CHECKING:
    import numpy as np
    import numpy.typing as npt

METHOD = "delong"
FOLDS_METHOD = "delong-folds"
UNIT = "rows of the smaller class"


@dataclass(frozen=True)
class _Fold:
    auc_a: float
    auc_b: float
    variance: float
    """DeLong variance of auc_b - auc_a."""
    positives: int
    negatives: int


def _labels(y: npt.ArrayLike) -> npt.NDArray[np.bool_]:
    import numpy as np

    values = np.asarray(y, dtype=float).ravel()
    if not np.all(np.isfinite(values)) or np.any((values != 0.0) & (values != 1.0)):
        raise ValueError("AUC needs labels 0 or 1")
    return np.asarray(values == 1.0)


def _scores(score: npt.ArrayLike, size: int, name: str) -> npt.NDArray[np.float64]:
    import numpy as np

    values = np.asarray(score, dtype=float).ravel()
    if values.size != size:
        raise ValueError(f"{values.size} scores for {name} but {size} labels")
    if not np.all(np.isfinite(values)):
        raise ValueError(f"scores of {name} must be finite")
    return values


def rankdata(values: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
    """Midranks (ties share the mean of their ranks), 1-based, as scipy.stats.rankdata's
    default, without importing scipy.stats."""
    import numpy as np

    data = np.asarray(values, dtype=float)
    order = np.argsort(data, kind="mergesort")
    ranked = data[order]
    starts = np.concatenate(([True], ranked[1:] != ranked[:-1]))
    group = np.cumsum(starts) - 1
    first = np.flatnonzero(starts)
    counts = np.diff(np.concatenate((first, [data.size])))
    mid = first + (counts + 1) / 2.0
    out = np.empty(data.size, dtype=float)
    out[order] = mid[group]
    return out


def _components(
    positive: npt.NDArray[np.bool_], score: npt.NDArray[np.float64]
) -> tuple[float, npt.NDArray[np.float64], npt.NDArray[np.float64]]:
    """(AUC, V10 per positive, V01 per negative) by midranks (Sun and Xu 2014).

    V10[i] is the share of negatives scored below positive i (ties one half); V01[j] the
    share of positives scored above negative j. The AUC is the mean of either.
    """
    import numpy as np

    x = score[positive]
    y = score[~positive]
    m, n = x.size, y.size
    combined = rankdata(np.concatenate([x, y]))
    v10 = (combined[:m] - rankdata(x)) / n
    v01 = 1.0 - (combined[m:] - rankdata(y)) / m
    return float(v10.mean()), np.asarray(v10, dtype=float), np.asarray(v01, dtype=float)


def _fold(
    positive: npt.NDArray[np.bool_],
    score_a: npt.NDArray[np.float64],
    score_b: npt.NDArray[np.float64],
) -> _Fold:
    import numpy as np

    auc_a, v10_a, v01_a = _components(positive, score_a)
    auc_b, v10_b, v01_b = _components(positive, score_b)
    m, n = v10_a.size, v01_a.size
    # Var(AUC_b - AUC_a) = var(V10_b - V10_a) / m + var(V01_b - V01_a) / n: the same as
    # S_bb + S_aa - 2 S_ab of DeLong's covariance matrix, never negative in floating point.
    var10 = float(np.var(v10_b - v10_a, ddof=1)) if m > 1 else 0.0
    var01 = float(np.var(v01_b - v01_a, ddof=1)) if n > 1 else 0.0
    return _Fold(auc_a, auc_b, var10 / m + var01 / n, m, n)


def _finish(
    method: str,
    *,
    delta: float,
    variance: float,
    n: int,
    rows: int,
    alpha: float,
    auc_a: float,
    auc_b: float,
    folds: int | None = None,
    skipped: int = 0,
) -> PairedTest:
    if variance <= 0.0:
        return no_spread(
            method, n=n, rows=rows, mean=delta, alpha=alpha, unit=UNIT, df=None,
            value_a=auc_a, value_b=auc_b, folds=folds, skipped=skipped,
        )  # fmt: skip
    se = math.sqrt(variance)
    statistic = delta / se
    half = critical(alpha, None) * se
    return PairedTest(
        method=method,
        n=n,
        rows=rows,
        mean=delta,
        se=se,
        statistic=statistic,
        p_value=two_sided(statistic, None),
        df=None,
        lag=None,
        low=delta - half,
        high=delta + half,
        alpha=alpha,
        unit=UNIT,
        value_a=auc_a,
        value_b=auc_b,
        folds=folds,
        skipped=skipped,
    )


def auc(y: npt.ArrayLike, score: npt.ArrayLike) -> float:
    """The AUC of one score (ties between classes count one half); NaN with one class."""
    positive = _labels(y)
    values = _scores(score, positive.size, "the score")
    if positive.all() or not positive.any():
        return math.nan
    return _components(positive, values)[0]


def delong(
    y: npt.ArrayLike, score_a: npt.ArrayLike, score_b: npt.ArrayLike, *, alpha: float = 0.05
) -> PairedTest:
    """DeLong's test of AUC_b - AUC_a on the same rows (normal reference).

    `n` is the number of rows of the smaller class, which bounds how much the rows can
    say about an AUC; `rows` is all rows. Labels are 0/1; one class gives no test.
    """
    check_alpha(alpha)
    positive = _labels(y)
    a = _scores(score_a, positive.size, "A")
    b = _scores(score_b, positive.size, "B")
    rows = int(positive.size)
    positives = int(positive.sum())
    if positives == 0 or positives == rows:
        return no_interval(
            METHOD, n=0, rows=rows, mean=None, alpha=alpha, unit=UNIT,
            note="one class only: AUC needs positives and negatives",
        )  # fmt: skip
    fold = _fold(positive, a, b)
    return _finish(
        METHOD,
        delta=fold.auc_b - fold.auc_a,
        variance=fold.variance,
        n=min(fold.positives, fold.negatives),
        rows=rows,
        alpha=alpha,
        auc_a=fold.auc_a,
        auc_b=fold.auc_b,
    )


def delong_folds(
    y: npt.ArrayLike,
    score_a: npt.ArrayLike,
    score_b: npt.ArrayLike,
    folds: npt.ArrayLike,
    *,
    alpha: float = 0.05,
) -> PairedTest:
    """DeLong per fold, combined: mean of the K per-fold deltas AUC_b - AUC_a, variance
    sum of the per-fold DeLong variances / K^2, normal reference.

    `folds` labels each row's fold (its test window). A fold with one class is skipped
    and counted in `skipped`. `n` sums the smaller-class rows of the folds used, `rows`
    their rows, `value_a`/`value_b` are the mean per-fold AUCs.
    """
    import numpy as np

    check_alpha(alpha)
    positive = _labels(y)
    a = _scores(score_a, positive.size, "A")
    b = _scores(score_b, positive.size, "B")
    labels = np.asarray(folds).ravel()
    if labels.size != positive.size:
        raise ValueError(f"{labels.size} fold labels for {positive.size} rows")
    used: list[_Fold] = []
    skipped = 0
    for label in np.unique(labels):
        rows_in = labels == label
        inside = positive[rows_in]
        if inside.all() or not inside.any():
            skipped += 1
            continue
        used.append(_fold(inside, a[rows_in], b[rows_in]))
    if not used:
        return no_interval(
            FOLDS_METHOD, n=0, rows=0, mean=None, alpha=alpha, unit=UNIT, folds=0,
            skipped=skipped, note="every fold holds one class only: no AUC to compare",
        )  # fmt: skip
    k = len(used)
    return _finish(
        FOLDS_METHOD,
        delta=sum(f.auc_b - f.auc_a for f in used) / k,
        variance=sum(f.variance for f in used) / (k * k),
        n=sum(min(f.positives, f.negatives) for f in used),
        rows=sum(f.positives + f.negatives for f in used),
        alpha=alpha,
        auc_a=sum(f.auc_a for f in used) / k,
        auc_b=sum(f.auc_b for f in used) / k,
        folds=k,
        skipped=skipped,
    )
