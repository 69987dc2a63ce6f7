"""The gate's decision rules (`core.operations.gates`) on constructed inputs: each small rule
just above, at and below its threshold, and the criteria built from them, on comparisons and
report fragments whose answer is known. The criteria read only `ws.config.gates[tier]`, so a
stand-in with that one attribute is all the workspace they need."""

from __future__ import annotations

import math
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from core.experiments.report import RunReport
from core.foundation.config import CostConfig, GateConfig
from core.operations import gates
from core.operations.gates import (
    Criterion,
    beats,
    comparison_criteria,
    enough_wins,
    ratio_within,
    within_budget,
)
from core.verdicts.pairs import FoldDelta, RunComparison, compare_reports
from tests.verdicts.reports import errors, report, truth

SETTINGS = GateConfig(
    min_delta=0.05, min_fold_wins=3, latency_ratio_max=1.10, cost_per_1000_max=0.01
)


def _ws(**settings: Any) -> Any:
    config = GateConfig(**{**SETTINGS.__dict__, **settings})
    # No inference log (the folder does not exist): gates judge on the recorded figures.
    return SimpleNamespace(
        config=SimpleNamespace(gates={"staging": config}, cost=CostConfig()),
        root=Path("/nonexistent-factory-workspace"),
        inference_dir=Path("/nonexistent-factory-workspace/logs/inference"),
        logs_dir=Path("/nonexistent-factory-workspace/logs"),
    )


# --- the small rules -----------------------------------------------------------------------


def test_latency_may_grow_up_to_the_ratio_and_no_further() -> None:
    assert ratio_within(1.0999, 1.10)
    assert ratio_within(1.10, 1.10)
    assert not ratio_within(1.1001, 1.10)
    assert not ratio_within(None, 1.10)


def test_cost_may_reach_the_budget_and_an_unknown_cost_is_never_within_it() -> None:
    assert within_budget(0.0099, 0.01)
    assert within_budget(0.01, 0.01)
    assert not within_budget(0.0101, 0.01)
    assert not within_budget(None, 0.01)


def test_fold_wins_need_the_minimum_or_every_fold_when_there_are_fewer() -> None:
    assert enough_wins(3, 5, 3) == (True, 3)
    assert enough_wins(4, 5, 3) == (True, 3)
    assert enough_wins(2, 5, 3) == (False, 3)
    assert enough_wins(2, 2, 3) == (True, 2)
    assert enough_wins(1, 1, 3) == (True, 1)
    assert enough_wins(1, 2, 3) == (False, 2)
    assert enough_wins(0, 0, 3) == (False, 0)


def test_only_better_passes_a_comparison() -> None:
    assert beats("better")
    for verdict in ("worse", "inconclusive", None, "Better"):
        assert not beats(verdict)


def test_a_criterion_serialises_every_field() -> None:
    assert Criterion("fold_wins", 2, 3, False, "why").to_dict() == {
        "name": "fold_wins",
        "value": 2,
        "threshold": 3,
        "passed": False,
        "note": "why",
    }
    assert Criterion("x", 1, 2, True).note == ""


# --- better_than_incumbent and fold_wins from the comparison --------------------------------


Y = truth()
INCUMBENT = RunReport.from_dict(report("r-inc", Y + errors(1.0, 1)))
CHALLENGER = RunReport.from_dict(report("r-new", Y + errors(0.5, 2)))


def test_a_challenger_better_on_the_same_rows_passes_both_comparison_criteria() -> None:
    result = compare_reports(INCUMBENT, CHALLENGER, min_effect=SETTINGS.min_delta)
    better, wins = comparison_criteria(result, SETTINGS, "r-inc", "vs incumbent r-inc")
    decision = result.decision or {}
    low, high = decision["improvement_interval"]
    assert better == Criterion(
        "better_than_incumbent",
        decision["improvement"],
        0.05,
        True,
        f"vs incumbent r-inc; better: improvement {decision['improvement']:+.4g} "
        f"[{low:+.4g}, {high:+.4g}] must lie above 0.05; {decision['reason']}",
    )
    assert wins == Criterion("fold_wins", 3, 3, True, "wins 3, losses 0, ties 0 of 3 folds")


