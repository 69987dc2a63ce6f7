"""The one decision rule, on constructed tests whose verdict is known, and the entry point
`compare_losses` on constructed predictions."""

from __future__ import annotations

import json
import math
from typing import Any

import numpy as np
import pytest

from core.stats import DEFAULT_MIN_N, PairedTest, compare_losses, decide


def _test(low: float | None, high: float | None, *, n: int = 50, **extra: Any) -> PairedTest:
    mean = None if low is None or high is None else (low + high) / 2
    fields: dict[str, Any] = {
        "method": "diebold-mariano",
        "n": n,
        "rows": n * 4,
        "mean": mean,
        "se": 0.01,
        "statistic": 1.0,
        "p_value": 0.01,
        "df": n - 1.0,
        "lag": 2,
        "low": low,
        "high": high,
        "alpha": 0.05,
        "unit": "dates",
    }
    fields.update(extra)
    return PairedTest(**fields)


def _loss(test: PairedTest | None, **kw: Any) -> str:
    return decide(test, metric="mae", direction="minimize", loss_based=True, **kw).verdict


# --- each verdict, each orientation -------------------------------------------------------


def test_a_lower_loss_for_b_is_better_and_a_higher_one_worse() -> None:
    assert _loss(_test(-0.3, -0.1)) == "better"
    assert _loss(_test(0.1, 0.3)) == "worse"
    assert _loss(_test(-0.1, 0.1)) == "inconclusive"


def test_a_metric_in_its_own_units_is_oriented_by_its_direction() -> None:
    up = _test(0.01, 0.03, method="delong")
    down = _test(-0.03, -0.01, method="delong")
    kw: dict[str, Any] = {"metric": "auc", "loss_based": False}
    assert decide(up, direction="maximize", **kw).verdict == "better"
    assert decide(down, direction="maximize", **kw).verdict == "worse"
    assert decide(up, direction="minimize", **kw).verdict == "worse"
    assert decide(down, direction="minimize", **kw).verdict == "better"


def test_improvement_is_the_estimate_oriented_so_positive_is_better() -> None:
    d = decide(_test(-0.3, -0.1), metric="mae", direction="minimize", loss_based=True)
    assert d.estimate == pytest.approx(-0.2)
    assert (d.low, d.high) == (-0.3, -0.1)
    assert d.improvement == pytest.approx(0.2)
    assert [d.improvement_low, d.improvement_high] == pytest.approx([0.1, 0.3])
    up = decide(_test(0.1, 0.3, method="delong"), metric="auc", direction="maximize",
                loss_based=False)  # fmt: skip
    assert up.improvement == pytest.approx(0.2) and up.improvement_low == pytest.approx(0.1)


# --- thresholds: just above, at, just below ------------------------------------------------


@pytest.mark.parametrize(
    ("improvement_low", "verdict"),
    [(0.1 + 1e-9, "better"), (0.1, "inconclusive"), (0.1 - 1e-9, "inconclusive")],
)
def test_better_needs_the_whole_interval_strictly_above_min_effect(
    improvement_low: float, verdict: str
) -> None:
    # For a loss the improvement is -(B - A): improvement_low is minus the test's high end.
    assert _loss(_test(-0.5, -improvement_low), min_effect=0.1) == verdict


@pytest.mark.parametrize(
    ("improvement_high", "verdict"),
    [(-0.1 - 1e-9, "worse"), (-0.1, "inconclusive"), (-0.1 + 1e-9, "inconclusive")],
)
def test_worse_needs_the_whole_interval_strictly_below_minus_min_effect(
    improvement_high: float, verdict: str
) -> None:
    assert _loss(_test(-improvement_high, 0.5), min_effect=0.1) == verdict


@pytest.mark.parametrize(("low", "verdict"), [(1e-12, "better"), (0.0, "inconclusive")])
def test_with_no_min_effect_an_interval_touching_zero_is_inconclusive(
    low: float, verdict: str
) -> None:
    test = _test(low, 0.2, method="delong")
    assert decide(test, metric="auc", direction="maximize", loss_based=False).verdict == verdict


def test_a_small_sure_difference_inside_min_effect_is_inconclusive_and_equivalent() -> None:
    d = decide(_test(-0.04, -0.01), metric="mae", direction="minimize", loss_based=True,
               min_effect=0.05)  # fmt: skip
    assert d.verdict == "inconclusive" and d.equivalent
    assert "too small to matter" in d.reason
    plain = decide(_test(-0.04, -0.01), metric="mae", direction="minimize", loss_based=True)
    assert plain.verdict == "better" and not plain.equivalent


# --- minimum units, missing tests ------------------------------------------------------------


@pytest.mark.parametrize(("n", "verdict"), [(9, "inconclusive"), (10, "better"), (11, "better")])
def test_fewer_units_than_min_n_are_never_better(n: int, verdict: str) -> None:
    assert _loss(_test(-5.0, -4.0, n=n)) == verdict


