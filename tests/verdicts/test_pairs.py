"""Is run B better than run A? `compare_reports` on constructed reports whose answer is known
(B clearly better, clearly worse, identical, too few dates, not comparable), and `pool`."""

from __future__ import annotations

import dataclasses
import math
from typing import Any

import numpy as np
import pytest

from core.experiments.report import Predictions, RunReport
from core.stats import compare_losses, fold_t
from core.verdicts.pairs import (
    FoldDelta,
    Pooled,
    RunComparison,
    comparability,
    compare_reports,
    fold_results_windows,
    horizon_units,
    pool,
)
from tests.verdicts.golden import assert_matches
from tests.verdicts.reports import DATES, WINDOWS, errors, report, truth

Y = truth()
DM = "Diebold-Mariano (HAC, HLN-corrected)"


def _run(run_id: str, prediction: Any, **kw: Any) -> RunReport:
    return RunReport.from_dict(report(run_id, prediction, **kw))


def _mae_rows(prediction: Any) -> float:
    return float(np.mean(np.abs(Y - np.asarray(prediction))))


A_PRED = Y + errors(1.0, 1)
B_PRED = Y + errors(0.5, 2)


# --- the verdicts ---------------------------------------------------------------------------


def test_a_run_half_as_wrong_on_every_row_is_better_by_the_known_mae_difference() -> None:
    a, b = _run("r-a", A_PRED), _run("r-b", B_PRED)
    made = compare_reports(a, b)
    assert (made.comparable, made.why_not, made.verdict) == (True, None, "better")
    assert (made.run_a, made.run_b, made.metric, made.direction, made.rows) == (
        "r-a",
        "r-b",
        "mae",
        "minimize",
        48,
    )
    decision = made.decision or {}
    assert decision["method"] == "diebold-mariano"
    assert (decision["n"], decision["unit"], decision["rows"]) == (24, "dates", 48)
    assert decision["estimate"] == pytest.approx(_mae_rows(B_PRED) - _mae_rows(A_PRED))
    # the test's differential is loss_b - loss_a; oriented, positive means B is better
    assert made.improvement == pytest.approx(-(made.test or {})["mean"])
    assert made.improvement == pytest.approx(_mae_rows(A_PRED) - _mae_rows(B_PRED))
    assert made.se_improvement == (made.test or {})["se"]
    assert made.summary == f"r-b vs r-a on mae (minimize): better; {decision['reason']}"
    assert decision["reason"].startswith(f"better: {DM} on 24 dates (48 rows) puts")
    assert (made.wins_b, made.wins_a, made.ties) == (3, 0, 0)


def test_a_run_twice_as_wrong_on_every_row_is_worse() -> None:
    made = compare_reports(_run("r-b", B_PRED), _run("r-a", A_PRED))
    assert made.verdict == "worse"
    assert made.improvement == pytest.approx(_mae_rows(B_PRED) - _mae_rows(A_PRED))
    assert (made.wins_b, made.wins_a) == (0, 3)


def test_a_run_compared_with_itself_is_inconclusive_and_identical() -> None:
    made = compare_reports(_run("r-a", A_PRED), _run("r-b", A_PRED))
    assert made.verdict == "inconclusive"
    assert (made.test or {})["note"].startswith("identical")
    assert (made.wins_b, made.wins_a, made.ties) == (0, 0, 3)
    assert made.improvement == 0.0


def test_a_minimum_effect_larger_than_the_difference_keeps_it_inconclusive() -> None:
    gap = _mae_rows(A_PRED) - _mae_rows(B_PRED)
    assert compare_reports(
        _run("r-a", A_PRED), _run("r-b", B_PRED), min_effect=gap * 0.5
    ).verdict == ("better")
    made = compare_reports(_run("r-a", A_PRED), _run("r-b", B_PRED), min_effect=gap * 2)
    assert made.verdict == "inconclusive"
    assert (made.decision or {})["min_effect"] == gap * 2


def test_too_few_dates_are_inconclusive_however_clear_the_rows() -> None:
    few = DATES[:9]
    y = Y[:18]
    windows = [(few[0], few[2]), (few[3], few[5]), (few[6], few[8])]
    kw: dict[str, Any] = {
        "y": y,
        "dates": few,
        "windows": windows,
        "fold_metrics": [{"mae": 1.0}] * 3,
    }
    made = compare_reports(_run("r-a", y + 1.0, **kw), _run("r-b", y + 0.5 + 0.01 * y, **kw))
    assert made.verdict == "inconclusive"
    assert (made.decision or {})["reason"] == (
        f"inconclusive: 9 dates, fewer than the 10 a verdict needs from {DM}"
    )


