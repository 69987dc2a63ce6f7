"""`factory sunset candidates`: each rule on constructed inputs, failing when it should and
passing when the input is turned around (an inverted rule fails these tests)."""

from __future__ import annotations

import json
import shutil
from datetime import date, timedelta
from typing import Any

import numpy as np
import pytest


def _oof(root: Any, run_id: str) -> tuple[np.ndarray, np.ndarray]:
    report = json.loads((root / "reports" / f"{run_id}.json").read_text())
    return np.array(report["predictions"]["y"]), np.array(report["predictions"]["prediction"])


def _outcomes(su: dict[str, Any], runs: dict[str, np.ndarray], y: np.ndarray) -> None:
    """Four requests a day, each scored by every run given (the same requests: a shadow),
    with labels `y`; replaces any outcome written before."""
    from core.operations.feedback.outcomes import write_outcomes
    from core.stats.losses import row_losses

    shutil.rmtree(su["root"] / "logs" / "outcomes", ignore_errors=True)
    ts = "2026-12-01T00:00:00.000Z"
    lines = []
    for run_id, p in runs.items():
        losses = row_losses("logloss", y, p)
        for i in range(y.size):
            day = (date(2016, 1, 1) + timedelta(days=i // 4)).isoformat()
            lines.append(
                {
                    "request_id": f"rq-s{i:07d}",
                    "run_id": run_id,
                    "model": "rain",
                    "tier": "prod",
                    "arm": "stable",
                    "mode": "online",
                    "time": f"{day}T00:00:00",
                    "entity": {},
                    "prediction": float(p[i]),
                    "label": float(y[i]),
                    "loss": float(losses[i]),
                    "loss_metric": "logloss",
                    "join_id": "j-c",
                    "ts": ts,
                    "v": 1,
                }
            )
    write_outcomes(su["ws"], {"kind": "join", "ts": ts, "model": "rain", "join_id": "j-c"}, lines)


def _checks(su: dict[str, Any]) -> dict[str, dict[str, str]]:
    from core.operations.sunset.candidates import sunset_candidates

    result = sunset_candidates(su["ws"], "rain")
    return {r.run_id: {c.rule: c.status for c in r.checks} for r in result.runs}


@pytest.fixture
def served(su: dict[str, Any]) -> dict[str, Any]:
    """Run A in prod (it logged the predictions), run B in staging."""
    from core.operations.tiers import promote

    for tier in ("staging", "prod"):
        promote(su["ws"], su["run_a"], tier, override="prod of these tests")
    promote(su["ws"], su["run_b"], "staging", override="staging of these tests")
    return su


@pytest.mark.slow
def test_below_worst_fold_and_beaten_by_champion(served: dict[str, Any]) -> None:
    su = served
    y, p = _oof(su["root"], su["run_a"])
    rng = np.random.default_rng(5)
    pick = rng.integers(0, y.size, 120)
    labels, good = y[pick], p[pick]
    bad = 1.0 - good  # ranks every pair the wrong way round
    _outcomes(su, {su["run_a"]: good, su["run_b"]: bad}, labels)
    checks = _checks(su)
    assert checks[su["run_b"]]["below_worst_fold"] == "fail"
    assert checks[su["run_a"]]["below_worst_fold"] == "pass"
    assert checks[su["run_b"]]["beaten_by_champion"] == "fail"
    assert checks[su["run_a"]]["beaten_by_champion"] == "n/a"  # it is the champion
    # Turned around: the staging run scores well and prod badly.
    _outcomes(su, {su["run_a"]: bad, su["run_b"]: good}, labels)
    checks = _checks(su)
    assert checks[su["run_b"]]["below_worst_fold"] == "pass"
    assert checks[su["run_a"]]["below_worst_fold"] == "fail"
    assert checks[su["run_b"]]["beaten_by_champion"] == "pass"
    # Too short a span: 10 days of labels do not make the 14-day condition.
    _outcomes(su, {su["run_b"]: bad[:40]}, labels[:40])
    assert _checks(su)[su["run_b"]]["below_worst_fold"] == "n/a"


def test_idle_counts_days_since_the_last_prediction(
    served: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    su = served
    checks = _checks(su)
    assert checks[su["run_a"]]["idle"] == "pass"  # it predicted today
    monkeypatch.setenv(
        "FACTORY_NOW", (date.today() + timedelta(days=45)).isoformat() + "T00:00:00Z"
    )
    checks = _checks(su)
    assert checks[su["run_a"]]["idle"] == "fail"
    assert checks[su["run_b"]]["idle"] == "fail"  # staging, and it never predicted
    done = su["run"](
        "sunset",
        "candidates",
        "rain",
        env={"FACTORY_NOW": (date.today() + timedelta(days=45)).isoformat() + "T00:00:00Z"},
    )
    assert done.code == 0, done.stdout + done.stderr
    data = done.doc["data"]
    assert set(data["candidates"]) == {su["run_a"], su["run_b"]}
    [row] = [r for r in data["runs"] if r["run_id"] == su["run_a"]]
    [idle] = [c for c in row["checks"] if c["rule"] == "idle"]
    assert idle["threshold"] == 30 and idle["value"] >= 44


def test_degrading_with_new_data_that_does_not_help(served: dict[str, Any]) -> None:
    from core.foundation.atomic import write_json

    su = served
    reports = su["root"] / "reports"
    assert _checks(su)[su["run_a"]]["degrading_no_help"] == "n/a"
    write_json(
        reports / "degrading-00000000000c.json",
        {
            "model": "rain",
            "run_id": su["run_a"],
            "verdict": "degrading",
            "checked_at": "2026-12-01T00:00:00Z",
        },
    )
    assert _checks(su)[su["run_a"]]["degrading_no_help"] == "n/a"  # no new-data check yet
    write_json(
        reports / "newdata-00000000000c.json",
        {"model": "rain", "champion": su["run_a"], "verdict": "does_not_help"},
    )
    assert _checks(su)[su["run_a"]]["degrading_no_help"] == "fail"
    assert _checks(su)[su["run_b"]]["degrading_no_help"] == "n/a"
    write_json(
        reports / "newdata-00000000000c.json",
        {"model": "rain", "champion": su["run_a"], "verdict": "helps"},
    )
    assert _checks(su)[su["run_a"]]["degrading_no_help"] == "pass"


def test_a_retired_run_is_no_candidate(su: dict[str, Any]) -> None:
    done = su["run"]("sunset", "retire", su["run_a"], "--reason", "gone", "--override", "test")
    assert done.code == 0, done.stdout + done.stderr
    assert su["run_a"] not in _checks(su)