def test_a_worse_challenger_fails_both_comparison_criteria() -> None:
    result = compare_reports(CHALLENGER, INCUMBENT, min_effect=SETTINGS.min_delta)
    better, wins = comparison_criteria(result, SETTINGS, "r-new", "how")
    assert (better.passed, better.value) == (False, (result.decision or {})["improvement"])
    assert better.note.startswith("how; worse: improvement -")
    assert wins == Criterion("fold_wins", 0, 3, False, "wins 0, losses 3, ties 0 of 3 folds")


def test_an_improvement_smaller_than_min_delta_is_not_a_pass() -> None:
    result = compare_reports(INCUMBENT, CHALLENGER, min_effect=5.0)
    better, _ = comparison_criteria(result, GateConfig(min_delta=5.0), "r-inc", "how")
    assert (result.verdict, better.passed, better.threshold) == ("inconclusive", False, 5.0)


def test_a_comparison_that_cannot_be_made_fails_both_and_says_why() -> None:
    other = RunReport.from_dict(report("r-inc", Y + errors(1.0, 1), labels="target_v2"))
    result = compare_reports(other, CHALLENGER)
    note = (
        "not comparable with r-inc: they predict different labels (target_v2 vs target_v1): not "
        "the same target"
    )
    assert comparison_criteria(result, SETTINGS, "r-inc", "how") == [
        Criterion("better_than_incumbent", None, 0.05, False, note),
        Criterion("fold_wins", None, 3, False, note),
    ]


def test_a_comparison_without_numbers_is_shown_with_dashes() -> None:
    bare = RunComparison(
        run_a="r-a",
        run_b="r-b",
        metric="mae",
        direction="minimize",
        comparable=True,
        why_not=None,
        verdict="inconclusive",
        decision=None,
        test=None,
        folds=[FoldDelta(0, "w", 1.0, 1.0, 0.0, 0.0, "tie")],
        ties=1,
    )
    better, wins = comparison_criteria(bare, SETTINGS, "r-a", "how")
    assert better == Criterion(
        "better_than_incumbent",
        None,
        0.05,
        False,
        "how; inconclusive: improvement - [-, -] must lie above 0.05; ",
    )
    assert wins == Criterion("fold_wins", 0, 1, False, "wins 0, losses 0, ties 1 of 1 folds")


# --- beats_baseline ------------------------------------------------------------------------


def _with_baselines(verdict: str | None, skill: Any = 0.4) -> dict[str, Any]:
    return {
        "baselines": {
            "best": "persistence",
            "skill": skill,
            "versus_best": {"verdict": verdict, "reason": f"{verdict}: the reason"},
        }
    }


def test_a_run_better_than_its_best_baseline_passes() -> None:
    assert gates._beats_baseline(_ws(), _with_baselines("better"), "staging") == Criterion(
        "beats_baseline",
        "better",
        "better",
        True,
        "vs persistence: skill +0.4; better: the reason",
    )


def test_a_run_not_better_than_its_best_baseline_fails() -> None:
    for verdict in ("worse", "inconclusive"):
        made = gates._beats_baseline(_ws(), _with_baselines(verdict, skill=None), "staging")
        assert (made.value, made.passed) == (verdict, False)
        assert made.note == f"vs persistence: skill -; {verdict}: the reason"


def test_a_report_without_baselines_fails_unless_they_are_not_required() -> None:
    missing = Criterion(
        "beats_baseline",
        None,
        "better",
        False,
        "the report holds no naive baselines (an older report): retrain the run",
    )
    assert gates._beats_baseline(_ws(), {}, "staging") == missing
    assert gates._beats_baseline(_ws(), {"baselines": {"best": "x"}}, "staging") == missing
    off = gates._beats_baseline(_ws(require_beats_baseline=False), {}, "staging")
    assert off == Criterion(
        "beats_baseline", None, "better", True, "not required ([gates.staging])"
    )


# --- latency and cost --------------------------------------------------------------------------


def _latency(p95: Any) -> dict[str, Any]:
    return {"run_id": "r-inc", "latency": {"p95_ms": p95}}