def test_rows_a_run_could_not_predict_are_left_out_of_both_sides() -> None:
    holes = B_PRED.copy()
    holes[:4] = np.nan
    made = compare_reports(_run("r-a", A_PRED), _run("r-b", holes))
    assert made.rows == 48
    assert (made.decision or {})["rows"] == 44
    keep = np.isfinite(holes)
    direct = compare_losses(
        "mae",
        "minimize",
        Y[keep],
        A_PRED[keep],
        holes[keep],
        groups=np.repeat(DATES, 2)[keep],
        unit="dates",
    )
    assert (made.decision or {})["interval"] == [direct.low, direct.high]


# --- not comparable ---------------------------------------------------------------------------


def test_runs_on_different_labels_are_not_comparable() -> None:
    made = compare_reports(_run("r-a", A_PRED), _run("r-b", B_PRED, labels="target_v2"))
    assert (made.comparable, made.verdict, made.decision, made.test) == (
        False,
        "inconclusive",
        None,
        None,
    )
    assert made.why_not == (
        "they predict different labels (target_v1 vs target_v2): not the same target"
    )
    assert made.summary == f"r-b vs r-a: not comparable: {made.why_not}"
    # folds are still shown side by side
    assert (made.wins_b, made.mean_a) == (3, pytest.approx(_mae_rows(A_PRED)))


def test_runs_scored_on_different_primary_metrics_are_not_comparable_on_it() -> None:
    a, b = _run("r-a", A_PRED), _run("r-b", B_PRED, metric="rmse")
    assert comparability(a, b, "mae") == "r-a is scored on 'mae', r-b on 'rmse'"
    assert comparability(a, b, "rmse") is None  # an explicit metric both report is fine


def test_runs_tested_on_different_windows_are_not_comparable() -> None:
    shifted = [(DATES[0], DATES[6]), WINDOWS[1], WINDOWS[2]]
    a, b = _run("r-a", A_PRED), _run("r-b", B_PRED, windows=shifted)
    made = compare_reports(a, b)
    assert made.why_not == (
        "they were tested on different windows (3 vs 3 folds; snapshots snap-1 vs snap-1); a "
        "paired comparison needs the same test windows: train both on the same snapshot with "
        "the same [validation] settings"
    )
    # the shared windows are still listed
    assert [f.window for f in made.folds] == [f"{s}..{e}" for s, e in WINDOWS[1:]]


def test_the_same_rows_with_different_truth_are_not_comparable() -> None:
    other = Y.copy()
    other[5] += 1.0
    made = compare_reports(_run("r-a", A_PRED), _run("r-b", B_PRED, y=other))
    assert (made.comparable, made.verdict) == (False, "inconclusive")
    assert made.why_not == (
        "the same rows carry different labels in the two runs (not the same truth)"
    )
    assert made.summary == f"r-b vs r-a: not comparable: {made.why_not}"


def test_labels_missing_on_one_side_do_not_block_a_comparison() -> None:
    made = compare_reports(_run("r-a", A_PRED, labels=None), _run("r-b", B_PRED))
    assert made.comparable and made.verdict == "better"


# --- fallbacks --------------------------------------------------------------------------------


def test_reports_without_predictions_fall_back_to_fold_scores_and_say_so() -> None:
    folds = [{"mae": 1.0}, {"mae": 1.2}, {"mae": 1.1}]
    better = [{"mae": 0.5}, {"mae": 0.7}, {"mae": 0.65}]
    a = _run("r-a", A_PRED, fold_metrics=folds, with_predictions=False)
    b = _run("r-b", B_PRED, fold_metrics=better, with_predictions=False)
    made = compare_reports(a, b)
    assert made.comparable and made.verdict == "inconclusive"  # 3 folds < 5
    assert (made.decision or {})["method"] == "fold-t"
    assert made.rows == 0
    assert made.summary.endswith(
        " (a report without per-row predictions: the verdict stands on fold scores)"
    )
    expected = fold_t([-0.5, -0.5, -0.45])
    assert_matches(made.test, expected.to_dict())
    assert made.improvement == pytest.approx(-expected.mean)  # minimize: lower is better
    assert made.se_improvement == pytest.approx(expected.se)
    assert (made.mean_a, made.mean_b) == (pytest.approx(1.1), pytest.approx(0.6166666666))


