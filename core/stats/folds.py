"""The fallback: a paired t-interval over per-fold deltas.

Only for metrics that are neither a mean over rows (use Diebold-Mariano on row losses) nor
AUC (use DeLong). With the usual four or five folds the t quantile is 2.8 to 3.2 and the
interval is wide: that is the honest answer from so few numbers, and the decision rule's
minimum number of folds keeps it from pretending otherwise.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from core.stats.paired import (
    PairedTest,
    check_alpha,
    critical,
    no_interval,
    no_spread,
    two_sided,
    without_spread,
)

METHOD = "fold-t"


def fold_t(deltas: Sequence[float], alpha: float = 0.05) -> PairedTest:
    """Student t over per-fold deltas B - A (metric units), n - 1 degrees of freedom.

    Fewer than two folds give no interval; deltas with no spread are "identical" (all 0)
    or a certain sign.
    """
    check_alpha(alpha)
    values = [float(d) for d in deltas]
    if not all(math.isfinite(v) for v in values):
        raise ValueError("fold deltas must be finite")
    n = len(values)
    if n < 2:
        return no_interval(
            METHOD, n=n, rows=0, mean=values[0] if n else None, alpha=alpha, unit="folds",
            note=f"{n} folds: a t-interval needs at least 2",
        )  # fmt: skip
    mean = sum(values) / n
    df = float(n - 1)
    scale = max(abs(v) for v in values)
    if without_spread(min(values), max(values), scale):
        return no_spread(
            METHOD, n=n, rows=0, mean=mean, alpha=alpha, unit="folds", df=df, scale=scale
        )
    variance = sum((v - mean) ** 2 for v in values) / (n - 1)
    se = math.sqrt(variance / n)
    statistic = mean / se
    half = critical(alpha, df) * se
    return PairedTest(
        method=METHOD,
        n=n,
        rows=0,
        mean=mean,
        se=se,
        statistic=statistic,
        p_value=two_sided(statistic, df),
        df=df,
        lag=None,
        low=mean - half,
        high=mean + half,
        alpha=alpha,
        unit="folds",
    )
