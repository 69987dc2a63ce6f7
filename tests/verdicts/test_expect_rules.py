"""A plan's expectation checked against its run (`core.records.expect`): thresholds just above,
at and below, `beats` on constructed reports whose verdict is known, and free text."""

from __future__ import annotations

from typing import Any

import pytest

from core.records.expect import NEEDS_HUMAN, Verdict, evaluate, parse, verdict_holds
from tests.verdicts.reports import errors, report, truth

Y = truth()
GOOD = report("r-good", Y + errors(0.5, 2))
BAD = report("r-bad", Y + errors(1.0, 1))
OTHER_TARGET = report("r-other", Y + errors(1.0, 1), labels="target_v2")


def _scores(**means: float) -> dict[str, Any]:
    return {
        "run_id": "r-new",
        "primary_metric": {"name": "mae", "direction": "minimize"},
        "metrics": {"aggregate": {k: {"mean": v} for k, v in means.items()}},
    }


def _check(expect: str, run: dict[str, Any], reports: dict[str, Any] | None = None) -> Verdict:
    return evaluate(
        expect,
        run,
        primary_metric="mae",
        direction="minimize",
        baseline_for=lambda ref: (reports or {}).get(ref),
    )


# --- parsing --------------------------------------------------------------------------------


def test_thresholds_and_beats_clauses_are_machine_checkable() -> None:
    clauses = parse("auc >= 0.72 AND beats best and mae<2.5e-1 and beats r-1a2b.")
    assert clauses is not None
    assert [kind for kind, _ in clauses] == ["threshold", "beats", "threshold", "beats"]
    assert clauses[0][1]["metric"] == "auc" and clauses[0][1]["op"] == ">="
    assert clauses[2][1]["value"] == "2.5e-1"
    assert clauses[3][1]["target"] == "r-1a2b"
    for op in (">=", ">", "<=", "<", "=="):
        parsed = parse(f"rmse {op} -1.5")
        assert parsed is not None and parsed[0][1]["op"] == op


def test_anything_else_is_free_text() -> None:
    for text in (
        "",
        "  .  ",
        "better than before",
        "auc >= high",
        "beats everyone",
        "auc >= 0.7 and the demo looks nice",
        "auc = 0.7",
    ):
        assert parse(text) is None, text


# --- thresholds -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("expect", "held"),
    [
        ("mae < 1.2", False),
        ("mae < 1.2000001", True),
        ("mae <= 1.2", True),
        ("mae <= 1.1999999", False),
        ("mae > 1.2", False),
        ("mae > 1.1999999", True),
        ("mae >= 1.2", True),
        ("mae >= 1.2000001", False),
        ("mae == 1.2", True),
        ("mae == 1.21", False),
    ],
)
def test_a_threshold_holds_just_below_at_and_above_as_its_operator_says(
    expect: str, held: bool
) -> None:
    verdict = _check(expect, _scores(mae=1.2))
    assert verdict.held is held


def test_a_threshold_that_holds_reports_its_numbers() -> None:
    verdict = _check("MAE < 2.5", _scores(mae=1.23456789))
    assert verdict == Verdict(
        True,
        "held",
        [
            {
                "clause": "MAE < 2.5",
                "metric": "mae",
                "op": "<",
                "target": 2.5,
                "actual": 1.234568,
                "held": True,
            }
        ],
    )
    assert verdict.to_dict() == {"held": True, "reason": "held", "checks": verdict.checks}


def test_a_threshold_that_fails_says_what_was_measured_and_expected() -> None:
    verdict = _check("mae < 1 and auc >= 0.7", _scores(mae=1.5, auc=0.8))
    assert verdict.held is False
    assert verdict.reason == "did not hold: mae is 1.5, expected < 1.0"


def test_a_metric_the_report_lacks_cannot_be_checked() -> None:
    verdict = _check("rmse < 1", _scores(mae=1.0))
    assert verdict.held is None
    assert verdict.reason == "could not be checked: metric missing from the report"
    assert verdict.checks[0]["actual"] is None and verdict.checks[0]["held"] is None


def test_free_text_needs_a_human() -> None:
    assert _check("the forecast looks right", _scores(mae=1.0)) == Verdict(None, NEEDS_HUMAN)


# --- beats ----------------------------------------------------------------------------------