def test_latency_within_the_ratio_of_the_recorded_incumbent_passes() -> None:
    made = gates._latency(_ws(), _latency(2.2), _latency(2.0), "staging", False)
    assert made == Criterion(
        "latency_p95",
        pytest.approx(1.1),
        1.10,
        True,
        "p95 2.200 ms vs incumbent r-inc 2.000 ms (as recorded at training time (an artifact is "
        "missing or the code changed); live figures need 100 logged online predictions of each "
        "run)",
    )
    slower = gates._latency(_ws(), _latency(2.3), _latency(2.0), "staging", False)
    assert (slower.value, slower.passed) == (pytest.approx(1.15), False)


def test_latency_measured_side_by_side_is_preferred_when_the_code_is_unchanged(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    calls: list[Any] = []

    def measured(ws: Any, run: Any, incumbent: Any) -> tuple[float, float]:
        calls.append((ws, run, incumbent))
        return 3.0, 2.0

    monkeypatch.setattr(gates, "_measure_side_by_side", measured)
    workspace = _ws()
    made = gates._latency(workspace, _latency(1.0), _latency(1.0), "staging", True)
    assert (made.value, made.passed) == (1.5, False)
    assert (
        made.note
        == "p95 3.000 ms vs incumbent r-inc 2.000 ms (measured now, interleaved, one row per call; "
        "live figures need 100 logged online predictions of each run)"
    )
    assert calls == [(workspace, _latency(1.0), _latency(1.0))]
    assert gates._latency(_ws(), _latency(1.0), _latency(1.0), "staging", False).passed
    assert len(calls) == 1


def test_latency_without_an_incumbent_passes_and_without_numbers_fails() -> None:
    assert gates._latency(_ws(), _latency(1.5), None, "staging", True) == Criterion(
        "latency_p95", None, 1.10, True, "no incumbent: nothing to compare with (p95 1.500 ms)"
    )
    assert gates._latency(_ws(), {"run_id": "r-new"}, None, "staging", True).note == (
        "no incumbent: nothing to compare with"
    )
    lacking = Criterion("latency_p95", None, 1.10, False, "a report lacks latency.p95_ms")
    for run, incumbent in (
        (_latency(None), _latency(2.0)),
        (_latency(2.0), _latency(None)),
        (_latency(2.0), _latency(0.0)),
        (_latency(2.0), _latency(-1.0)),
        (_latency(math.nan), _latency(2.0)),
        (_latency(True), _latency(2.0)),
    ):
        assert gates._latency(_ws(), run, incumbent, "staging", False) == lacking


def test_cost_within_the_budget_passes_and_above_it_fails() -> None:
    cost = {"run_id": "r-new", "cost": {"per_1000_predictions": 0.01, "currency": "EUR"}}
    assert gates._cost(_ws(), cost, "staging") == Criterion(
        "cost_per_1000", 0.01, 0.01, True,
        "EUR per 1,000 predictions (at training time; live figures need 100 logged online "
        "predictions)",
    )  # fmt: skip
    dear = {"run_id": "r-new", "cost": {"per_1000_predictions": 0.011}}
    assert gates._cost(_ws(), dear, "staging") == Criterion(
        "cost_per_1000", 0.011, 0.01, False,
        " per 1,000 predictions (at training time; live figures need 100 logged online "
        "predictions)",
    )  # fmt: skip
    lacking = Criterion(
        "cost_per_1000", None, 0.01, False, "the report lacks cost.per_1000_predictions"
    )
    for report_cost in (
        {},
        {"cost": {"per_1000_predictions": "cheap"}},
        {"cost": {"per_1000_predictions": math.inf}},
    ):
        assert gates._cost(_ws(), {"run_id": "r-new", **report_cost}, "staging") == lacking


def test_numbers_shown_in_notes_are_finite_numbers_only() -> None:
    assert gates._num(2) == 2.0 and isinstance(gates._num(2), float)
    for odd in (True, "1", None, math.nan, math.inf, -math.inf):
        assert gates._num(odd) is None
    assert gates._fmt(0.123456) == "+0.1235"
    assert gates._fmt(-2) == "-2"
    assert gates._fmt(None) == "-"
