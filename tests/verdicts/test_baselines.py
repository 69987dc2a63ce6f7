"""Does a run beat doing nothing clever? The best naive baseline, the skill score over it,
and the run against it on the same rows, on constructed predictions with a known answer."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import numpy as np
import pytest

from core.experiments.report import Aggregate, RunReport
from core.stats import compare_losses, decide, fold_t
from core.verdicts.baselines import best_baseline, skill_score, versus_best_baseline
from tests.verdicts.reports import DATES, errors, report, truth

Y = truth()
RUN = Y + errors(0.5, 2)
PERSISTENCE = Y + errors(1.5, 3)
MEAN = Y + errors(3.0, 4)


def _agg(mean: float | None) -> Aggregate:
    return Aggregate(mean, None, None, None, 3 if mean is not None else 0, 3)


AGGREGATE = {
    "persistence": {"mae": _agg(1.6), "r2": _agg(0.1)},
    "mean": {"mae": _agg(3.1), "r2": _agg(0.0)},
}


def _report(prediction: Any = RUN, **kw: Any) -> RunReport:
    baselines = kw.pop("baselines", {"persistence": PERSISTENCE, "mean": MEAN})
    return RunReport.from_dict(report("r-b", prediction, baselines=baselines, **kw))


# --- the best baseline -------------------------------------------------------------------------


def test_the_best_baseline_has_the_lowest_loss_or_the_highest_score() -> None:
    assert best_baseline(AGGREGATE, "mae", "minimize") == "persistence"
    assert best_baseline(AGGREGATE, "r2", "maximize") == "persistence"
    flipped = {"a": {"auc": _agg(0.6)}, "b": {"auc": _agg(0.7)}}
    assert best_baseline(flipped, "auc", "maximize") == "b"
    assert best_baseline(flipped, "auc", "minimize") == "a"


def test_a_tie_keeps_the_first_baseline_listed() -> None:
    tied = {"first": {"mae": _agg(1.0)}, "second": {"mae": _agg(1.0)}}
    assert best_baseline(tied, "mae", "minimize") == "first"
    assert best_baseline(tied, "mae", "maximize") == "first"


def test_baselines_without_the_metric_are_not_candidates() -> None:
    partial = {"none": {"mae": _agg(None)}, "other": {"rmse": _agg(0.1)}, "ok": {"mae": _agg(9.0)}}
    assert best_baseline(partial, "mae", "minimize") == "ok"
    assert best_baseline({"none": {"mae": _agg(None)}}, "mae", "minimize") is None
    assert best_baseline({}, "mae", "minimize") is None


# --- skill ---------------------------------------------------------------------------------------


def test_skill_on_a_loss_is_one_minus_the_ratio_to_the_baseline() -> None:
    assert skill_score("mae", "minimize", 0.5, 2.0) == 0.75
    assert skill_score("mae", "minimize", 2.0, 2.0) == 0.0
    assert skill_score("mae", "minimize", 3.0, 2.0) == -0.5
    assert skill_score("mae", "minimize", 0.5, 0.0) is None
    assert skill_score("mae", "minimize", 0.5, -1.0) is None


def test_skill_on_a_score_bounded_by_one_is_the_share_of_the_way_to_one() -> None:
    assert skill_score("auc", "maximize", 0.8, 0.6) == pytest.approx(0.5)
    assert skill_score("r2", "maximize", 0.5, 0.0) == 0.5
    # a baseline already at 1 has no way left: the relative change instead
    assert skill_score("auc", "maximize", 0.9, 1.0) == pytest.approx(-0.1)


def test_skill_on_an_unbounded_score_is_the_relative_improvement() -> None:
    assert skill_score("lift", "maximize", 3.0, 2.0) == 0.5
    assert skill_score("lift", "maximize", 1.0, -2.0) == 1.5
    assert skill_score("lift", "maximize", 1.0, 0.0) is None


def test_no_skill_without_both_numbers() -> None:
    assert skill_score("mae", "minimize", None, 1.0) is None
    assert skill_score("mae", "minimize", 1.0, None) is None


# --- the run against its best baseline ----------------------------------------------------------


def test_a_run_with_a_third_of_the_baselines_error_beats_it_on_the_same_rows() -> None:
    run = _report()
    assert run.predictions is not None
    name, decision, skill = versus_best_baseline(
        run.predictions, run.folds, AGGREGATE, "mae", "minimize", timedelta(days=1)
    )
    assert name == "persistence"
    assert decision is not None
    direct = compare_losses(
        "mae", "minimize", Y, PERSISTENCE, RUN, groups=np.repeat(DATES, 2), unit="dates"
    )
    assert decision == {**direct.to_dict(), "baseline": "persistence"}
    assert decision["verdict"] == "better"
    run_mae = np.mean([f.metrics["mae"] for f in run.folds])
    assert skill == pytest.approx(1 - run_mae / 1.6)


def test_a_run_worse_than_its_baseline_is_worse_with_negative_skill() -> None:
    run = _report(MEAN, baselines={"persistence": PERSISTENCE, "mean": RUN})
    assert run.predictions is not None
    name, decision, skill = versus_best_baseline(
        run.predictions, run.folds, AGGREGATE, "mae", "minimize", timedelta(days=1)
    )
    assert (name, (decision or {})["verdict"]) == ("persistence", "worse")
    assert skill is not None and skill < 0


def test_the_labels_horizon_sets_the_lag_of_the_test() -> None:
    run = _report()
    assert run.predictions is not None
    for horizon, lag in ((timedelta(days=10), 9), (timedelta(hours=200), 8), (timedelta(0), 2)):
        _, decision, _ = versus_best_baseline(
            run.predictions, run.folds, AGGREGATE, "mae", "minimize", horizon
        )
        assert (decision or {})["test"]["lag"] == lag, horizon


def test_a_best_baseline_without_predictions_gives_no_decision() -> None:
    run = _report(baselines={"mean": MEAN})
    assert run.predictions is not None
    assert versus_best_baseline(
        run.predictions, run.folds, AGGREGATE, "mae", "minimize", timedelta(days=1)
    ) == ("persistence", None, None)
    assert versus_best_baseline(
        run.predictions, run.folds, {}, "mae", "minimize", timedelta(days=1)
    ) == (None, None, None)


def test_a_metric_without_a_row_test_is_decided_on_the_fold_deltas() -> None:
    folds = [{"r2": 0.5}, {"r2": 0.6}, {"r2": 0.7}]
    raw = report(
        "r-b",
        RUN,
        metric="r2",
        direction="maximize",
        fold_metrics=folds,
        baselines={"persistence": PERSISTENCE},
    )
    raw["folds"][0]["baselines"] = {"persistence": {"r2": 0.1}}
    raw["folds"][1]["baselines"] = {"persistence": {"r2": 0.3}}
    raw["folds"][2]["baselines"] = {"persistence": {"r2": None}}
    run = RunReport.from_dict(raw)
    assert run.predictions is not None
    _, decision, skill = versus_best_baseline(
        run.predictions, run.folds, AGGREGATE, "r2", "maximize", timedelta(days=1)
    )
    expected = decide(fold_t([0.4, 0.3]), metric="r2", direction="maximize", loss_based=False)
    assert decision == {**expected.to_dict(), "baseline": "persistence"}
    assert skill == pytest.approx((0.6 - 0.1) / 0.9)


def test_skill_over_a_baseline_below_one_is_still_one_minus_the_ratio() -> None:
    assert skill_score("mae", "minimize", 0.25, 0.5) == 0.5


def test_a_run_without_fold_scores_has_no_skill() -> None:
    run = _report(fold_metrics=[{"mae": None}] * 3)
    assert run.predictions is not None
    _, decision, skill = versus_best_baseline(
        run.predictions, run.folds, AGGREGATE, "mae", "minimize", timedelta(days=1)
    )
    assert decision is not None and skill is None