def test_a_metric_without_a_row_level_test_is_decided_on_fold_deltas() -> None:
    folds = [{"r2": 0.5}, {"r2": 0.6}, {"r2": 0.55}]
    better = [{"r2": 0.7}, {"r2": 0.75}, {"r2": 0.8}]
    a = _run("r-a", A_PRED, metric="r2", direction="maximize", fold_metrics=folds)
    b = _run("r-b", B_PRED, metric="r2", direction="maximize", fold_metrics=better)
    made = compare_reports(a, b)
    assert (made.decision or {})["method"] == "fold-t"
    assert made.rows == 48
    assert "without per-row predictions" not in made.summary
    assert made.improvement == pytest.approx(0.2)  # maximize: B - A as it is


def test_runs_that_share_no_rows_fall_back_to_fold_deltas() -> None:
    later = [f"2025-03-{d:02d}" for d in range(1, 25)]
    made = compare_reports(_run("r-a", A_PRED), _run("r-b", B_PRED, dates=later))
    assert made.comparable and made.rows == 0
    assert (made.decision or {})["method"] == "fold-t"


def test_auc_runs_are_compared_with_delong_over_folds() -> None:
    rng = np.random.default_rng(4)
    y = np.tile([0.0, 1.0], 24)
    weak = y * 0.5 + rng.normal(0.0, 0.5, 48)
    strong = y * 3.0 + rng.normal(0.0, 0.5, 48)
    folds = [{"auc": 0.7}, {"auc": 0.7}, {"auc": 0.7}]
    kw: dict[str, Any] = {"y": y, "metric": "auc", "direction": "maximize", "fold_metrics": folds}
    made = compare_reports(_run("r-a", weak, **kw), _run("r-b", strong, **kw))
    assert (made.decision or {})["method"] == "delong-folds"
    assert made.improvement == pytest.approx((made.test or {})["mean"])  # maximize: not flipped
    assert made.improvement > 0


def test_a_baselines_predictions_can_stand_in_for_run_a() -> None:
    naive = _run("r-a", A_PRED).predictions
    assert naive is not None
    b = _run("r-b", B_PRED)
    made = compare_reports(b, b, a_predictions=naive)
    assert made.verdict == "better"


def test_an_explicit_metric_and_direction_override_the_primary_metric() -> None:
    folds = [{"mae": 1.0, "r2": 0.5}] * 3
    better = [{"mae": 0.5, "r2": 0.4}] * 3
    a = _run("r-a", A_PRED, fold_metrics=folds, with_predictions=False)
    b = _run("r-b", B_PRED, fold_metrics=better, with_predictions=False)
    made = compare_reports(a, b, metric="r2", direction="maximize")
    assert (made.metric, made.direction) == ("r2", "maximize")
    assert [f.winner for f in made.folds] == ["a", "a", "a"]


# --- folds --------------------------------------------------------------------------------------


def test_each_shared_fold_has_its_delta_improvement_and_winner() -> None:
    folds = [{"mae": 1.0}, {"mae": 1.0}, {"mae": None}]
    other = [{"mae": 0.8}, {"mae": 1.0}, {"mae": 0.5}]
    made = compare_reports(
        _run("r-a", A_PRED, fold_metrics=folds), _run("r-b", B_PRED, fold_metrics=other)
    )
    window = [f"{s}..{e}" for s, e in WINDOWS]
    assert [f.to_dict() for f in made.folds] == [
        {
            "fold": 0,
            "window": window[0],
            "a": 1.0,
            "b": 0.8,
            "delta": pytest.approx(-0.2),
            "improvement": pytest.approx(0.2),
            "winner": "b",
        },
        {
            "fold": 1,
            "window": window[1],
            "a": 1.0,
            "b": 1.0,
            "delta": 0.0,
            "improvement": -0.0,
            "winner": "tie",
        },
        {
            "fold": 2,
            "window": window[2],
            "a": None,
            "b": 0.5,
            "delta": None,
            "improvement": None,
            "winner": "tie",
        },
    ]
    assert (made.wins_b, made.wins_a, made.ties) == (1, 0, 2)
    assert (made.mean_a, made.mean_b) == (1.0, 0.9)  # over the folds both scored
    lost = compare_reports(
        _run("r-a", A_PRED, fold_metrics=other), _run("r-b", B_PRED, fold_metrics=folds)
    )
    assert lost.folds[0].winner == "a" and lost.wins_a == 1


