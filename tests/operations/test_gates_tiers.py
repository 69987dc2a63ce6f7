"""Gates, promotion, rollback and tier history, through the real command."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import FACTORY, REPO


def _criteria(doc: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {c["name"]: c for c in doc["data"]["criteria"]}


def _card_meta(root: Path) -> dict[str, Any]:
    import frontmatter

    return dict(frontmatter.load(str(root / "cards" / "rain.md")).metadata)


@pytest.mark.slow
def test_gate_promote_compare_override_rollback_history(ops: dict[str, Any]) -> None:
    run, a, b, root = ops["run"], ops["run_a"], ops["run_b"], ops["root"]

    first = run("gate", a, "--to", "staging")
    assert first.code == 0, first.stdout
    crit = _criteria(first.doc)
    assert set(crit) == {
        "code_unchanged", "not_leaky", "better_than_incumbent", "fold_wins", "beats_baseline",
        "snapshot_schema", "point_in_time", "reproducible", "latency_p95", "cost_per_1000",
        "no_drift",
    }  # fmt: skip
    assert (
        "no incumbent" in crit["better_than_incumbent"]["note"]
        and crit["better_than_incumbent"]["passed"]
    )
    assert crit["reproducible"]["value"] is True  # the gate retrained with the same seed
    assert crit["point_in_time"]["value"] == "passed"
    assert crit["beats_baseline"]["value"] in ("better", "worse", "inconclusive")
    gate_id = first.doc["data"]["gate_id"]
    assert (root / "reports" / f"{gate_id}.json").is_file()
    again = run("gate", a, "--to", "staging")
    assert again.doc["data"]["gate_id"] == gate_id and again.doc["data"]["reused"] is True

    # Prod only from staging.
    early = run("promote", a, "--to", "prod")
    assert early.code == 1 and early.doc["error"]["code"] == "gate_required"

    promoted = run("promote", a, "--to", "staging")
    assert promoted.code == 0 and promoted.doc["data"]["changed"] is True
    assert run("promote", a, "--to", "staging").doc["data"]["changed"] is False  # idempotent

    challenger = run("gate", b, "--to", "staging")
    crit = _criteria(challenger.doc)
    assert challenger.doc["data"]["incumbent"] == a
    assert isinstance(crit["better_than_incumbent"]["value"], float)
    assert "must lie above 0.0" in crit["better_than_incumbent"]["note"]
    assert isinstance(crit["fold_wins"]["value"], int)
    assert crit["latency_p95"]["threshold"] == 1.10
    if challenger.code == 1:
        refused = run("promote", b, "--to", "staging")
        assert refused.code == 1 and refused.doc["error"]["code"] == "gate_required"
        kinds = [x["kind"] for x in run("alerts").doc["data"]["alerts"]]
        assert kinds == ["gate_failed"]
        over = run("promote", b, "--to", "staging", "--override", "field trial agreed with ops")
        assert over.code == 0 and over.doc["data"]["action"] == "override"
        adr = root / over.doc["data"]["adr"]  # relative to the workspace
        assert adr.is_file() and "field trial agreed with ops" in adr.read_text()
    else:
        assert run("promote", b, "--to", "staging").code == 0
    tiers = _card_meta(root)["tiers"]
    assert tiers["staging"] == b and tiers["previous"]["staging"] == a

    # b to prod (override keeps this test independent of b's metrics), then roll back.
    assert run("promote", b, "--to", "prod", "--override", "ship").code == 0
    meta = _card_meta(root)
    assert meta["tiers"]["prod"] == b and meta["tiers"]["staging"] is None
    no_previous = run("rollback", "rain", "--reason", "x")
    assert no_previous.code == 1 and no_previous.doc["error"]["code"] == "nothing_to_roll_back"

    # Put a in prod, then b over it: now there is a previous champion to restore.
    run("promote", a, "--to", "staging", "--override", "back to a")
    run("promote", a, "--to", "prod", "--override", "a to prod")
    assert _card_meta(root)["tiers"]["previous"]["prod"] == b
    back = run("rollback", "rain", "--reason", "AUC fell live")
    assert back.code == 0 and back.doc["data"]["run_id"] == b
    assert run("rollback", "rain", "--reason", "AUC fell live").doc["data"]["changed"] is False
    alerts = run("alerts").doc["data"]["alerts"]
    assert "rollback" in [x["kind"] for x in alerts]

    history = _card_meta(root)["tier_history"]
    assert [h["action"] for h in history][-1] == "rollback"
    assert all(
        {"ts", "tier", "run_id", "previous_run_id", "action", "reason", "gate_id"} <= set(h)
        for h in history
    )
    # Replay: right after the first promotion only staging was held.
    at = history[0]["ts"]
    past = run("tiers", "rain", "--at", at).doc["data"]
    assert past["tiers"] == {"staging": a, "prod": None}
    now = run("tiers", "rain").doc["data"]
    assert now["tiers"]["prod"] == b

    gates_seen = run(
        "query", "SELECT tier, passed, count(*) AS n FROM gates GROUP BY ALL ORDER BY ALL"
    )
    assert {r["tier"] for r in gates_seen.doc["data"]["rows"]} == {"staging"}
    kinds = run("query", "SELECT kind, state FROM alerts ORDER BY kind").doc["data"]["rows"]
    assert {"kind": "rollback", "state": "open"} in kinds

    events = "".join(p.read_text() for p in (root / "logs" / "events").glob("*/*.jsonl"))
    for name in (
        "gate.evaluated",
        "tier.promoted",
        "tier.overridden",
        "tier.rolled_back",
        "alert.raised",
    ):
        assert f'"event":"{name}"' in events, name


@pytest.mark.slow
def test_two_processes_promoting_at_once_leave_one_winner(ops: dict[str, Any]) -> None:
    run, a, b, root = ops["run"], ops["run_a"], ops["run_b"], ops["root"]
    # Both gates pass against an empty staging tier, before either is promoted.
    assert run("gate", a, "--to", "staging").code == 0
    gate_b = run("gate", b, "--to", "staging")
    assert gate_b.doc["data"]["incumbent"] is None
    if gate_b.code != 0:
        pytest.skip(f"run b's gate failed on its own: {gate_b.doc['data']['failed']}")
    env = {**os.environ, "PYTHONPATH": str(REPO), "FACTORY_THREADS": "2"}
    procs = [
        subprocess.Popen(
            [*FACTORY, "promote", run_id, "--to", "staging", "--json"],
            cwd=root,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for run_id in (a, b)
    ]
    outs = [p.communicate(timeout=120) for p in procs]
    codes = [p.returncode for p in procs]
    docs = [json.loads(out) for out, _ in outs]
    assert sorted(codes) == [0, 1], outs
    winner = docs[codes.index(0)]["data"]["run_id"]
    loser = docs[codes.index(1)]
    # Depending on timing the loser sees the new incumbent before its gate lookup (no
    # current verdict) or only inside the card's lock (its verdict went stale).
    assert loser["error"]["code"] in ("gate_stale", "gate_required")
    meta = _card_meta(root)
    assert meta["tiers"]["staging"] == winner
    assert [h["run_id"] for h in meta["tier_history"]] == [winner]


def test_gate_unknown_run_and_bad_tier(ops: dict[str, Any]) -> None:
    missing = ops["run"]("gate", "r-000000000000", "--to", "staging")
    assert missing.code == 3 and missing.doc["error"]["code"] == "unknown_run"
    bad = ops["run"]("gate", ops["run_a"], "--to", "live")
    assert bad.code == 2


def test_status_shows_operations_and_stays_light(ops: dict[str, Any]) -> None:
    run = ops["run"]
    assert run("promote", ops["run_a"], "--to", "staging", "--override", "seed the tier").code == 0
    code = (
        "import sys, json; from core.overview.status import workspace_status; from core.foundation.workspace import Workspace;"
        f"s = workspace_status(Workspace(__import__('pathlib').Path({str(ops['root'])!r})));"
        "m = s.to_dict()['models'][0];"
        "print(json.dumps({'m': m, 'next': [n.command for n in s.next], 'heavy': [x for x in ('pandas', 'evidently', 'catboost', 'duckdb') if x in sys.modules]}))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, check=True
    )
    doc = json.loads(out.stdout)
    assert doc["heavy"] == []
    model = doc["m"]
    assert model["tiers"]["staging"] == ops["run_a"]
    assert model["drift"] == {"drift_id": None}
    assert model["open_alert_count"] == 0
    assert f"factory gate {ops['run_a']} --to prod" in doc["next"]


def test_a_verdict_gone_stale_inside_the_lock_is_refused(
    ops: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The gate compared against an empty tier, but another process filled it between the
    gate lookup and the card's lock: the promotion must not win on a stale comparison."""
    from core.foundation.errors import FactoryError
    from core.foundation.workspace import Workspace
    from core.operations import gates, tiers
    from core.records.card_store import update_card

    ws = Workspace(ops["root"])
    verdict = gates.evaluate_gate(ws, ops["run_b"], "staging", retrain=False)
    assert verdict.incumbent is None
    passing = gates.GateResult(**{**verdict.__dict__, "passed": True})

    def racing(*args: Any, **kwargs: Any) -> Any:
        # Another process promotes run a right after our verdict was found.
        update_card(ws, "rain", lambda meta: meta.__setitem__("tiers", {"staging": ops["run_a"]}))
        return passing

    monkeypatch.setattr(gates, "current_gate", racing)
    with pytest.raises(FactoryError) as caught:
        tiers.promote(ws, ops["run_b"], "staging")
    assert caught.value.code == "gate_stale"
    meta = _card_meta(ops["root"])
    assert meta["tiers"]["staging"] == ops["run_a"]
    assert not meta.get("tier_history")


