"""`factory feedback join` and `feedback ingest` against a hand computation: exactly the
predictions inside the lookback get their label (nothing missing, nothing extra), a rerun
adds nothing, and a kill -9 mid-write leaves nothing half-written."""

from __future__ import annotations

import math
from datetime import date, timedelta
from typing import Any

import pandas as pd
import pytest

from tests.feedback.conftest import CUTOFF, hand_labels, set_config


def _outcomes(ws: Any) -> list[dict[str, Any]]:
    from core.operations.feedback.outcomes import read_outcomes

    return list(read_outcomes(ws, "rain"))


def _expected(fb: dict[str, Any], lookback: int) -> dict[str, float]:
    """request id -> label, by hand: predictions dated within `lookback` days before the
    newest day (2015-12-31) whose next day is known."""
    labels = hand_labels()
    start = (date(2015, 12, 31) - timedelta(days=lookback)).isoformat()
    scored = pd.read_csv(fb["predictions"], dtype={"request_id": str})
    out = {}
    for request_id, day in zip(scored["request_id"], scored["date"], strict=True):
        day = str(day)[:10]
        if day >= start and day in labels:
            out[request_id] = labels[day]
    return out


def test_join_matches_the_hand_computation_exactly(fb: dict[str, Any]) -> None:
    done = fb["run"]("feedback", "join", "rain")
    assert done.code == 0, done.stdout + done.stderr
    data = done.doc["data"]
    expected = _expected(fb, 90)
    got = {o["request_id"]: o["label"] for o in _outcomes(fb["ws"])}
    assert got == expected  # nothing missing, nothing extra, every label right
    assert data["joined"] == len(expected) == 90
    assert data["snapshot_id"] == fb["new"]
    assert data["pending"] == 1  # 2015-12-31: tomorrow has not happened
    scored = len(pd.read_csv(fb["predictions"]))
    assert data["logged"] == scored == 184
    assert data["outside_lookback"] == scored - 90 - 1
    assert data["by_run"] == {fb["run_a"]: 90}
    # Every outcome carries its run, tier, arm and the per-row log loss of its prediction.
    for outcome in _outcomes(fb["ws"]):
        y, p = outcome["label"], outcome["prediction"]
        loss = -(y * math.log(p) + (1 - y) * math.log(1 - p))
        assert outcome["loss"] == pytest_approx(loss)
        assert outcome["loss_metric"] == "logloss"
        assert (outcome["run_id"], outcome["tier"], outcome["arm"]) == (
            fb["run_a"],
            "dev",
            "stable",
        )
    assert [s["command"] for s in done.doc["next"]][:1] == ["factory live rain"]


def pytest_approx(value: float) -> Any:
    import pytest

    return pytest.approx(value, rel=1e-9, abs=1e-12)


def test_a_rerun_adds_nothing(fb: dict[str, Any]) -> None:
    first = fb["run"]("feedback", "join", "rain")
    assert first.code == 0, first.stderr
    files = sorted((fb["root"] / "logs" / "outcomes").rglob("*.jsonl"))
    again = fb["run"]("feedback", "join", "rain")
    assert again.code == 0, again.stderr
    assert again.doc["data"]["joined"] == 0
    assert again.doc["data"]["already"] == first.doc["data"]["joined"] == 90
    assert sorted((fb["root"] / "logs" / "outcomes").rglob("*.jsonl")) == files
    assert len(_outcomes(fb["ws"])) == 90


def test_predictions_outside_the_lookback_stay_unjoined(fb: dict[str, Any]) -> None:
    set_config(fb["root"], "feedback", "lookback_days = 30")
    done = fb["run"]("feedback", "join", "rain")
    assert done.code == 0, done.stdout + done.stderr
    got = {o["request_id"]: o["label"] for o in _outcomes(fb["ws"])}
    assert got == _expected(fb, 30)
    assert len(got) == 30
    assert min(o["time"][:10] for o in _outcomes(fb["ws"])) == "2015-12-01"
    assert done.doc["data"]["outside_lookback"] == 184 - 30 - 1


@pytest.mark.slow
def test_kill_9_mid_write_leaves_nothing_and_the_next_join_completes(fb: dict[str, Any]) -> None:
    killed = fb["run"](
        "feedback", "join", "rain", env={"FACTORY_CRASH_AT": "outcomes.before_rename"}
    )
    assert killed.code == -9
    assert _outcomes(fb["ws"]) == []  # the temporary file is never read
    done = fb["run"]("feedback", "join", "rain")
    assert done.code == 0, done.stderr
    assert done.doc["data"]["joined"] == 90
    again = fb["run"]("feedback", "join", "rain")
    assert again.doc["data"]["joined"] == 0
    assert len(_outcomes(fb["ws"])) == 90


@pytest.mark.slow
def test_ingest_by_request_id_is_idempotent_too(fb: dict[str, Any]) -> None:
    scored = pd.read_csv(fb["predictions"], dtype={"request_id": str})
    early = scored[scored["date"] < "2015-08-01"].head(12)
    labels = hand_labels()
    outcomes = pd.DataFrame(
        {
            "request_id": early["request_id"],
            "label": [labels[str(d)[:10]] for d in early["date"]],
        }
    )
    path = fb["root"] / "outcomes.csv"
    outcomes.to_csv(path, index=False)
    done = fb["run"]("feedback", "ingest", str(path), "--key", "request_id")
    assert done.code == 0, done.stdout + done.stderr
    assert done.doc["data"]["joined"] == 12
    got = {o["request_id"]: o["label"] for o in _outcomes(fb["ws"])}
    assert got == dict(zip(outcomes["request_id"], outcomes["label"], strict=True))
    assert all(o["source"] == "ingest" for o in _outcomes(fb["ws"]))
    again = fb["run"]("feedback", "ingest", str(path), "--key", "request_id")
    assert again.doc["data"]["joined"] == 0
    assert again.doc["data"]["already"] == 12
    # The join then adds the lookback's predictions, none of the ingested twice.
    joined = fb["run"]("feedback", "join", "rain")
    assert joined.doc["data"]["joined"] == 90
    assert len(_outcomes(fb["ws"])) == 102
    assert min(o["time"][:10] for o in _outcomes(fb["ws"])) >= CUTOFF


def test_ingest_refuses_a_label_that_is_not_a_number(fb: dict[str, Any]) -> None:
    scored = pd.read_csv(fb["predictions"], dtype={"request_id": str})
    path = fb["root"] / "bad.csv"
    path.write_text(
        f"request_id,label\n{scored['request_id'][0]},1\n{scored['request_id'][1]},yes\n"
    )
    done = fb["run"]("feedback", "ingest", str(path))
    assert done.code == 3
    assert done.doc["error"]["code"] == "outcomes_invalid"
    assert "bad.csv:3" in done.doc["error"]["message"]
    assert _outcomes(fb["ws"]) == []