def test_a_comparison_serialises_its_folds() -> None:
    made = compare_reports(_run("r-a", A_PRED), _run("r-b", B_PRED))
    out = made.to_dict()
    assert set(out) == {f.name for f in dataclasses.fields(RunComparison)}
    assert out["folds"] == [f.to_dict() for f in made.folds]
    assert out["verdict"] == "better" and out["decision"] == made.decision
    assert fold_results_windows(_run("r-a", A_PRED).folds) == [f"{s}..{e}" for s, e in WINDOWS]


def test_the_horizon_is_the_labels_step_in_whole_days_at_least_one() -> None:
    assert horizon_units(_run("r", A_PRED, horizon="1D")) == 1
    assert horizon_units(_run("r", A_PRED, horizon="36h")) == 2
    assert horizon_units(_run("r", A_PRED, horizon="7 days")) == 7
    assert horizon_units(_run("r", A_PRED, horizon="2h")) == 1
    assert horizon_units(_run("r", A_PRED, horizon="")) == 1
    assert horizon_units(_run("r", A_PRED, horizon="soon")) == 1
    assert horizon_units(_run("r", A_PRED, horizon="0h")) == 1


# --- pooling -----------------------------------------------------------------------------------


def _pair(verdict: str, improvement: float | None, se: float | None, **kw: Any) -> RunComparison:
    fields: dict[str, Any] = {
        "run_a": "r-a",
        "run_b": "r-b",
        "metric": "mae",
        "direction": "minimize",
        "comparable": True,
        "why_not": None,
        "verdict": verdict,
        "decision": {"improvement_interval": [0.1, 0.3], "reason": f"{verdict}: because"},
        "test": None,
        "improvement": improvement,
        "se_improvement": se,
    }
    fields.update(kw)
    return RunComparison(**fields)


def test_one_comparison_keeps_its_own_verdict_interval_and_reason() -> None:
    assert pool([_pair("better", 0.2, 0.05)]) == Pooled(
        1, 0.2, 0.1, 0.3, "better", "better: because"
    )
    lone = pool([_pair("inconclusive", None, None, decision=None, why_not="different labels")])
    assert lone == Pooled(1, None, None, None, "inconclusive", "different labels")
    bare = pool([_pair("inconclusive", None, None, decision={}, summary="just a summary")])
    assert (bare.low, bare.high, bare.reason) == (None, None, "just a summary")
    odd = pool([_pair("better", 0.2, 0.05, decision={"improvement_interval": [math.inf, "x"]})])
    assert (odd.low, odd.high) == (None, None)


def test_several_comparisons_are_pooled_by_inverse_variance() -> None:
    pairs = [_pair("better", 0.2, 0.1), _pair("better", 0.4, 0.2), _pair("inconclusive", 0.1, 0.4)]
    weights = [1 / 0.1**2, 1 / 0.2**2, 1 / 0.4**2]
    estimate = (0.2 * weights[0] + 0.4 * weights[1] + 0.1 * weights[2]) / sum(weights)
    se = math.sqrt(1 / sum(weights))
    made = pool(pairs)
    assert (made.pairs, made.verdict) == (3, "better")
    assert made.improvement == pytest.approx(estimate)
    assert (made.low, made.high) == (
        pytest.approx(estimate - 1.96 * se),
        pytest.approx(estimate + 1.96 * se),
    )
    assert made.reason == (
        f"3 pairs pooled by inverse variance: improvement {estimate:+.4g} "
        f"[{estimate - 1.96 * se:+.4g}, {estimate + 1.96 * se:+.4g}] (pairs that share a run make "
        "this interval a little narrower than it should be)"
    )
    assert made.to_dict() == {
        "pairs": 3,
        "improvement": made.improvement,
        "low": made.low,
        "high": made.high,
        "verdict": "better",
        "reason": made.reason,
    }


def test_pooled_worse_and_the_minimum_effect_at_its_edge() -> None:
    worse = [_pair("worse", -0.3, 0.05), _pair("worse", -0.3, 0.05)]
    assert pool(worse).verdict == "worse"
    high = pool(worse).high or 0.0
    assert pool(worse, min_effect=-high * 0.99).verdict == "worse"
    assert pool(worse, min_effect=-high).verdict == "inconclusive"
    better = [_pair("better", 0.3, 0.05), _pair("better", 0.3, 0.05)]
    low = pool(better).low or 0.0
    assert pool(better, min_effect=low * 0.99).verdict == "better"
    assert pool(better, min_effect=low).verdict == "inconclusive"


