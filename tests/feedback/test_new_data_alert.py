"""`check new-data`'s "new data alone doesn't help" alert, on constructed verdicts with known
answers: helps raises nothing, doesn't help raises exactly one alert (its file, its event,
`[alerts] command`), a rerun or a newer snapshot in the same window raises nothing new, the
next window raises again; after a degradation the message says so."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from core.foundation.workspace import Workspace
from core.operations.newdata import NewDataResult, new_data_verdict, raise_no_help

MIN_DELTA = 0.005


def _result(
    verdict: str,
    *,
    last_day: str = "2015-12-31",
    champion: str = "r-000000000001",
    check_id: str = "newdata-000000000001",
) -> NewDataResult:
    return NewDataResult(
        check_id=check_id,
        model="rain",
        champion=champion,
        champion_tier="prod",
        old_snapshot="ds-000000000001",
        new_snapshot="ds-000000000002",
        verdict=verdict,
        reason="the retrained model is not better",
        metric="auc",
        direction="maximize",
        window=["2015-10-03", last_day],
        window_rows=90,
        train_end="2015-09-25",
        new_training_rows=120,
        champion_score=0.71,
        retrained_score=0.70,
        improvement=-0.01,
    )


def _alerts(root: Path) -> list[dict[str, Any]]:
    folder = root / "logs" / "alerts"
    return [json.loads(p.read_text()) for p in sorted(folder.glob("al-*.json"))]


def _received(root: Path) -> list[dict[str, Any]]:
    path = root / "received.jsonl"
    if not path.is_file():
        return []
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def _raised_events(root: Path) -> list[dict[str, Any]]:
    events = []
    for path in sorted((root / "logs" / "events").rglob("*.jsonl")):
        for line in path.read_text().splitlines():
            event = json.loads(line)
            if event.get("event") == "alert.raised":
                events.append(event)
    return events


@pytest.fixture
def ws(workspace: Path) -> Workspace:
    # Each alert's JSON lands in received.jsonl, one line per call of the command.
    config = workspace / "factory.toml"
    text = config.read_text()
    assert "[alerts]\n# A command" in text and '\ncommand = ""\n' in text
    config.write_text(
        text.replace(
            '\ncommand = ""\n', '\ncommand = "cat >> received.jsonl; echo >> received.jsonl"\n', 1
        )
    )
    return Workspace(workspace)


# Constructed decisions with known answers: (paired verdict, top of the improvement's
# interval) -> the new-data verdict, with the staging gate's min_delta.
HELPS = new_data_verdict("better", 0.04, MIN_DELTA)
NO_HELP = new_data_verdict("inconclusive", 0.001, MIN_DELTA)
UNSURE = new_data_verdict("inconclusive", 0.03, MIN_DELTA)


def test_the_constructed_verdicts_are_the_known_answers() -> None:
    assert (HELPS, NO_HELP, UNSURE) == ("helps", "does_not_help", "inconclusive")


def test_new_data_that_helps_raises_nothing(ws: Workspace) -> None:
    for verdict in (HELPS, UNSURE):
        assert raise_no_help(ws, _result(verdict)) is None
    assert _alerts(ws.root) == [] and _received(ws.root) == [] and _raised_events(ws.root) == []


def test_new_data_that_does_not_help_alerts_once_per_champion_and_window(ws: Workspace) -> None:
    raised = raise_no_help(ws, _result(NO_HELP))
    assert raised is not None and raised[1] is True
    [alert] = _alerts(ws.root)
    assert (alert["alert_id"], alert["kind"], alert["model"]) == (
        raised[0],
        "new_data_no_help",
        "rain",
    )
    assert "new data alone doesn't help" in alert["message"]
    assert "features or architecture need work" in alert["message"]
    assert "degrading" not in alert["message"]
    assert alert["details"]["check_id"] == "newdata-000000000001"
    assert alert["details"]["run_id"] == "r-000000000001"
    [payload] = _received(ws.root)  # the configured [alerts] command got it on stdin
    assert payload["alert_id"] == raised[0] and payload["schema"] == "factory.alert/1"
    assert [e["data"]["alert_id"] for e in _raised_events(ws.root)] == [raised[0]]

    # Run again, or on a newer snapshot whose window ends in the same 90-day block: the
    # same alert, nothing raised or sent anew.
    assert raise_no_help(ws, _result(NO_HELP)) == (raised[0], False)
    later = _result(NO_HELP, last_day="2016-01-05", check_id="newdata-000000000002")
    assert raise_no_help(ws, later) == (raised[0], False)
    assert len(_alerts(ws.root)) == 1 and len(_received(ws.root)) == 1
    assert len(_raised_events(ws.root)) == 1

    # The next window, or another champion: a new alert each.
    next_window = _result(NO_HELP, last_day="2016-04-10", check_id="newdata-000000000003")
    other = _result(NO_HELP, champion="r-000000000002", check_id="newdata-000000000004")
    for result in (next_window, other):
        again = raise_no_help(ws, result)
        assert again is not None and again[1] is True and again[0] != raised[0]
    assert len(_alerts(ws.root)) == 3 and len(_received(ws.root)) == 3


def test_after_a_degradation_the_alert_says_so(ws: Workspace) -> None:
    from core.foundation.atomic import write_json

    write_json(
        ws.reports_dir / "degrading-000000000001.json",
        {
            "check_id": "degrading-000000000001",
            "model": "rain",
            "run_id": "r-000000000001",
            "verdict": "degrading",
            "checked_at": "2016-01-02T00:00:00.000Z",
        },
    )
    raised = raise_no_help(ws, _result(NO_HELP))
    assert raised is not None
    [alert] = _alerts(ws.root)
    assert "after r-000000000001 was found degrading (degrading-000000000001)" in alert["message"]
    assert alert["details"]["degrading"] == "degrading"
