"""The one decision rule: better, worse or inconclusive, from a paired test.

A verdict is a promise an assistant acts on without looking at a chart, so the rule is
small and strict. Orient the test's interval so that positive means B is better (the
"improvement"), then, with min_effect >= 0 in the metric's own units:

- fewer units than `min_n`, no test, or no interval: **inconclusive**, always;
- **better** iff improvement_low > min_effect (the whole interval is above min_effect);
- **worse** iff improvement_high < -min_effect (the whole interval is below -min_effect);
- otherwise **inconclusive**.

Both comparisons are strict: an interval that touches the threshold is inconclusive. The
rule is symmetric on purpose: a difference smaller than min_effect does not matter either
way, so B is called worse only when it is worse by more than that. An interval lying
entirely inside (-min_effect, min_effect) is inconclusive with `equivalent` set: the
difference is confidently too small to matter.

Orientation: a loss-based test (Diebold-Mariano on row losses) measures loss_b - loss_a,
so lower is better whatever the metric's name; the other tests measure B - A in the
metric's units and `direction` orients them.

Minimum units before any verdict (`DEFAULT_MIN_N`): 10 dates or groups for
Diebold-Mariano (a HAC variance and a t with 9 degrees of freedom are the least we
trust), 20 rows of the smaller class for DeLong (its variance is driven by that class),
and 5 folds for the fold t-test (fewer cannot show a spread worth a t-interval).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import TYPE_CHECKING, Literal, TypedDict

from core.stats.auc import delong, delong_folds
from core.stats.forecast import diebold_mariano
from core.stats.losses import ROW_MEAN_METRICS, metric_value, row_losses
from core.stats.paired import IDENTICAL, PairedTest, PairedTestData, clean

if TYPE_CHECKING:
    import numpy.typing as npt

Verdict = Literal["better", "worse", "inconclusive"]
Direction = Literal["maximize", "minimize"]

DEFAULT_MIN_N: Mapping[str, int] = MappingProxyType(
    {"diebold-mariano": 10, "delong": 20, "delong-folds": 20, "fold-t": 5}
)
"""Units a verdict needs, per method (see the module docstring)."""
FALLBACK_MIN_N = 10
"""Units a verdict needs from a method not listed in DEFAULT_MIN_N."""

METHOD_NAMES: Mapping[str, str] = MappingProxyType(
    {
        "diebold-mariano": "Diebold-Mariano (HAC, HLN-corrected)",
        "delong": "DeLong",
        "delong-folds": "DeLong over folds",
        "fold-t": "the fold t-test",
    }
)


class DecisionData(TypedDict):
    """A decision as JSON (`Decision.to_dict`): B against A, the numbers and one sentence."""

    verdict: Verdict
    """B against A."""
    metric: str
    direction: Direction
    method: str
    """The test behind the verdict; `none` without one."""
    n: int
    """Units the test stands on (`unit` says what they are)."""
    unit: str
    rows: int
    min_n: int
    """Units a verdict needs; below it the verdict is inconclusive."""
    estimate: float | None
    """B - A in the metric's own units."""
    interval: list[float | None]
    """[low, high] for B - A."""
    improvement: float | None
    """`estimate` oriented so that positive means B is better."""
    improvement_interval: list[float | None]
    min_effect: float
    equivalent: bool
    p_value: float | None
    alpha: float
    value_a: float | None
    value_b: float | None
    reason: str
    test: PairedTestData | None


@dataclass(frozen=True)
class Decision:
    """Is B better than A? The verdict, the numbers behind it and one sentence why."""

    verdict: Verdict
    """better, worse or inconclusive, for B against A."""
    metric: str
    direction: Direction
    """The metric's direction: maximize (higher is better) or minimize."""
    method: str
    """The test behind the verdict (`diebold-mariano`, `delong`, ...); `none` without one."""
    n: int
    """Units the test stands on (dates, groups, rows of the smaller class, folds)."""
    min_n: int
    """Units a verdict needs; below it the verdict is inconclusive."""
    estimate: float | None
    """B - A in the metric's own units (for rmse, RMSE_b - RMSE_a)."""
    low: float | None
    """Lower end of the interval for B - A, in the metric's units."""
    high: float | None
    """Upper end of the interval for B - A, in the metric's units."""
    improvement: float | None
    """`estimate` oriented so that positive means B is better."""
    improvement_low: float | None
    """Lower end of the oriented interval; better iff it is above min_effect."""
    improvement_high: float | None
    """Upper end of the oriented interval; worse iff it is below -min_effect."""
    min_effect: float
    """The smallest improvement that matters, in the metric's units (>= 0)."""
    p_value: float | None
    """Two-sided p-value of the test for no difference."""
    reason: str
    """One sentence: which test, on how many units, and why this verdict."""
    unit: str = "rows"
    """What `n` counts, in words."""
    rows: int = 0
    """Rows behind the units."""
    alpha: float = 0.05
    """Two-sided level of the interval."""
    equivalent: bool = False
    """The whole interval lies inside (-min_effect, min_effect): too small to matter."""
    value_a: float | None = None
    """A's own value of the metric on these rows (MAE, RMSE, mean AUC over folds, ...)."""
    value_b: float | None = None
    """B's own value of the metric on these rows."""
    test: PairedTest | None = None
    """The test itself, in its own units (squared error for rmse)."""

    def to_dict(self) -> DecisionData:
        return {
            "verdict": self.verdict,
            "metric": self.metric,
            "direction": self.direction,
            "method": self.method,
            "n": self.n,
            "unit": self.unit,
            "rows": self.rows,
            "min_n": self.min_n,
            "estimate": clean(self.estimate),
            "interval": [clean(self.low), clean(self.high)],
            "improvement": clean(self.improvement),
            "improvement_interval": [clean(self.improvement_low), clean(self.improvement_high)],
            "min_effect": self.min_effect,
            "equivalent": self.equivalent,
            "p_value": clean(self.p_value),
            "alpha": self.alpha,
            "value_a": clean(self.value_a),
            "value_b": clean(self.value_b),
            "reason": self.reason,
            "test": None if self.test is None else self.test.to_dict(),
        }