def test_a_pair_that_contradicts_the_pooled_verdict_makes_it_inconclusive() -> None:
    mixed = [_pair("better", 0.5, 0.01), _pair("worse", -0.1, 0.5)]
    made = pool(mixed)
    assert made.verdict == "inconclusive"
    assert made.reason.startswith("2 pairs pooled by inverse variance: improvement ")
    assert made.reason.endswith("narrower than it should be); pairs disagree")
    against = [_pair("worse", -0.5, 0.01), _pair("better", 0.1, 0.5)]
    assert pool(against).verdict == "inconclusive"
    assert not pool([_pair("better", 0.5, 0.01), _pair("better", 0.4, 0.1)]).reason.endswith(
        "disagree"
    )


def test_only_comparable_pairs_with_a_spread_are_pooled() -> None:
    pairs = [
        _pair("better", 0.2, 0.1),
        _pair("better", 5.0, 0.0),
        _pair("better", 5.0, None),
        _pair("better", None, 0.1),
        _pair("better", 5.0, 0.1, comparable=False),
    ]
    made = pool(pairs)
    assert made.pairs == 5
    assert made.improvement == pytest.approx(0.2)
    assert made.reason.startswith("1 pairs pooled")
    nothing = pool([_pair("better", None, None), _pair("worse", None, None)])
    assert nothing == Pooled(2, None, None, None, "inconclusive", "no pair has a test")


def test_fold_deltas_and_predictions_are_plain_records() -> None:
    delta = FoldDelta(0, "a..b", 1.0, 0.5, -0.5, 0.5, "b")
    assert delta.to_dict() == {
        "fold": 0,
        "window": "a..b",
        "a": 1.0,
        "b": 0.5,
        "delta": -0.5,
        "improvement": 0.5,
        "winner": "b",
    }
    assert isinstance(_run("r-a", A_PRED).predictions, Predictions)


def test_runs_scored_on_different_primary_metrics_are_not_compared() -> None:
    made = compare_reports(_run("r-a", A_PRED), _run("r-b", B_PRED, metric="rmse"))
    assert (made.comparable, made.why_not) == (False, "r-a is scored on 'mae', r-b on 'rmse'")


def test_an_old_report_against_a_new_one_stands_on_fold_scores() -> None:
    folds = [{"mae": 1.0}, {"mae": 1.2}, {"mae": 1.1}]
    a = _run("r-a", A_PRED, fold_metrics=folds, with_predictions=False)
    made = compare_reports(a, _run("r-b", B_PRED), min_effect=0.01)
    decision = made.decision or {}
    assert (decision["method"], decision["metric"], decision["min_effect"]) == (
        "fold-t",
        "mae",
        0.01,
    )
    assert made.summary.endswith("the verdict stands on fold scores)")
    back = compare_reports(_run("r-b", B_PRED), a)
    assert (back.decision or {})["method"] == "fold-t" and back.rows == 0


def test_folds_without_scores_give_no_means_and_no_improvement() -> None:
    empty = [{"mae": None}] * 3
    a = _run("r-a", A_PRED, fold_metrics=empty, with_predictions=False)
    b = _run("r-b", B_PRED, fold_metrics=empty, with_predictions=False)
    made = compare_reports(a, b)
    assert (made.mean_a, made.mean_b, made.improvement, made.verdict) == (
        None,
        None,
        None,
        "inconclusive",
    )


def test_a_fold_improvement_keeps_its_size_when_higher_is_better() -> None:
    folds = [{"r2": 0.5}] * 3
    better = [{"r2": 0.6}] * 3
    a = _run("r-a", A_PRED, metric="r2", direction="maximize", fold_metrics=folds)
    b = _run("r-b", B_PRED, metric="r2", direction="maximize", fold_metrics=better)
    assert compare_reports(a, b).folds[0].improvement == pytest.approx(0.1)


def test_rows_whose_label_is_missing_in_both_runs_are_the_same_truth() -> None:
    y = Y.copy()
    y[3] = np.nan
    made = compare_reports(_run("r-a", A_PRED, y=y), _run("r-b", B_PRED, y=y))
    assert made.comparable and made.verdict == "better"
    assert (made.decision or {})["rows"] == 47


def test_a_pair_with_no_improvement_pools_as_zero() -> None:
    made = pool([_pair("inconclusive", 0.0, 0.1), _pair("inconclusive", 0.0, 0.1)])
    assert made.improvement == 0.0