def test_beats_holds_when_the_run_is_better_than_the_run_named() -> None:
    verdict = _check("beats r-bad", GOOD, {"r-bad": BAD})
    assert (verdict.held, verdict.reason) == (True, "held")
    check = verdict.checks[0]
    assert (check["clause"], check["held"], check["run_a"], check["verdict"]) == (
        "beats r-bad",
        True,
        "r-bad",
        "better",
    )
    assert (check["method"], check["wins_b"], check["fold_count"]) == ("diebold-mariano", 3, 3)
    assert check["mean_delta"] < 0 and len(check["interval"]) == 2
    assert check["reason"].startswith("better: Diebold-Mariano")


def test_beats_fails_when_the_run_is_worse_and_explains_the_comparison() -> None:
    verdict = _check("beats best", BAD, {"best": GOOD})
    assert verdict.held is False
    check = verdict.checks[0]
    low, high = check["interval"]
    assert verdict.reason == (
        f"did not hold: worse against r-good (delta {check['mean_delta']}, 95% interval "
        f"[{low}, {high}], diebold-mariano; 0/3 folds better)"
    )


def test_beats_cannot_be_told_against_the_same_predictions() -> None:
    verdict = _check("beats r-good", GOOD, {"r-good": GOOD})
    assert verdict.held is None
    assert verdict.checks[0]["verdict"] == "inconclusive"
    assert verdict.reason.startswith("could not be checked: inconclusive: Diebold-Mariano")


def test_beats_cannot_be_told_against_a_run_on_another_target() -> None:
    verdict = _check("beats r-other", GOOD, {"r-other": OTHER_TARGET})
    assert verdict.held is None
    assert verdict.checks[0]["reason"] == (
        "they predict different labels (target_v2 vs target_v1): not the same target"
    )


def test_beats_without_anything_to_beat_cannot_be_checked() -> None:
    verdict = _check("beats best", GOOD)
    assert verdict.checks == [
        {
            "clause": "beats best",
            "run_a": None,
            "held": None,
            "reason": "no earlier run to compare with",
        }
    ]
    assert verdict.reason == "could not be checked: no earlier run to compare with"
    named = _check("beats R-ABC", GOOD)
    assert named.reason == "could not be checked: no report for r-abc"


def test_one_failed_clause_fails_the_whole_and_all_must_hold_to_hold() -> None:
    both = _check("beats r-bad and mae < 5", {**GOOD, **_scores(mae=1.0)}, {"r-bad": BAD})
    assert both.held is True
    failed = _check("beats r-bad and mae < 0.5", {**GOOD, **_scores(mae=1.0)}, {"r-bad": BAD})
    assert failed.held is False
    assert failed.reason == "did not hold: mae is 1.0, expected < 0.5"
    partly = _check("beats best and mae < 5", {**GOOD, **_scores(mae=1.0)})
    assert partly.held is None
    assert partly.reason == "could not be checked: no earlier run to compare with"
    after = _check("beats best and mae < 0.5", {**GOOD, **_scores(mae=1.0)})
    assert after.held is False  # a clause after one that cannot be checked is still checked


def test_every_failed_or_unchecked_clause_is_named_in_turn() -> None:
    both = _check("mae < 1 and auc > 0.9", _scores(mae=1.5, auc=0.8))
    assert both.reason == "did not hold: mae is 1.5, expected < 1.0; auc is 0.8, expected > 0.9"
    unknown = _check("rmse < 1 and beats best", _scores(mae=1.0))
    assert unknown.reason == (
        "could not be checked: metric missing from the report; no earlier run to compare with"
    )


def test_a_trailing_x_is_part_of_a_run_id_not_punctuation() -> None:
    parsed = parse("beats R-X")
    assert parsed is not None and parsed[0][1]["target"] == "R-X"


def test_beats_compares_on_the_plans_metric_and_direction() -> None:
    # the reports say maximize; the plan's primary metric is a loss, minimized
    up = {"primary_metric": {"name": "mae", "direction": "maximize"}}
    good, bad = {**GOOD, **up}, {**BAD, **up}
    verdict = evaluate(
        "beats r-bad",
        good,
        primary_metric="rmse",
        direction="minimize",
        baseline_for=lambda ref: {"r-bad": bad}.get(ref),
    )
    check = verdict.checks[0]
    assert (verdict.held, check["verdict"], check["method"]) == (True, "better", "diebold-mariano")
    assert " in rmse at " in check["reason"]


def test_a_verdict_holds_only_on_better_and_fails_only_on_worse() -> None:
    assert verdict_holds("better") is True
    assert verdict_holds("worse") is False
    assert verdict_holds("inconclusive") is None
    assert verdict_holds("BETTER") is None