def _num(value: float) -> str:
    return f"{value:.4g}"


def _units(n: int, unit: str, rows: int) -> str:
    text = f"{n} {unit}"
    return f"{text} ({rows} rows)" if rows and unit not in ("rows", "folds") else text


def decide(
    test: PairedTest | None,
    *,
    metric: str,
    direction: str,
    min_effect: float = 0.0,
    min_n: int | None = None,
    loss_based: bool,
    scale: float = 1.0,
    estimate: float | None = None,
    values: tuple[float, float] | None = None,
) -> Decision:
    """Apply the decision rule (module docstring) to a paired test of B against A.

    `loss_based`: the test's differential is a loss, lower is better (Diebold-Mariano on
    row losses); `direction` must then be "minimize". Otherwise the differential is B - A
    in the metric's units and `direction` orients it. `min_n` defaults per method
    (DEFAULT_MIN_N). `scale` converts the test's units to the metric's (positive; for rmse
    tested on squared error, 1 / (RMSE_a + RMSE_b)); `estimate` replaces the reported
    point estimate with the metric's own (for example RMSE_b - RMSE_a on all rows) and
    `values` gives (A's value, B's value) of the metric; without it the test's own values
    are reported when the test is in the metric's units (scale 1).
    """
    if direction not in ("maximize", "minimize"):
        raise ValueError(f"direction must be maximize or minimize, got {direction!r}")
    if loss_based and direction != "minimize":
        raise ValueError(f"{metric} is tested on losses, so its direction must be minimize")
    if not (math.isfinite(min_effect) and min_effect >= 0.0):
        raise ValueError(f"min_effect must be a finite number >= 0, got {min_effect!r}")
    if not (math.isfinite(scale) and scale > 0.0):
        raise ValueError(f"scale must be a positive number, got {scale!r}")
    oriented: Direction = "maximize" if direction == "maximize" else "minimize"
    sign = -1.0 if (loss_based or oriented == "minimize") else 1.0

    if test is None:
        return Decision(
            verdict="inconclusive", metric=metric, direction=oriented, method="none", n=0,
            min_n=min_n if min_n is not None else FALLBACK_MIN_N, estimate=estimate, low=None,
            high=None, improvement=None if estimate is None else sign * estimate,
            improvement_low=None, improvement_high=None, min_effect=min_effect, p_value=None,
            reason="inconclusive: no paired test could be run (no shared rows or folds)",
        )  # fmt: skip

    value_a, value_b = values if values is not None else (None, None)
    if values is None and scale == 1.0:
        value_a, value_b = test.value_a, test.value_b
    needed = min_n if min_n is not None else DEFAULT_MIN_N.get(test.method, FALLBACK_MIN_N)
    name = METHOD_NAMES.get(test.method, test.method)
    point = estimate
    if point is None and test.mean is not None:
        point = test.mean * scale
    low = None if test.low is None else test.low * scale
    high = None if test.high is None else test.high * scale
    improvement = None if point is None else sign * point
    if low is None or high is None:
        imp_low = imp_high = None
    else:
        imp_low, imp_high = sorted((sign * low, sign * high))

    def made(verdict: Verdict, reason: str, equivalent: bool = False) -> Decision:
        return Decision(
            verdict=verdict, metric=metric, direction=oriented, method=test.method, n=test.n,
            min_n=needed, estimate=point, low=low, high=high, improvement=improvement,
            improvement_low=imp_low, improvement_high=imp_high, min_effect=min_effect,
            p_value=test.p_value, reason=reason, unit=test.unit, rows=test.rows,
            alpha=test.alpha, equivalent=equivalent, value_a=value_a, value_b=value_b,
            test=test,
        )  # fmt: skip

    units = _units(test.n, test.unit, test.rows)
    if test.n < needed:
        return made(
            "inconclusive", f"inconclusive: {test.n} {test.unit}, fewer than the {needed} a "
            f"verdict needs from {name}",
        )  # fmt: skip
    if imp_low is None or imp_high is None or math.isnan(imp_low) or math.isnan(imp_high):
        why = test.note or "no interval"
        return made("inconclusive", f"inconclusive: {name} on {units} gave no interval ({why})")
    if test.note == IDENTICAL:
        return made(
            "inconclusive", f"inconclusive: {name} on {units} finds A and B identical "
            "on every unit",
            equivalent=min_effect > 0.0,
        )  # fmt: skip
    level = f"{round(100 * (1 - test.alpha), 6):g}%"
    span = f"the improvement in {metric} at {_num(improvement or 0.0)}, {level} interval "
    span += f"[{_num(imp_low)}, {_num(imp_high)}]"
    if imp_low > min_effect:
        return made(
            "better", f"better: {name} on {units} puts {span}, entirely above the minimum "
            f"effect {_num(min_effect)}",
        )  # fmt: skip
    if imp_high < -min_effect:
        return made(
            "worse", f"worse: {name} on {units} puts {span}, entirely below minus the minimum "
            f"effect {_num(min_effect)}",
        )  # fmt: skip
    equivalent = min_effect > 0.0 and imp_low > -min_effect and imp_high < min_effect
    tail = (
        f"inside +-{_num(min_effect)}: too small to matter"
        if equivalent
        else f"which reaches across the minimum effect {_num(min_effect)}"
    )
    return made("inconclusive", f"inconclusive: {name} on {units} puts {span}, {tail}", equivalent)


