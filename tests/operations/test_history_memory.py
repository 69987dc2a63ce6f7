"""`history` from the committed memory: a fresh clone has no `logs/` (git-ignored), yet it
knows what was tried on which day, which gates passed and what was promoted."""

from __future__ import annotations

import shutil
from typing import Any


def _lines(doc: dict[str, Any]) -> list[dict[str, Any]]:
    return [line for s in doc["data"]["sessions"] for line in s["lines"]]


def test_history_without_logs_tells_runs_plans_gates_and_promotions(ops: dict[str, Any]) -> None:
    run, root, a = ops["run"], ops["root"], ops["run_a"]
    planned = run("plan", "rain", "--features", "weather_v1", "--hparams", "tiny",
                  "--intent", "is v2 worth it?", "--expect", "auc >= 0.5")  # fmt: skip
    plan_id = planned.doc["data"]["plan_id"]
    assert run("gate", a, "--to", "staging", "--no-retrain").code in (0, 1)
    assert run("promote", a, "--to", "staging", "--override", "seed the tier").code == 0
    with_logs = _lines(run("history", "--since", "2000-01-01", "--all").doc)
    shutil.rmtree(root / "logs")  # what `git clone` brings: no event log
    shutil.rmtree(root / ".factory")
    doc = run("history", "--since", "2000-01-01").doc
    assert doc["data"]["total_sessions"] >= 1
    lines = _lines(doc)
    assert {line["source"] for line in lines} == {"memory"}
    runs = {line["fields"]["run_id"] for line in lines if line["event"] == "run.finished"}
    assert runs == {ops["run_a"], ops["run_b"]}
    gate = next(line for line in lines if line["event"] == "gate.evaluated")
    assert gate["fields"]["tier"] == "staging" and isinstance(gate["fields"]["passed"], bool)
    assert ("pass" in gate["text"]) or ("FAIL" in gate["text"])
    promoted = next(line for line in lines if line["event"].startswith("tier."))
    assert promoted["fields"] == {
        **promoted["fields"],
        "run_id": a,
        "tier": "staging",
        "reason": "seed the tier",
    }
    assert any(line["fields"].get("plan_id") == plan_id for line in lines)
    # With the logs, each run is told once: by its event, not again by its report.
    finished = [line for line in with_logs if line["event"] == "run.finished"]
    assert len(finished) == 2 and {line["source"] for line in finished} == {"events"}
    # The plan is told by the command that wrote it, not again from the card.
    assert any(line["text"].startswith("factory plan rain") for line in with_logs)
    assert not [
        line
        for line in with_logs
        if line["source"] == "memory" and line["fields"].get("plan_id") == plan_id
    ]