def test_fewer_units_than_min_n_are_never_worse_either() -> None:
    assert _loss(_test(4.0, 5.0, n=3)) == "inconclusive"
    d = decide(_test(-5.0, -4.0, n=3), metric="mae", direction="minimize", loss_based=True)
    assert d.reason.startswith("inconclusive: 3 dates, fewer than the 10 a verdict needs")
    assert _loss(_test(-5.0, -4.0, n=3), min_n=3) == "better"


def test_default_minimum_units_per_method() -> None:
    assert dict(DEFAULT_MIN_N) == {
        "diebold-mariano": 10, "delong": 20, "delong-folds": 20, "fold-t": 5,
    }  # fmt: skip
    delong = _test(0.1, 0.2, n=19, method="delong")
    assert decide(delong, metric="auc", direction="maximize", loss_based=False).min_n == 20
    assert decide(delong, metric="auc", direction="maximize", loss_based=False).verdict == (
        "inconclusive"
    )


def test_no_test_or_no_interval_is_inconclusive() -> None:
    none = decide(None, metric="mae", direction="minimize", loss_based=True)
    assert none.verdict == "inconclusive" and none.method == "none"
    assert _loss(_test(None, None, note="1 dates: a variance needs at least 2")) == ("inconclusive")
    assert _loss(_test(math.nan, math.nan)) == "inconclusive"


def test_an_identical_pair_is_inconclusive_and_says_so() -> None:
    identical = _test(0.0, 0.0, note="identical: every differential is exactly 0")
    d = decide(identical, metric="mae", direction="minimize", loss_based=True)
    assert d.verdict == "inconclusive" and "identical" in d.reason


def test_the_reason_names_the_test_the_units_and_the_interval() -> None:
    d = decide(_test(-0.3, -0.1, n=42), metric="mae", direction="minimize", loss_based=True)
    assert d.reason.startswith("better: Diebold-Mariano")
    assert "42 dates (168 rows)" in d.reason and "[0.1, 0.3]" in d.reason


def test_misuse_is_refused() -> None:
    with pytest.raises(ValueError, match="minimize"):
        decide(_test(0.1, 0.2), metric="mae", direction="maximize", loss_based=True)
    with pytest.raises(ValueError, match="direction"):
        decide(_test(0.1, 0.2), metric="auc", direction="up", loss_based=False)
    with pytest.raises(ValueError, match="min_effect"):
        decide(_test(0.1, 0.2), metric="mae", direction="minimize", loss_based=True,
               min_effect=-0.1)  # fmt: skip


def test_to_dict_is_plain_json() -> None:
    d = decide(_test(-0.3, -0.1), metric="mae", direction="minimize", loss_based=True)
    doc = json.loads(json.dumps(d.to_dict()))
    assert doc["verdict"] == "better" and doc["test"]["method"] == "diebold-mariano"
    assert doc["improvement_interval"] == [pytest.approx(0.1), pytest.approx(0.3)]
    infinite = decide(_test(-math.inf, -0.1), metric="mae", direction="minimize",
                      loss_based=True)  # fmt: skip
    assert json.loads(json.dumps(infinite.to_dict()))["interval"][0] is None


# --- compare_losses end to end ---------------------------------------------------------------


def _panel(seed: int, dates: int = 40, per_date: int = 6) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    day = np.repeat(np.arange(dates), per_date)
    y = rng.normal(size=day.size) + rng.normal(size=dates)[day]
    return y, day


def test_clearly_better_predictions_are_better_with_the_metric_own_estimate() -> None:
    y, day = _panel(1)
    rng = np.random.default_rng(2)
    pred_a = y + rng.normal(0, 1.0, size=y.size)
    pred_b = y + rng.normal(0, 0.4, size=y.size)
    d = compare_losses("mae", "minimize", y, pred_a, pred_b, groups=day, unit="dates")
    assert d.verdict == "better", d.reason
    mae_a, mae_b = np.abs(y - pred_a).mean(), np.abs(y - pred_b).mean()
    assert d.estimate == pytest.approx(mae_b - mae_a, rel=1e-12)
    assert [d.value_a, d.value_b] == pytest.approx([mae_a, mae_b])
    assert (d.n, d.unit, d.rows) == (40, "dates", 240)
    swapped = compare_losses("mae", "minimize", y, pred_b, pred_a, groups=day, unit="dates")
    assert swapped.verdict == "worse", swapped.reason


def test_the_same_predictions_are_inconclusive_never_better() -> None:
    y, day = _panel(3)
    pred = y + np.random.default_rng(4).normal(size=y.size)
    for metric in ("mae", "mse", "rmse"):
        d = compare_losses(metric, "minimize", y, pred, pred.copy(), groups=day)
        assert d.verdict == "inconclusive" and d.estimate == 0.0
        assert d.test is not None and d.test.identical


