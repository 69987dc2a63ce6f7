"""Diebold-Mariano: are two forecasts' losses on the same rows different on average?

The differential is d = loss_b - loss_a (B minus A), so a negative mean says B has lower
loss. Rows of one date are not independent (one date, one weather), so with `groups` the
differential is first averaged within each group and the test runs on the per-group series,
ordered by group label ascending (dates sort in time). Neighbouring dates are correlated
too, which the HAC variance absorbs.

- Long-run variance: Newey-West with the Bartlett kernel,
  gamma_0 + 2 * sum_{k=1..L} (1 - k / (L + 1)) * gamma_k, autocovariances divided by n.
- Truncation lag L: `lag` when given, else max(horizon - 1, floor(4 * (n / 100) ** (2 / 9)))
  (an h-step forecast's errors are MA(h - 1); the second term is the usual Newey-West rule),
  capped at n - 1.
- Small-sample correction (Harvey, Leybourne and Newbold 1997): the statistic is multiplied
  by sqrt((n + 1 - 2h + h(h - 1) / n) / n) with h = L + 1, and compared with Student t on
  n - 1 degrees of freedom. The interval for the mean differential is
  mean +- t_{1 - alpha/2, n - 1} * se / factor, so it excludes 0 exactly when p < alpha.
  With L = 0 the corrected statistic is the one-sample t statistic of the series.
- No spread: differentials equal up to floating-point rounding (relative to the losses'
  size) are "identical" when their mean is 0 too (p = 1, interval [0, 0]), else a certain
  sign (p = 0, interval [mean, mean], no statistic); the decision rule's minimum number
  of units still applies to the latter.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

from core.stats.paired import (
    PairedTest,
    check_alpha,
    critical,
    no_interval,
    no_spread,
    two_sided,
    without_spread,
)

if TYPE_CHECKING:
    import numpy as np
    import numpy.typing as npt

METHOD = "diebold-mariano"


def default_lag(n: int, horizon: int = 1) -> int:
    """The truncation lag used when none is given: max(h - 1, floor(4 (n/100)^(2/9))),
    capped at n - 1."""
    if n <= 1:
        return 0
    rule = math.floor(4.0 * math.pow(n / 100.0, 2.0 / 9.0))
    return min(max(horizon - 1, rule), n - 1)


def hln_factor(n: int, h: int) -> float | None:
    """Harvey-Leybourne-Newbold factor sqrt((n + 1 - 2h + h(h - 1)/n) / n), or None when the
    radicand is not positive (too few units for that lag)."""
    radicand = (n + 1 - 2 * h + h * (h - 1) / n) / n
    return math.sqrt(radicand) if radicand > 0 else None


def hac_variance(series: npt.NDArray[np.float64], lag: int) -> float:
    """Newey-West long-run variance of a series (Bartlett weights, divisor n)."""
    import numpy as np

    n = series.size
    dev = series - series.mean()
    total = float(np.dot(dev, dev)) / n
    for k in range(1, min(lag, n - 1) + 1):
        weight = 1.0 - k / (lag + 1.0)
        total += 2.0 * weight * float(np.dot(dev[k:], dev[:-k])) / n
    return total


def group_means(values: npt.NDArray[np.float64], groups: npt.ArrayLike) -> npt.NDArray[np.float64]:
    """Mean of `values` within each group, in ascending order of the group labels."""
    import numpy as np

    labels = np.asarray(groups).ravel()
    if labels.size != values.size:
        raise ValueError(f"{labels.size} group labels for {values.size} rows")
    _, inverse = np.unique(labels, return_inverse=True)
    inverse = inverse.ravel()
    sums = np.bincount(inverse, weights=values)
    counts = np.bincount(inverse)
    return np.asarray(sums / counts, dtype=float)


def diebold_mariano(
    loss_a: npt.ArrayLike,
    loss_b: npt.ArrayLike,
    *,
    groups: npt.ArrayLike | None = None,
    horizon: int = 1,
    alpha: float = 0.05,
    lag: int | None = None,
    unit: str | None = None,
) -> PairedTest:
    """Test whether B's per-row losses differ on average from A's on the same rows.

    `mean` is the mean of the (per-group) differential loss_b - loss_a: negative means B
    has lower loss. `n` counts groups when `groups` is given, else rows; `unit` names them
    in reasons ("dates"; default "groups" or "rows"). Fewer than two units give no interval.
    A series with no spread is "identical" when it is all zero (p = 1, interval [0, 0]) and
    a certain sign otherwise (p = 0, interval [mean, mean]).
    """
    import numpy as np

    check_alpha(alpha)
    if horizon < 1:
        raise ValueError(f"horizon must be at least 1, got {horizon}")
    if lag is not None and lag < 0:
        raise ValueError(f"lag must be non-negative, got {lag}")
    a = np.asarray(loss_a, dtype=float).ravel()
    b = np.asarray(loss_b, dtype=float).ravel()
    if a.shape != b.shape:
        raise ValueError(f"{a.size} losses for A but {b.size} for B: they must pair row by row")
    if not (np.all(np.isfinite(a)) and np.all(np.isfinite(b))):
        raise ValueError("losses must be finite")
    rows = int(a.size)
    unit = unit or ("groups" if groups is not None else "rows")
    diff = b - a
    series = diff if groups is None else group_means(diff, groups)
    n = int(series.size)
    value_a = float(a.mean()) if rows else None
    value_b = float(b.mean()) if rows else None
    if n < 2:
        mean = float(series.mean()) if n else None
        note = f"{n} {unit}: a variance needs at least 2"
        return no_interval(
            METHOD, n=n, rows=rows, mean=mean, alpha=alpha, note=note, unit=unit,
            value_a=value_a, value_b=value_b,
        )  # fmt: skip
    used_lag = min(lag, n - 1) if lag is not None else default_lag(n, horizon)
    mean = float(series.mean())
    df = float(n - 1)
    scale = float(max(np.abs(a).max(), np.abs(b).max()))
    if without_spread(float(series.min()), float(series.max()), scale):
        return no_spread(
            METHOD, n=n, rows=rows, mean=mean, alpha=alpha, unit=unit, df=df, lag=used_lag,
            scale=scale,
            value_a=value_a, value_b=value_b,
        )  # fmt: skip
    factor = hln_factor(n, used_lag + 1)
    variance = hac_variance(series, used_lag)
    if factor is None or variance <= 0.0:
        note = (
            f"{n} {unit} are too few for HAC lag {used_lag}"
            if factor is None
            else "the HAC variance estimate is not positive"
        )
        return no_interval(
            METHOD, n=n, rows=rows, mean=mean, alpha=alpha, note=note, unit=unit,
            lag=used_lag, value_a=value_a, value_b=value_b,
        )  # fmt: skip
    se = math.sqrt(variance / n)
    statistic = mean / se * factor
    half = critical(alpha, df) * se / factor
    return PairedTest(
        method=METHOD,
        n=n,
        rows=rows,
        mean=mean,
        se=se,
        statistic=statistic,
        p_value=two_sided(statistic, df),
        df=df,
        lag=used_lag,
        low=mean - half,
        high=mean + half,
        alpha=alpha,
        unit=unit,
        correction=factor,
        value_a=value_a,
        value_b=value_b,
    )
