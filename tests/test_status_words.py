"""One wording of a model's status for the dashboard and `status --md` (core.render.words)."""

from __future__ import annotations

from typing import Any

from core.render.families.status import status_md
from core.render.words import model_fields

RUN = {
    "run_id": "r-aaaaaaaaaaaa",
    "primary_metric": {
        "name": "auc",
        "direction": "maximize",
        "mean": 0.71543,
        "std": 0.0404,
        "min": None,
        "max": None,
        "n": 4,
        "of": 4,
    },
    "components": {"features": "weather_v2", "hparams": "h2", "arch": "catboost_v1"},
    "created_at": "2026-11-21T09:15:00.000Z",
}


def model(**fields: Any) -> dict[str, Any]:
    base = {
        "name": "rain",
        "task": "classification",
        "dataset": "weather",
        "metric": "auc",
        "direction": "maximize",
    }
    return {**base, **fields}


def test_a_model_without_runs_says_what_to_run_and_nothing_empty() -> None:
    fields, hint = model_fields(
        model(run_count=0, tiers={"staging": None, "prod": None}, drift={"drift_id": None},
              card={"exists": False, "run_count": 0, "error": None}, open_alert_count=0,
              open_alerts=[])
    )  # fmt: skip
    assert hint == ("no runs yet", "factory train rain")
    assert fields == []


def test_fields_are_worded_and_the_last_run_is_not_repeated() -> None:
    fields, hint = model_fields(
        model(
            run_count=3,
            best_run=RUN,
            last_run=RUN,
            tiers={"staging": "r-aaaaaaaaaaaa", "prod": None, "previous": {"staging": "r-b"}},
            drift={"drift_id": "drift-1", "drift_detected": True, "drifted_count": 4, "column_count": 9,
                   "at": "2026-11-22T08:00:00Z"},
            card={"exists": True, "run_count": 1, "error": None},
            open_alert_count=5,
            open_alerts=[{"alert_id": "al-1", "kind": "drift", "message": "4 of 9 drifted"}],
        )
    )  # fmt: skip
    said = dict(fields)
    assert hint is None
    assert said["best_run"] == (
        "r-aaaaaaaaaaaa  auc 0.7154 ± 0.0404  features weather_v2 · hparams h2  2026-11-21 09:15"
    )
    assert said["last_run"] == "the best run"
    assert said["tiers"] == "staging r-aaaaaaaaaaaa · prod -  (before: staging r-b)"
    assert said["drift"] == "DRIFT  4/9 columns  drift-1  2026-11-22 08:00"
    assert said["card"] == "1 entry"
    # Five open, one listed: the count says more than the list, so it stays.
    assert said["open_alert_count"] == "5"


def test_status_markdown_lists_multi_line_fields_as_sub_items() -> None:
    text = status_md(
        {
            "name": "ws",
            "workspace": "/ws",
            "datasets": [],
            "models": [
                model(run_count=1, best_run=RUN, last_run={**RUN, "run_id": "r-bbbbbbbbbbbb"},
                      next_ideas=[{"idea": "try depth 5", "run_id": "r-aaaaaaaaaaaa"},
                                  {"idea": "add lags", "run_id": None}]),
                model(name="temp", run_count=0),
            ],
            "recent_sessions": [],
        }
    )  # fmt: skip
    assert "- **last run**: r-bbbbbbbbbbbb  auc" in text
    assert (
        "- **next ideas**:\n  - try depth 5  (from r-aaaaaaaaaaaa)\n  - add lags  (from -)" in text
    )
    assert "### temp\n\nno runs yet: `factory train temp`" in text


ROLLOUT = {
    "rollout_id": "ro-1234abcd",
    "mode": "canary",
    "status": "running",
    "stable": "r-aaaaaaaaaaaa",
    "challenger": "r-bbbbbbbbbbbb",
    "share": 10,
    "challenger_request_count": 40,
    "min_requests": 60,
    "criteria": [
        {"name": "latency_p95_ratio", "verdict": "pass"},
        {"name": "error_rate", "verdict": "inconclusive"},
    ],
    "next_step": "wait for 20 more challenger requests",
    "decision": None,
    "reason": None,
}


def test_a_rollout_says_its_state_each_criterion_and_the_next_step() -> None:
    fields, _ = model_fields(model(run_count=2, rollout=ROLLOUT))
    said = dict(fields)["rollout"].split("\n")
    assert said[0] == (
        "ro-1234abcd  canary running  challenger r-bbbbbbbbbbbb against r-aaaaaaaaaaaa"
        "  share 10%  requests 40/60"
    )
    assert said[1] == "criteria: latency_p95_ratio pass, error_rate inconclusive"
    assert said[2] == "next: wait for 20 more challenger requests"
    ended = {**ROLLOUT, "status": "aborted", "decision": "aborted", "reason": "latency fail x2"}
    done = dict(model_fields(model(run_count=2, rollout=ended))[0])["rollout"].split("\n")
    assert done[0].endswith("challenger r-bbbbbbbbbbbb against r-aaaaaaaaaaaa")  # no share
    assert done[-1] == "aborted: latency fail x2"
    assert "rollout" not in dict(model_fields(model(run_count=2, rollout=None))[0])