def compare_losses(
    metric: str,
    direction: str,
    y: npt.ArrayLike,
    pred_a: npt.ArrayLike,
    pred_b: npt.ArrayLike,
    *,
    groups: npt.ArrayLike | None = None,
    folds: npt.ArrayLike | None = None,
    horizon: int = 1,
    min_effect: float = 0.0,
    alpha: float = 0.05,
    min_n: int | None = None,
    lag: int | None = None,
    unit: str | None = None,
) -> Decision:
    """Is run B better than run A? Their out-of-fold predictions on the same rows.

    - A mean over rows (ROW_MEAN_METRICS): Diebold-Mariano on the per-row losses, averaged
      within `groups` (pass the row's date: rows of one date are not independent; `unit`
      names them, e.g. "dates"). `folds` is not needed. `estimate` is the metric's own
      difference on all rows (MAE_b - MAE_a; RMSE_b - RMSE_a for rmse, whose test runs on
      squared errors and whose interval is carried to RMSE units by 1 / (RMSE_a + RMSE_b)).
    - `auc`: DeLong over `folds` (each row's fold label), or on all rows when None.
    - Anything else raises ValueError: compare per-fold scores with `fold_t` and `decide`.

    `min_effect` is in the metric's own units.
    """
    if metric in ROW_MEAN_METRICS:
        losses_a = row_losses(metric, y, pred_a)
        losses_b = row_losses(metric, y, pred_b)
        assert losses_a is not None and losses_b is not None
        test = diebold_mariano(
            losses_a, losses_b, groups=groups, horizon=horizon, alpha=alpha, lag=lag, unit=unit
        )
        value_a = metric_value(metric, losses_a)
        value_b = metric_value(metric, losses_b)
        scale = 1.0
        if metric == "rmse" and value_a + value_b > 0.0:
            scale = 1.0 / (value_a + value_b)
        estimate = value_b - value_a if losses_a.size else None
        return decide(
            test, metric=metric, direction=direction, min_effect=min_effect, min_n=min_n,
            loss_based=True, scale=scale, estimate=estimate, values=(value_a, value_b),
        )  # fmt: skip
    if metric == "auc":
        if direction != "maximize":
            raise ValueError("auc is maximized: pass direction='maximize'")
        test = (
            delong(y, pred_a, pred_b, alpha=alpha)
            if folds is None
            else delong_folds(y, pred_a, pred_b, folds, alpha=alpha)
        )
        return decide(
            test, metric=metric, direction=direction, min_effect=min_effect, min_n=min_n,
            loss_based=False,
        )  # fmt: skip
    raise ValueError(
        f"{metric!r} is neither a mean over rows ({', '.join(ROW_MEAN_METRICS)}) nor auc: "
        "compare its per-fold scores with core.stats.fold_t(deltas) and decide(..., "
        "loss_based=False)"
    )
