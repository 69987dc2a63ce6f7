"""The result every paired test returns, and the arithmetic the tests share.

A paired test compares B against A on the same units (rows, dates, folds) and reports the
mean differential B - A with its standard error, a two-sided p-value and an interval. The
decision rule (`core.stats.decide`) reads only this shape, so each test is free to stand on
its own reference distribution (Student t or normal).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, TypedDict

IDENTICAL = "identical: every differential is exactly 0"
CONSTANT = "constant: every differential is the same nonzero value, so its sign is certain"


class PairedTestData(TypedDict):
    """A paired test as JSON (`PairedTest.to_dict`): B - A on the same units."""

    method: str
    """`diebold-mariano`, `delong`, `delong-folds` or `fold-t`."""
    n: int
    """Units the test stands on (`unit` says what they are)."""
    unit: str
    rows: int
    mean: float | None
    """Mean differential, B - A."""
    se: float | None
    statistic: float | None
    p_value: float | None
    df: float | None
    lag: int | None
    interval: list[float | None]
    """[low, high] of the 1 - alpha interval for `mean`."""
    alpha: float
    correction: float | None
    value_a: float | None
    value_b: float | None
    fold_count: int | None
    """Folds combined (DeLong over folds)."""
    skipped: int
    note: str


@dataclass(frozen=True)
class PairedTest:
    """B against A on the same units: the mean differential B - A, its spread and a test."""

    method: str
    """`diebold-mariano`, `delong`, `delong-folds` or `fold-t`."""
    n: int
    """Units the test stands on: dates or groups (Diebold-Mariano), rows of the smaller class
    (DeLong), folds (fold-t)."""
    rows: int
    """Rows behind those units (0 for fold-t, which sees only per-fold numbers)."""
    mean: float | None
    """Mean differential, B - A (a loss for Diebold-Mariano, the metric for the others)."""
    se: float | None
    """Standard error of `mean` (HAC for Diebold-Mariano); None when it cannot be estimated."""
    statistic: float | None
    """Test statistic against a zero differential; None when it is undefined (no spread)."""
    p_value: float | None
    """Two-sided p-value for a zero mean differential; None when there is no test."""
    df: float | None
    """Degrees of freedom of the Student t reference; None for a normal reference."""
    lag: int | None
    """HAC truncation lag (Diebold-Mariano only)."""
    low: float | None
    """Lower end of the 1 - alpha interval for `mean`; None when there is no interval."""
    high: float | None
    """Upper end of the 1 - alpha interval for `mean`."""
    alpha: float
    """Two-sided level of the test and the interval."""
    unit: str = "rows"
    """What `n` counts, in words (`dates`, `groups`, `rows`, `folds`, ...)."""
    correction: float | None = None
    """Harvey-Leybourne-Newbold factor applied to the statistic (Diebold-Mariano only)."""
    value_a: float | None = None
    """A's own value where the test knows it (mean loss, AUC)."""
    value_b: float | None = None
    """B's own value where the test knows it."""
    folds: int | None = None
    """Folds combined (DeLong over folds)."""
    skipped: int = 0
    """Folds left out because they hold a single class (DeLong over folds)."""
    note: str = ""
    """Why a number is missing or degenerate; empty for an ordinary test."""

    @property
    def identical(self) -> bool:
        """Every differential is exactly zero: A and B cannot be told apart on these rows."""
        return self.note == IDENTICAL

    def to_dict(self) -> PairedTestData:
        return {
            "method": self.method,
            "n": self.n,
            "unit": self.unit,
            "rows": self.rows,
            "mean": clean(self.mean),
            "se": clean(self.se),
            "statistic": clean(self.statistic),
            "p_value": clean(self.p_value),
            "df": clean(self.df),
            "lag": self.lag,
            "interval": [clean(self.low), clean(self.high)],
            "alpha": self.alpha,
            "correction": clean(self.correction),
            "value_a": clean(self.value_a),
            "value_b": clean(self.value_b),
            "fold_count": self.folds,
            "skipped": self.skipped,
            "note": self.note,
        }


def clean(value: float | None) -> float | None:
    """A JSON-safe float: None for missing, infinite or NaN values."""
    if value is None or not math.isfinite(value):
        return None
    return float(value)


def check_alpha(alpha: float) -> None:
    if not 0.0 < alpha < 1.0:
        raise ValueError(f"alpha must be strictly between 0 and 1, got {alpha!r}")


def no_interval(
    method: str,
    *,
    n: int,
    rows: int,
    mean: float | None,
    alpha: float,
    note: str,
    unit: str,
    **extra: Any,
) -> PairedTest:
    """A test that could not be run on what it was given (too few units, one class)."""
    return PairedTest(
        method=method,
        n=n,
        rows=rows,
        mean=mean,
        se=None,
        statistic=None,
        p_value=None,
        df=None,
        lag=extra.pop("lag", None),
        low=None,
        high=None,
        alpha=alpha,
        unit=unit,
        note=note,
        **extra,
    )


def no_spread(
    method: str,
    *,
    n: int,
    rows: int,
    mean: float,
    alpha: float,
    unit: str,
    df: float | None,
    scale: float = 0.0,
    **extra: Any,
) -> PairedTest:
    """Every differential is the same value, so the variance estimate is 0.

    Differentials within rounding noise of each other count as equal (`without_spread`),
    and a mean within rounding noise of 0 as 0.

    All zero: A and B are identical here (p = 1, interval [0, 0]). The same nonzero value:
    the sign is certain (p = 0, interval [mean, mean]); the decision rule still refuses a
    verdict below its minimum number of units, so a constant difference on three dates
    stays inconclusive.
    """
    if abs(mean) <= ROUNDING * scale or mean == 0.0:
        return PairedTest(
            method=method,
            n=n,
            rows=rows,
            mean=0.0,
            se=0.0,
            statistic=None,
            p_value=1.0,
            df=df,
            lag=extra.pop("lag", None),
            low=0.0,
            high=0.0,
            alpha=alpha,
            unit=unit,
            note=IDENTICAL,
            **extra,
        )
    return PairedTest(
        method=method,
        n=n,
        rows=rows,
        mean=mean,
        se=0.0,
        statistic=None,
        p_value=0.0,
        df=df,
        lag=extra.pop("lag", None),
        low=mean,
        high=mean,
        alpha=alpha,
        unit=unit,
        note=CONSTANT,
        **extra,
    )


ROUNDING = 64 * 2.220446049250313e-16
"""Relative size of floating-point noise below which differentials count as equal."""


def without_spread(low: float, high: float, scale: float) -> bool:
    """All values lie within rounding noise of each other: `high - low` is at most
    ROUNDING * scale, where `scale` is the size of the numbers they were computed from
    (b - a computed from losses near 1 is exact only to about 1e-16)."""
    return high - low <= ROUNDING * scale


def two_sided(statistic: float, df: float | None) -> float:
    """Two-sided p-value of a statistic under Student t with `df`, or normal when None.

    scipy.special's distribution functions, not scipy.stats: the same numbers, and importing
    scipy.stats costs a training run about 0.4 s."""
    from scipy import special

    x = -abs(statistic)
    tail = special.ndtr(x) if df is None else special.stdtr(df, x)
    return float(min(1.0, 2.0 * float(tail)))


def critical(alpha: float, df: float | None) -> float:
    """The 1 - alpha/2 quantile of Student t with `df`, or of the normal when None."""
    from scipy import special

    q = 1.0 - alpha / 2.0
    return float(special.ndtri(q) if df is None else special.stdtrit(df, q))