def test_prod_only_from_staging_even_with_override(ops: dict[str, Any]) -> None:
    ran = ops["run"]("promote", ops["run_a"], "--to", "prod", "--override", "skip staging")
    assert ran.code == 1 and ran.doc["error"]["code"] == "not_in_staging"
    assert not (ops["root"] / "cards" / "rain.md").exists() or not _card_meta(ops["root"]).get(
        "tier_history"
    )


def test_gate_renders_for_people_and_markdown(ops: dict[str, Any]) -> None:
    from tests.conftest import run_factory

    env = {"FACTORY_THREADS": "2", "COLUMNS": "80"}
    rich = run_factory("gate", ops["run_a"], "--to", "staging", cwd=ops["root"], env=env)
    verdict = "PASS" if rich.code == 0 else "FAIL"
    assert f"{ops['run_a']} -> staging: {verdict}" in rich.stdout, rich.stdout
    assert max(len(line) for line in rich.stdout.splitlines()) <= 80
    md = run_factory("gate", ops["run_a"], "--to", "staging", "--md", cwd=ops["root"], env=env)
    assert "| criterion | value | threshold | pass | note |" in md.stdout
    assert "| point_in_time | passed | passed | yes |" in md.stdout


def test_status_reads_a_gate_verdict_once_it_exists(ops: dict[str, Any]) -> None:
    """Before any gate, status offers `gate` for the best run; once a verdict of that run and
    tier is on disk, it offers what the verdict says instead (promote on a pass, the verdict
    on a fail), never the same gate again: the cheap check for a verdict file must find it."""
    run = ops["run"]
    before = run("status")
    best = before.doc["data"]["models"][0]["best_run"]["run_id"]
    gate_again = f"factory gate {best} --to staging"
    assert gate_again in [n["command"] for n in before.doc["next"]]
    gated = run("gate", best, "--to", "staging")
    assert gated.code in (0, 1), gated.stdout
    verdict = gated.doc["data"]
    after = [n["command"] for n in run("status").doc["next"]]
    assert gate_again not in after
    if verdict["passed"]:
        assert f"factory promote {best} --to staging" in after
    else:
        assert f"factory show {verdict['gate_id']}" in after
