"""The one better / worse / inconclusive rule (`core.stats.decide`): every branch returns the
whole decision, with the sentence an assistant reads, on constructed tests whose answer is
known; thresholds are tested just above, at and below."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pytest

from core.stats import PairedTest, compare_losses, decide, delong, delong_folds, diebold_mariano
from core.stats.decide import FALLBACK_MIN_N
from core.stats.paired import IDENTICAL
from tests.verdicts.golden import assert_matches

DM = "Diebold-Mariano (HAC, HLN-corrected)"


def _test(low: float | None, high: float | None, *, n: int = 50, **extra: Any) -> PairedTest:
    fields: dict[str, Any] = {
        "method": "diebold-mariano",
        "n": n,
        "rows": n * 4,
        "mean": None if low is None or high is None else (low + high) / 2,
        "se": 0.01,
        "statistic": 1.0,
        "p_value": 0.01,
        "df": n - 1.0,
        "lag": 2,
        "low": low,
        "high": high,
        "alpha": 0.05,
        "unit": "dates",
        "value_a": 1.0,
        "value_b": 0.9,
    }
    fields.update(extra)
    return PairedTest(**fields)


def _mae(test: PairedTest | None, **kw: Any) -> Any:
    return decide(test, metric="mae", direction="minimize", loss_based=True, **kw)


def _decision(**fields: Any) -> dict[str, Any]:
    """Every key of Decision.to_dict, defaulting to a better verdict on _test(-0.3, -0.1)."""
    out: dict[str, Any] = {
        "verdict": "better",
        "metric": "mae",
        "direction": "minimize",
        "method": "diebold-mariano",
        "n": 50,
        "unit": "dates",
        "rows": 200,
        "min_n": 10,
        "estimate": -0.2,
        "interval": [-0.3, -0.1],
        "improvement": 0.2,
        "improvement_interval": [0.1, 0.3],
        "min_effect": 0.0,
        "equivalent": False,
        "p_value": 0.01,
        "alpha": 0.05,
        "value_a": 1.0,
        "value_b": 0.9,
        "reason": "",
        "test": _test(-0.3, -0.1).to_dict(),
    }
    out.update(fields)
    return out


# --- the verdicts, each with the sentence behind it -------------------------------------------


def test_a_run_whose_whole_interval_is_below_zero_loss_difference_is_better() -> None:
    made = _mae(_test(-0.3, -0.1))
    assert_matches(
        made.to_dict(),
        _decision(
            reason=f"better: {DM} on 50 dates (200 rows) puts the improvement in mae at 0.2, 95% "
            "interval [0.1, 0.3], entirely above the minimum effect 0"
        ),
    )
    assert made.test == _test(-0.3, -0.1)


def test_a_run_whose_whole_interval_is_above_zero_loss_difference_is_worse() -> None:
    made = _mae(_test(0.1, 0.3), min_effect=0.05)
    assert_matches(
        made.to_dict(),
        _decision(
            verdict="worse",
            estimate=0.2,
            interval=[0.1, 0.3],
            improvement=-0.2,
            improvement_interval=[-0.3, -0.1],
            min_effect=0.05,
            reason=f"worse: {DM} on 50 dates (200 rows) puts the improvement in mae at -0.2, 95% "
            "interval [-0.3, -0.1], entirely below minus the minimum effect 0.05",
            test=_test(0.1, 0.3).to_dict(),
        ),
    )


def test_an_interval_across_the_minimum_effect_is_inconclusive() -> None:
    made = _mae(_test(-0.2, 0.05), min_effect=0.1)
    assert made.verdict == "inconclusive" and not made.equivalent
    assert made.reason == (
        f"inconclusive: {DM} on 50 dates (200 rows) puts the improvement in mae at 0.075, 95% "
        "interval [-0.05, 0.2], which reaches across the minimum effect 0.1"
    )


def test_an_interval_inside_plus_minus_the_minimum_effect_is_equivalent() -> None:
    made = _mae(_test(-0.05, 0.05), min_effect=0.1)
    assert made.verdict == "inconclusive" and made.equivalent
    assert made.reason == (
        f"inconclusive: {DM} on 50 dates (200 rows) puts the improvement in mae at 0, 95% "
        "interval [-0.05, 0.05], inside +-0.1: too small to matter"
    )
    assert made.to_dict()["equivalent"] is True


def test_equivalence_needs_the_interval_strictly_inside_the_band() -> None:
    assert not _mae(_test(-0.1, 0.05), min_effect=0.1).equivalent
    assert not _mae(_test(-0.05, 0.1), min_effect=0.1).equivalent
    assert _mae(_test(-0.0999, 0.0999), min_effect=0.1).equivalent
    # with no minimum effect nothing is too small to matter
    assert not _mae(_test(-0.05, 0.05)).equivalent


def test_better_needs_the_interval_strictly_above_the_minimum_effect() -> None:
    assert _mae(_test(-0.3, -0.1000001), min_effect=0.1).verdict == "better"
    assert _mae(_test(-0.3, -0.1), min_effect=0.1).verdict == "inconclusive"
    assert _mae(_test(-0.3, -0.0999999), min_effect=0.1).verdict == "inconclusive"


def test_worse_needs_the_interval_strictly_below_minus_the_minimum_effect() -> None:
    assert _mae(_test(0.1000001, 0.3), min_effect=0.1).verdict == "worse"
    assert _mae(_test(0.1, 0.3), min_effect=0.1).verdict == "inconclusive"
    assert _mae(_test(0.0999999, 0.3), min_effect=0.1).verdict == "inconclusive"


def test_a_metric_in_its_own_units_is_oriented_by_its_direction() -> None:
    up = _test(0.01, 0.03, method="delong", unit="rows of the smaller class")
    made = decide(up, metric="auc", direction="maximize", loss_based=False)
    assert (made.verdict, made.direction, made.improvement) == ("better", "maximize", 0.02)
    assert made.reason == (
        "better: DeLong on 50 rows of the smaller class (200 rows) puts the improvement in auc "
        "at 0.02, 95% interval [0.01, 0.03], entirely above the minimum effect 0"
    )
    assert decide(up, metric="r2", direction="minimize", loss_based=False).verdict == "worse"


# --- inconclusive before any interval ------------------------------------------------------


def test_no_test_is_inconclusive_with_every_number_it_was_given() -> None:
    made = decide(
        None, metric="r2", direction="maximize", loss_based=False, estimate=-0.5, min_effect=0.25
    )
    assert_matches(
        made,
        {
            "verdict": "inconclusive",
            "metric": "r2",
            "direction": "maximize",
            "method": "none",
            "n": 0,
            "min_n": FALLBACK_MIN_N,
            "estimate": -0.5,
            "low": None,
            "high": None,
            "improvement": -0.5,
            "improvement_low": None,
            "improvement_high": None,
            "min_effect": 0.25,
            "p_value": None,
            "reason": "inconclusive: no paired test could be run (no shared rows or folds)",
            "unit": "rows",
            "rows": 0,
            "alpha": 0.05,
            "equivalent": False,
            "value_a": None,
            "value_b": None,
            "test": None,
        },
    )
    loss = decide(None, metric="mae", direction="minimize", loss_based=True, estimate=0.5, min_n=3)
    assert (loss.improvement, loss.min_n) == (-0.5, 3)
    assert decide(None, metric="mae", direction="minimize", loss_based=True).improvement is None


def test_fewer_units_than_the_minimum_are_inconclusive_whatever_the_interval() -> None:
    made = _mae(_test(-0.3, -0.1, n=9))
    assert made.verdict == "inconclusive"
    assert made.reason == f"inconclusive: 9 dates, fewer than the 10 a verdict needs from {DM}"
    assert _mae(_test(-0.3, -0.1, n=10)).verdict == "better"
    assert _mae(_test(-0.3, -0.1, n=10), min_n=11).verdict == "inconclusive"
    assert _mae(_test(-0.3, -0.1, n=3), min_n=3).verdict == "better"


def test_a_method_without_its_own_minimum_needs_the_fallback_and_is_named_as_it_is() -> None:
    odd = _test(0.01, 0.03, method="odd-test", unit="things")
    assert (
        decide(
            replace_n(odd, FALLBACK_MIN_N - 1), metric="r2", direction="maximize", loss_based=False
        ).verdict
        == "inconclusive"
    )
    made = decide(
        replace_n(odd, FALLBACK_MIN_N), metric="r2", direction="maximize", loss_based=False
    )
    assert (made.verdict, made.min_n) == ("better", FALLBACK_MIN_N)
    assert made.reason.startswith("better: odd-test on 10 things (40 rows) puts")


def replace_n(test: PairedTest, n: int) -> PairedTest:
    return PairedTest(**{**test.__dict__, "n": n, "rows": n * 4})


def test_a_missing_or_nan_interval_is_inconclusive_and_says_why() -> None:
    made = _mae(_test(None, None, note="3 dates: a variance needs at least 2"))
    assert made.reason == (
        f"inconclusive: {DM} on 50 dates (200 rows) gave no interval (3 dates: a variance needs "
        "at least 2)"
    )
    assert (made.improvement_low, made.improvement_high) == (None, None)
    bare = _mae(_test(None, None))
    assert bare.reason.endswith("gave no interval (no interval)")
    for low, high in ((math.nan, -0.1), (-0.3, math.nan), (None, -0.1), (-0.3, None)):
        half = _mae(_test(low, high, mean=-0.2))
        assert half.verdict == "inconclusive"
        assert half.reason.endswith("gave no interval (no interval)"), (low, high)


def test_identical_runs_are_inconclusive_and_equivalent_only_with_a_minimum_effect() -> None:
    same = _test(0.0, 0.0, note=IDENTICAL)
    made = _mae(same, min_effect=0.5)
    assert (made.verdict, made.equivalent) == ("inconclusive", True)
    assert made.reason == (
        f"inconclusive: {DM} on 50 dates (200 rows) finds A and B identical on every unit"
    )
    assert not _mae(same).equivalent


# --- numbers carried from the test to the decision ------------------------------------------


def test_a_scale_carries_the_interval_into_the_metrics_units() -> None:
    made = _mae(_test(-0.4, -0.2), scale=0.5)
    assert (made.estimate, made.low, made.high) == pytest.approx((-0.15, -0.2, -0.1))
    assert (made.improvement_low, made.improvement_high) == pytest.approx((0.1, 0.2))
    # in other units the test's own values are not the metric's
    assert (made.value_a, made.value_b) == (None, None)
    assert (_mae(_test(-0.4, -0.2)).value_a, _mae(_test(-0.4, -0.2)).value_b) == (1.0, 0.9)
    given = _mae(_test(-0.4, -0.2), scale=0.5, values=(2.0, 1.5), estimate=-0.5)
    assert (given.value_a, given.value_b, given.estimate, given.improvement) == (
        2.0,
        1.5,
        -0.5,
        0.5,
    )
    assert _mae(_test(-0.4, -0.2), values=(2.0, 1.5)).value_a == 2.0


def test_without_a_point_estimate_the_reason_says_zero() -> None:
    made = _mae(_test(-0.3, -0.1, mean=None))
    assert made.improvement is None
    assert "the improvement in mae at 0, 95% interval [0.1, 0.3]" in made.reason


def test_the_interval_level_is_the_tests_own() -> None:
    assert "90% interval" in _mae(_test(-0.3, -0.1, alpha=0.1)).reason
    assert "97.5% interval" in _mae(_test(-0.3, -0.1, alpha=0.025)).reason
    made = _mae(_test(-0.3, -0.1, alpha=0.1, p_value=0.02))
    assert (made.alpha, made.p_value) == (0.1, 0.02)


def test_units_name_their_rows_only_when_they_are_not_rows_themselves() -> None:
    rows = _mae(_test(-0.3, -0.1, unit="rows"))
    assert " on 50 rows puts " in rows.reason
    folds = decide(
        _test(0.1, 0.3, method="fold-t", unit="folds"),
        metric="r2",
        direction="maximize",
        loss_based=False,
    )
    assert " on 50 folds puts " in folds.reason
    no_rows = _mae(_test(-0.3, -0.1, rows=0))
    assert " on 50 dates puts " in no_rows.reason


def test_decide_refuses_settings_that_have_no_meaning() -> None:
    with pytest.raises(ValueError, match="direction must be maximize or minimize, got 'up'"):
        decide(None, metric="mae", direction="up", loss_based=True)
    with pytest.raises(
        ValueError, match="mae is tested on losses, so its direction must be minimize"
    ):
        decide(None, metric="mae", direction="maximize", loss_based=True)
    for bad in (-0.1, math.inf, math.nan):
        with pytest.raises(ValueError, match="min_effect must be a finite number >= 0"):
            _mae(None, min_effect=bad)
    for bad in (0.0, -1.0, math.inf, math.nan):
        with pytest.raises(ValueError, match=r"^scale must be a positive number, got"):
            _mae(_test(-0.3, -0.1), scale=bad)


# --- compare_losses: predictions in, decision out -------------------------------------------


def _rows(n_dates: int = 20, per_date: int = 3, seed: int = 0) -> tuple[Any, Any, Any]:
    rng = np.random.default_rng(seed)
    y = rng.normal(10.0, 2.0, n_dates * per_date)
    dates = np.repeat([f"2024-01-{d + 1:02d}" for d in range(n_dates)], per_date)
    return y, dates, rng


def test_a_run_worse_on_every_row_is_worse_by_its_known_mae_difference() -> None:
    y, dates, rng = _rows()
    noise = rng.normal(0.0, 0.3, y.size)
    good = y + np.where(noise >= 0, 0.5, -0.5)  # |error| = 0.5 on every row
    bad = y + np.where(noise >= 0, 1.0, -1.0) + noise * 0.1
    made = compare_losses("mae", "minimize", y, good, bad, groups=dates, unit="dates")
    assert made.verdict == "worse"
    assert made.estimate == pytest.approx(np.mean(np.abs(bad - y)) - 0.5)
    assert (made.value_a, made.value_b) == (
        pytest.approx(0.5),
        pytest.approx(np.mean(np.abs(bad - y))),
    )
    assert (made.n, made.unit, made.rows, made.metric) == (20, "dates", 60, "mae")
    flipped = compare_losses("mae", "minimize", y, bad, good, groups=dates)
    assert flipped.verdict == "better"
    assert flipped.improvement == pytest.approx(-made.improvement)


def test_compare_losses_passes_its_settings_to_the_test_and_the_rule() -> None:
    y, dates, rng = _rows()
    a = y + rng.normal(0.0, 1.0, y.size)
    b = y + rng.normal(0.0, 1.0, y.size)
    made = compare_losses(
        "mae",
        "minimize",
        y,
        a,
        b,
        groups=dates,
        alpha=0.1,
        lag=0,
        min_n=25,
        min_effect=0.01,
        unit="dates",
    )
    assert (made.alpha, made.test.lag, made.min_n, made.min_effect) == (0.1, 0, 25, 0.01)
    assert made.reason == "inconclusive: 20 dates, fewer than the 25 a verdict needs from " + DM
    direct = diebold_mariano(np.abs(y - a), np.abs(y - b), groups=dates, alpha=0.1, lag=0)
    assert (made.low, made.high) == (direct.low, direct.high)
    assert compare_losses("mae", "minimize", y, a, b, groups=dates).test.lag == 2


def test_rmse_is_tested_on_squared_errors_and_reported_in_its_own_units() -> None:
    y, dates, rng = _rows()
    a = y + rng.normal(0.0, 0.2, y.size)
    b = y + rng.normal(0.0, 0.3, y.size)
    made = compare_losses("rmse", "minimize", y, a, b, groups=dates)
    rmse_a = math.sqrt(np.mean((y - a) ** 2))
    rmse_b = math.sqrt(np.mean((y - b) ** 2))
    assert (made.value_a, made.value_b) == (pytest.approx(rmse_a), pytest.approx(rmse_b))
    assert made.estimate == pytest.approx(rmse_b - rmse_a)
    assert made.low == pytest.approx(made.test.low / (rmse_a + rmse_b))
    assert made.high == pytest.approx(made.test.high / (rmse_a + rmse_b))


def test_two_perfect_runs_on_rmse_are_identical_not_an_error() -> None:
    y, dates, _ = _rows()
    made = compare_losses("rmse", "minimize", y, y.copy(), y.copy(), groups=dates)
    assert made.verdict == "inconclusive" and made.test.identical
    assert (made.value_a, made.value_b, made.estimate) == (0.0, 0.0, 0.0)


def test_no_rows_leave_no_estimate() -> None:
    made = compare_losses("mae", "minimize", [], [], [])
    assert made.estimate is None and made.verdict == "inconclusive"


def test_auc_is_compared_with_delong_on_all_rows_or_over_folds() -> None:
    rng = np.random.default_rng(3)
    y = np.tile([0.0, 1.0], 60)
    weak = y * 0.4 + rng.normal(0.0, 0.5, y.size)
    strong = y * 2.0 + rng.normal(0.0, 0.5, y.size)
    folds = np.repeat([0, 1, 2], 40)
    made = compare_losses("auc", "maximize", y, weak, strong, alpha=0.1, min_effect=0.01, min_n=5)
    assert (made.verdict, made.metric, made.alpha, made.min_effect, made.min_n) == (
        "better",
        "auc",
        0.1,
        0.01,
        5,
    )
    assert made.test == delong(y, weak, strong, alpha=0.1)
    over = compare_losses("auc", "maximize", y, weak, strong, folds=folds, alpha=0.1)
    assert over.test == delong_folds(y, weak, strong, folds, alpha=0.1)
    with pytest.raises(ValueError, match=r"^auc is maximized: pass direction='maximize'$"):
        compare_losses("auc", "minimize", y, weak, strong)


def test_a_metric_with_no_row_level_test_is_refused_with_the_way_out() -> None:
    with pytest.raises(ValueError) as caught:
        compare_losses("r2", "maximize", [1.0], [1.0], [1.0])
    assert str(caught.value) == (
        "'r2' is neither a mean over rows (mae, mse, rmse, logloss, brier) nor auc: compare its "
        "per-fold scores with core.stats.fold_t(deltas) and decide(..., loss_based=False)"
    )


def test_a_decision_without_a_test_serialises_it_as_null() -> None:
    made = decide(None, metric="mae", direction="minimize", loss_based=True)
    assert made.to_dict()["test"] is None
    assert made.to_dict()["interval"] == [None, None]


def test_the_estimate_is_the_difference_on_all_rows_not_the_mean_over_dates() -> None:
    # one date holds three rows, the others one: the row mean and the date mean differ
    y = np.zeros(14)
    a = np.full(14, 1.0)
    b = np.asarray([0.2, 0.2, 0.2] + [0.5 + 0.01 * i for i in range(11)])
    dates = ["d00", "d00", "d00"] + [f"d{i + 1:02d}" for i in range(11)]
    made = compare_losses("mae", "minimize", y, a, b, groups=dates)
    assert made.estimate == pytest.approx(float(np.mean(b)) - 1.0)
    assert made.estimate != pytest.approx(made.test.mean)
    assert made.improvement == pytest.approx(1.0 - float(np.mean(b)))


def test_the_forecast_horizon_reaches_the_tests_lag() -> None:
    y, dates, rng = _rows()
    a = y + rng.normal(0.0, 1.0, y.size)
    b = y + rng.normal(0.0, 1.0, y.size)
    assert compare_losses("mae", "minimize", y, a, b, groups=dates, horizon=8).test.lag == 7
    assert diebold_mariano(np.abs(y - a), np.abs(y - b), horizon=8).lag == 7
