"""`factory status` shows live performance, degradation and sunset candidacy of the serving
run, from workspaces whose live state is constructed and known; its `next` suggests
`feedback join`, `check degrading` and `sunset candidates` where each applies, with a
reason. Without outcomes, status reads nothing heavy."""

from __future__ import annotations

import json
import subprocess
import sys
from typing import Any

import pytest

from core.render.words import live as live_words
from tests.conftest import REPO
from tests.feedback.test_degrading import _oof, _promote, _stream, _write_stream


def _status(fb: dict[str, Any]) -> tuple[dict[str, Any] | None, dict[str, dict[str, Any]]]:
    done = fb["run"]("status")
    assert done.code == 0, done.stdout + done.stderr
    [model] = [m for m in done.doc["data"]["models"] if m["name"] == "rain"]
    return model["live"], {n["command"]: n for n in done.doc["next"]}


def test_before_any_outcome_status_suggests_the_join_and_reads_nothing_heavy(
    fb: dict[str, Any],
) -> None:
    live, steps = _status(fb)
    assert live is None
    join = steps["factory feedback join rain"]
    assert fb["new"] in join["reason"] and "no outcome of rain is joined" in join["reason"]
    assert "factory check degrading rain" not in steps
    assert "factory sunset candidates rain" not in steps
    assert not [c for c in steps if c.startswith("factory feedback join temp")]  # none logged
    # Predictions are logged but nothing is joined: no numpy, pandas, scipy, DuckDB, ...
    probe = (
        "import sys; from core.cli.main import run\n"
        "code = run(['status', '--json'])\n"
        "heavy = ('numpy', 'pandas', 'scipy', 'duckdb', 'catboost', 'evidently', 'sklearn')\n"
        "print('HEAVY', sorted(m for m in sys.modules if m.split('.')[0] in heavy))"
    )
    ran = subprocess.run(
        [sys.executable, "-c", probe], cwd=fb["root"], capture_output=True, text=True,
        env={"PATH": "/usr/bin:/bin", "PYTHONPATH": str(REPO), "HOME": str(fb["root"])},
        check=False,
    )  # fmt: skip
    assert '"ok": true' in ran.stdout, ran.stdout + ran.stderr
    assert ran.stdout.splitlines()[-1] == "HEAVY []", ran.stderr


def test_status_follows_a_degrading_serving_run_to_a_sunset_candidate(
    fb: dict[str, Any],
) -> None:
    from core.foundation.atomic import write_json
    from core.operations.feedback.live import live

    _promote(fb)
    y, p = _oof(fb["root"], fb["run_a"])
    _write_stream(fb, *_stream(y, p, 240, seed=1, flip=0.4, after=60))  # known degraded

    # Outcomes joined (by ingest: no live summary written): the figures are computed.
    brief, steps = _status(fb)
    assert brief is not None
    expected = next(r for r in live(fb["ws"], "rain").runs if r.tier == "prod")
    assert (brief["run_id"], brief["tier"], brief["logged_tier"]) == (fb["run_a"], "prod", "prod")
    assert (brief["labelled_count"], brief["logged_count"], brief["coverage"]) == (240, 0, None)
    assert brief["metric"] == expected.metric == "auc"
    assert brief["value"] == pytest.approx(expected.value)
    assert brief["backtest"] == [expected.backtest["min"], expected.backtest["max"]]
    assert brief["position"] == expected.position
    assert brief["degrading"] is None and brief["sunset_candidate"] is False
    check = steps["factory check degrading rain"]
    assert fb["run_a"] in check["reason"] and "never checked on its 240" in check["reason"]
    assert "factory sunset candidates rain" not in steps

    # Checked: degrading, on all 240; the check is not suggested again, the sunset rules are.
    assert fb["run"]("check", "degrading", "rain").code == 1
    brief, steps = _status(fb)
    assert brief is not None
    assert (brief["degrading"], brief["degrading_labelled_count"]) == ("yes", 240)
    assert brief["sunset_candidate"] is False and brief["sunset_reasons"] == []
    assert "factory check degrading rain" not in steps
    sunset = steps["factory sunset candidates rain"]
    assert sunset["priority"] == "low" and "degrading" in sunset["reason"]
    words = live_words(brief)
    assert f"{fb['run_a']} (prod)  auc " in words and "on 240 labelled" in words
    assert "degrading: yes (on 240 labelled" in words and "sunset candidate: no" in words

    # New data does not help either: a sunset candidate, said first, with its rule.
    write_json(
        fb["ws"].reports_dir / "newdata-000000000001.json",
        {"check_id": "newdata-000000000001", "model": "rain", "champion": fb["run_a"],
         "verdict": "does_not_help"},
    )  # fmt: skip
    brief, steps = _status(fb)
    assert brief is not None and brief["sunset_candidate"] is True
    [reason] = brief["sunset_reasons"]
    assert reason.startswith("degrading_no_help: ") and "need work" in reason
    sunset = steps["factory sunset candidates rain"]
    assert sunset["priority"] == "high" and "degrading_no_help" in sunset["reason"]
    assert "sunset candidate: YES" in live_words(brief)
    assert "sunset: degrading_no_help: " in live_words(brief)


def test_a_healthy_run_says_no_and_more_labels_ask_for_another_check(
    fb: dict[str, Any],
) -> None:
    from core.foundation.atomic import write_json

    _promote(fb)
    y, p = _oof(fb["root"], fb["run_a"])
    _write_stream(fb, *_stream(y, p, 240, seed=1))  # known healthy
    assert fb["run"]("check", "degrading", "rain").code == 0
    brief, steps = _status(fb)
    assert brief is not None and brief["degrading"] == "no"
    assert "factory check degrading rain" not in steps
    assert "factory sunset candidates rain" not in steps

    # 90 real outcomes joined on top (of run A's dev-tier batch): 330 labelled now.
    assert fb["run"]("feedback", "join", "rain").doc["data"]["joined"] == 90
    brief, steps = _status(fb)
    assert brief is not None
    assert (brief["labelled_count"], brief["degrading_labelled_count"]) == (240, 240)
    check = steps["factory check degrading rain"]
    assert "last checked on 240 labelled predictions, 330 now" in check["reason"]
    # The join read the newest snapshot: it is not suggested again.
    assert "factory feedback join rain" not in steps
    summary = json.loads((fb["root"] / "logs" / "feedback" / "rain" / "live.json").read_text())
    assert {r["tier"] for r in summary["runs"]} == {"dev", "prod"}
    # A degrading summary of another run says nothing of this one.
    write_json(
        fb["root"] / "logs" / "feedback" / "rain" / "degrading.json",
        {"run_id": fb["run_b"], "verdict": "degrading", "labelled": 5},
    )
    brief, _ = _status(fb)
    assert brief is not None and brief["degrading"] is None
