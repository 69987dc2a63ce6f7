"""Each question the product exists for is one SQL query over the views, and the views agree
with the commands: tiers and their history, plans, notes, ADRs, gate verdicts, effects, and
the sessions `history` shows. Every time column is a UTC TIMESTAMP, so unions sort right."""

from __future__ import annotations

from typing import Any

import pytest


def _rows(run: Any, sql: str) -> list[dict[str, Any]]:
    ran = run("query", sql)
    assert ran.code == 0, ran.stdout
    return list(ran.doc["data"]["rows"])


@pytest.mark.slow
def test_the_questions_are_queries(ops: dict[str, Any]) -> None:
    run, a, b = ops["run"], ops["run_a"], ops["run_b"]
    assert run("promote", a, "--to", "staging", "--override", "first").code == 0
    assert run("promote", b, "--to", "staging", "--override", "second").code == 0
    assert run("note", b, "deeper trees help", "--next", "try depth 6").code == 0
    assert run("adr", "new", "Keep tiny2", "--link", b, "--link", "rain").code == 0
    run("gate", b, "--to", "prod", "--no-retrain")

    tiers = _rows(
        run, "SELECT tier, run_id, previous_run_id FROM tiers WHERE model='rain' ORDER BY tier"
    )
    assert tiers == [
        {"tier": "prod", "run_id": None, "previous_run_id": None},
        {"tier": "staging", "run_id": b, "previous_run_id": a},
    ]
    history = _rows(run, "SELECT action, run_id, reason FROM tier_history ORDER BY ts")
    assert history == [
        {"action": "override", "run_id": a, "reason": "first"},
        {"action": "override", "run_id": b, "reason": "second"},
    ]
    assert _rows(run, "SELECT text, next FROM notes") == [
        {"text": "deeper trees help", "next": "try depth 6"}
    ]
    adrs = _rows(
        run, "SELECT title, links FROM adrs WHERE list_contains(links, 'rain') ORDER BY number"
    )
    # The two overrides wrote ADRs that link their run; the third is ours.
    assert [r["title"] for r in adrs][-1] == "Keep tiny2" and b in adrs[-1]["links"]
    assert [a in r["links"] for r in adrs[:1]] == [True]
    gates = _rows(run, "SELECT tier, passed FROM gates WHERE run_id = '" + b + "'")
    assert [g["tier"] for g in gates] == ["prod"]
    effects = _rows(run, "SELECT factor, change, verdict FROM effects WHERE model = 'rain'")
    command = run("effects", "rain").doc["data"]["effects"]
    assert {(e["factor"], e["change"], e["verdict"]) for e in effects} == {
        (e["factor"], e["change"], e["verdict"]) for e in command
    }
    sessions = _rows(run, "SELECT DISTINCT work_session FROM events WHERE command = 'note'")
    shown = run("history", "--all").doc["data"]["sessions"]
    assert sessions[0]["work_session"] in {s["session_id"] for s in shown}


def test_every_time_column_is_a_timestamp(ops: dict[str, Any]) -> None:
    tables = ops["run"]("query", "--tables").doc["data"]["tables"]
    times = {
        (t["name"], c["name"]): c["type"]
        for t in tables
        for c in t["columns"]
        if c["name"] in ("ts", "created_at", "finished_at", "raised_at", "acked_at")
    }
    assert times and all(kind == "TIMESTAMP" for kind in times.values()), times