def test_a_known_mse_effect_is_recovered() -> None:
    """B adds a bias c to A's symmetric errors: MSE_b - MSE_a is exactly c^2."""
    rng = np.random.default_rng(5)
    half = rng.normal(size=150)
    errors = np.concatenate([half, -half])
    y = np.zeros(300)
    c = 0.4
    d = compare_losses("mse", "minimize", y, errors, errors + c)
    assert d.estimate == pytest.approx(c**2, rel=1e-9)
    assert d.low is not None and d.high is not None
    assert d.low < c**2 < d.high
    assert d.verdict == "worse"


def test_rmse_is_tested_on_squared_errors_and_reported_in_rmse_units() -> None:
    y, _ = _panel(6)
    rng = np.random.default_rng(7)
    pred_a = y + rng.normal(0, 1.0, size=y.size)
    pred_b = y + rng.normal(0, 1.4, size=y.size)
    d = compare_losses("rmse", "minimize", y, pred_a, pred_b)
    rmse_a = math.sqrt(float(np.mean((y - pred_a) ** 2)))
    rmse_b = math.sqrt(float(np.mean((y - pred_b) ** 2)))
    assert d.estimate == pytest.approx(rmse_b - rmse_a, rel=1e-12)
    assert d.test is not None and d.test.mean is not None and d.low is not None
    assert d.test.mean == pytest.approx(rmse_b**2 - rmse_a**2, rel=1e-9)  # the MSE difference
    assert d.low < d.estimate < d.high  # type: ignore[operator]
    assert d.low == pytest.approx(d.test.low / (rmse_a + rmse_b), rel=1e-12)  # type: ignore[operator]
    assert d.verdict == "worse"


def test_a_min_effect_in_rmse_units_is_applied_in_rmse_units() -> None:
    y, _ = _panel(6)
    rng = np.random.default_rng(7)
    pred_a = y + rng.normal(0, 1.0, size=y.size)
    pred_b = y + rng.normal(0, 1.4, size=y.size)
    base = compare_losses("rmse", "minimize", y, pred_a, pred_b)
    assert base.improvement_high is not None
    just_inside = -base.improvement_high * (1 - 1e-6)
    assert compare_losses("rmse", "minimize", y, pred_a, pred_b,
                          min_effect=just_inside).verdict == "worse"  # fmt: skip
    assert compare_losses("rmse", "minimize", y, pred_a, pred_b,
                          min_effect=just_inside * 1.01).verdict == "inconclusive"  # fmt: skip


def test_three_dates_are_inconclusive_however_large_the_difference() -> None:
    y, day = _panel(8, dates=3, per_date=100)
    pred_a = y + 5.0
    pred_b = y + np.random.default_rng(9).normal(0, 0.1, size=y.size)
    d = compare_losses("mae", "minimize", y, pred_a, pred_b, groups=day, unit="dates")
    assert d.verdict == "inconclusive"
    assert d.reason.startswith("inconclusive: 3 dates, fewer than the 10 a verdict needs")


def test_probability_metrics_run_through_the_same_rule() -> None:
    rng = np.random.default_rng(10)
    truth = rng.uniform(0.05, 0.95, size=600)
    y = (rng.uniform(size=600) < truth).astype(float)
    noisy = np.clip(truth + rng.normal(0, 0.25, size=600), 0.01, 0.99)
    for metric in ("logloss", "brier"):
        assert compare_losses(metric, "minimize", y, noisy, truth).verdict == "better"
        assert compare_losses(metric, "minimize", y, truth, noisy).verdict == "worse"


def test_auc_goes_to_delong_over_folds() -> None:
    rng = np.random.default_rng(11)
    folds = np.repeat([0, 1, 2, 3], 100)
    y = rng.integers(0, 2, size=400)
    weak = y + rng.normal(0, 2.0, size=400)
    strong = y + rng.normal(0, 0.5, size=400)
    d = compare_losses("auc", "maximize", y, weak, strong, folds=folds)
    assert d.method == "delong-folds" and d.verdict == "better", d.reason
    assert compare_losses("auc", "maximize", y, strong, weak, folds=folds).verdict == "worse"
    assert compare_losses("auc", "maximize", y, weak, strong).method == "delong"
    with pytest.raises(ValueError, match="maximized"):
        compare_losses("auc", "minimize", y, weak, strong)


def test_other_metrics_are_sent_to_fold_t() -> None:
    with pytest.raises(ValueError, match="fold_t"):
        compare_losses("f1", "maximize", [0, 1], [0, 1], [1, 1])
    with pytest.raises(ValueError, match="minimize"):
        compare_losses("mae", "maximize", [0.0, 1.0], [0.0, 1.0], [1.0, 1.0])


def test_no_rows_is_inconclusive() -> None:
    d = compare_losses("mae", "minimize", [], [], [])
    assert d.verdict == "inconclusive" and d.n == 0 and d.estimate is None
