"""`factory rollout ...` for real: the command in a subprocess over a trained workspace, with
requests logged as `factory serve` logs them (its own line format and writer) and latencies
chosen by the test, so each decision has a known answer."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from tests.rollouts.conftest import serve_requests

START = ("--steps", "50", "--min-requests", "60", "--interval", "1h")


def files(root: Path) -> dict[str, tuple[int, int]]:
    """Every file of the workspace but the event log, with its size and mtime."""
    out = {}
    for path in root.rglob("*"):
        relative = path.relative_to(root).as_posix()
        if path.is_file() and not relative.startswith("logs/events/"):
            stat = path.stat()
            out[relative] = (stat.st_size, stat.st_mtime_ns)
    return out


def lognormal(scale: dict[str, float], seed: int = 0) -> Any:
    rng = np.random.default_rng(seed)
    return lambda arm, n: rng.lognormal(np.log(8.0), 0.3, n) * scale[arm]


def gamma(scale: dict[str, float], seed: int = 1) -> Any:
    rng = np.random.default_rng(seed)
    return lambda arm, n: rng.gamma(8.0, 0.5, n) * scale[arm]


def card_meta(root: Path, model: str = "rain") -> dict[str, Any]:
    import frontmatter

    meta: dict[str, Any] = frontmatter.load(root / "cards" / f"{model}.md").metadata
    return meta


def test_plan_says_how_long_and_that_daily_labels_cannot_decide_quality(
    ro: dict[str, Any],
) -> None:
    before = files(ro["root"])
    ran = ro["run"]("rollout", "plan", "rain", "--run", ro["challenger"], "--mode", "canary")
    assert ran.code == 0, ran.stdout + ran.stderr
    assert files(ro["root"]) == before  # no side effects
    data = ran.doc["data"]
    assert ran.doc["schema"] == "factory.rollout-plan/1"
    assert data["stable"] == ro["stable"] and data["challenger"] == ro["challenger"]
    by_name = {c["name"]: c for c in data["criteria"]}
    assert set(by_name) == {
        "latency_p95_ratio", "error_rate_difference", "cost_per_1000_ratio", "quality",
    }  # fmt: skip
    for name in ("latency_p95_ratio", "error_rate_difference", "cost_per_1000_ratio"):
        assert by_name[name]["requests_per_arm"] >= data["settings"]["min_requests"]
        assert by_name[name]["hours"] is None  # no traffic logged yet: no time estimate
    assert data["requests_per_arm"] == max(
        by_name[n]["requests_per_arm"]
        for n in ("latency_p95_ratio", "error_rate_difference", "cost_per_1000_ratio")
    )
    # One labelled row a day: quality cannot be decided online; the plan says so.
    assert data["labelled_per_day"] is not None and data["labelled_per_day"] < 2
    assert data["quality_online"] is False
    assert "cannot be decided online" in data["quality_note"]
    assert data["recommended_mode"] == "shadow"
    assert any("--mode shadow" in n["command"] for n in ran.doc["next"])


def test_plan_uses_the_logged_request_rate(ro: dict[str, Any]) -> None:
    serve_requests(
        ro["ws"],
        400,
        rng=np.random.default_rng(0),
        latency=lognormal({"stable": 1.0, "challenger": 1.0}),
    )
    ran = ro["run"]("rollout", "plan", "rain", "--run", ro["challenger"], "--mode", "ab")
    data = ran.doc["data"]
    assert data["requests_per_hour"] is not None and data["requests_per_hour"] > 0
    latency = next(c for c in data["criteria"] if c["name"] == "latency_p95_ratio")
    assert "logged latencies" in latency["basis"] and latency["hours"] is not None


def test_start_needs_a_current_passing_staging_gate(ro: dict[str, Any]) -> None:
    ran = ro["run"]("rollout", "start", "rain", "--run", ro["other"], *START)
    assert ran.code == 1, ran.stdout + ran.stderr
    assert ran.doc["error"]["code"] == "gate_required"
    assert not (ro["root"] / "logs" / "rollouts").exists()


def test_start_is_idempotent_and_routes_sticky_by_key(ro: dict[str, Any]) -> None:
    from core.operations.rollouts import route

    first = ro["run"]("rollout", "start", "rain", "--run", ro["challenger"], *START)
    assert first.code == 0, first.stdout + first.stderr
    data = first.doc["data"]
    assert data["changed"] is True and data["status"] == "running" and data["share"] == 0.5
    again = ro["run"]("rollout", "start", "rain", "--run", ro["challenger"], *START)
    assert again.doc["data"]["rollout_id"] == data["rollout_id"]
    assert again.doc["data"]["changed"] is False
    meta = card_meta(ro["root"])
    assert [r["rollout_id"] for r in meta["rollouts"]] == [data["rollout_id"]]
    assert meta["tiers"]["prod"] == ro["stable"] and meta["tiers"]["staging"] == ro["challenger"]
    # `factory status` names the rollout's state and its next step.
    status = ro["run"]("status")
    assert status.code == 0, status.stdout + status.stderr
    shown = json.dumps(status.doc["data"])
    assert data["rollout_id"] in shown and '"stable_request_count": 0' in shown
    assert any(n["command"] == "factory rollout status rain" for n in status.doc["next"])
    # Another rollout while this one runs is refused.
    other = ro["run"]("rollout", "start", "rain", "--run", ro["challenger"], "--mode", "ab")
    assert other.code == 3 and other.doc["error"]["code"] == "rollout_active"

    routes = [route(ro["ws"], "rain", f"entity-{i}") for i in range(400)]
    share = sum(r.arm == "challenger" for r in routes) / len(routes)
    assert 0.4 < share < 0.6
    assert all(r.rollout_id == data["rollout_id"] for r in routes)
    assert all((r.run_id == ro["challenger"]) == (r.arm == "challenger") for r in routes)
    assert [route(ro["ws"], "rain", f"entity-{i}").arm for i in range(400)] == [
        r.arm for r in routes
    ]  # sticky


@pytest.mark.slow
def test_a_slower_challenger_is_rolled_back_by_latency_within_its_failure_limit(
    ro: dict[str, Any],
) -> None:
    started = ro["run"](
        "rollout", "start", "rain", "--run", ro["challenger"], *START, "--failure-limit", "1"
    )
    rid = started.doc["data"]["rollout_id"]
    latency = lognormal({"stable": 1.0, "challenger": 3.0})
    cpu = gamma({"stable": 1.0, "challenger": 1.0})
    serve_requests(ro["ws"], 400, rng=np.random.default_rng(1), latency=latency, cpu=cpu)
    first = ro["run"]("rollout", "tick", "rain", "--now")
    assert first.code == 0, first.stdout + first.stderr
    view = first.doc["data"]
    assert view["analysed"] and view["overall"] == "fail" and view["status"] == "running"
    assert view["failures"] == 1 and "1 of 1 tolerated" in view["reason"]
    latency_criterion = next(c for c in view["criteria"] if c["name"] == "latency_p95_ratio")
    assert latency_criterion["verdict"] == "fail"
    assert latency_criterion["interval"][0] > latency_criterion["threshold"] == 1.1
    serve_requests(
        ro["ws"], 200, rng=np.random.default_rng(2), latency=latency, cpu=cpu, prefix="m"
    )
    second = ro["run"]("rollout", "tick", "rain", "--now")
    assert second.code == 1, second.stdout  # the check said no
    view = second.doc["data"]
    assert view["status"] == "aborted" and view["decision"] == "aborted"
    assert "latency_p95_ratio" in view["reason"] and "limit 1" in view["reason"]

    meta = card_meta(ro["root"])
    assert meta["tiers"]["prod"] == ro["stable"]  # the stable run keeps serving
    rollback = meta["tier_history"][-1]
    assert rollback["action"] == "rollback" and rollback["rollout_id"] == rid
    assert rollback["run_id"] == ro["stable"] and rollback["previous_run_id"] == ro["challenger"]
    assert next(r for r in meta["rollouts"] if r["rollout_id"] == rid)["status"] == "aborted"
    alerts = ro["run"]("alerts").doc["data"]
    mine = [a for a in alerts["alerts"] if rid in json.dumps(a)]
    assert len(mine) == 1, mine
    verdict = json.loads((ro["root"] / "reports" / f"{rid}.json").read_text())
    assert verdict["decision"] == "aborted" and verdict["passed"] is False
    assert [a["overall"] for a in verdict["analyses"]] == ["fail", "fail"]
    # A route after the abort goes to the stable run only.
    from core.operations.rollouts import route

    assert {route(ro["ws"], "rain", f"k{i}").run_id for i in range(50)} == {ro["stable"]}
    # Every decision is in SQL with its numbers.
    query = ro["run"](
        "query",
        "SELECT r.status, r.decision, c.look, c.name, c.verdict, c.value, c.threshold, "
        "c.interval_low FROM rollouts r JOIN rollout_criteria c USING (rollout_id) "
        "WHERE c.name = 'latency_p95_ratio' ORDER BY c.look",
    )
    assert query.code == 0, query.stdout + query.stderr
    rows = query.doc["data"]["rows"]
    keys = ("status", "decision", "look", "name", "verdict")
    assert [[row[k] for k in keys] for row in rows] == [
        ["aborted", "aborted", 1, "latency_p95_ratio", "fail"],
        ["aborted", "aborted", 2, "latency_p95_ratio", "fail"],
    ]
    assert all(row["interval_low"] > row["threshold"] for row in rows)
    events = ro["run"]("query", "SELECT event FROM events WHERE event LIKE 'rollout.%' ORDER BY ts")
    names = [row["event"] for row in events.doc["data"]["rows"]]
    assert names == ["rollout.started", "rollout.analysed", "rollout.analysed", "rollout.aborted"]


@pytest.mark.slow
def test_a_faster_cheaper_challenger_is_promoted_with_its_verdict(ro: dict[str, Any]) -> None:
    started = ro["run"]("rollout", "start", "rain", "--run", ro["challenger"], *START)
    rid = started.doc["data"]["rollout_id"]
    latency = lognormal({"stable": 1.0, "challenger": 0.5})
    cpu = gamma({"stable": 1.0, "challenger": 0.5})
    view: dict[str, Any] = {}
    for look in range(8):
        serve_requests(
            ro["ws"], 500, rng=np.random.default_rng(10 + look), latency=latency, cpu=cpu,
            prefix=f"p{look}",
        )  # fmt: skip
        view = ro["run"]("rollout", "tick", "rain", "--now").doc["data"]
        assert view["overall"] != "fail", view["criteria"]
        if view["status"] != "running":
            break
    assert view["status"] == "promoted", view["reason"]
    assert {c["verdict"] for c in view["criteria"]} == {"pass"}
    meta = card_meta(ro["root"])
    assert meta["tiers"]["prod"] == ro["challenger"]
    entry = meta["tier_history"][-1]
    assert entry["action"] == "promote" and entry["rollout_id"] == rid
    assert entry["previous_run_id"] == ro["stable"]
    verdict = json.loads((ro["root"] / "reports" / f"{rid}.json").read_text())
    assert verdict["decision"] == "promoted" and verdict["passed"] is True
    assert verdict["tier_change"]["change_id"] == entry["change_id"]


@pytest.mark.slow
def test_no_requests_is_inconclusive_and_pause_holds_until_resumed(ro: dict[str, Any]) -> None:
    from core.overview.rollouts_section import rollouts_section

    ro["run"]("rollout", "start", "rain", "--run", ro["challenger"], *START)
    empty = ro["run"]("rollout", "tick", "rain", "--now").doc["data"]
    assert empty["overall"] == "inconclusive" and empty["status"] == "running"
    assert {c["verdict"] for c in empty["criteria"]} == {"inconclusive"}
    paused = ro["run"]("rollout", "pause", "rain", "--reason", "looking at it")
    assert paused.doc["data"]["status"] == "paused" and paused.doc["data"]["changed"]
    section, nexts = rollouts_section(ro["ws"], "rain")
    assert section["rollout"]["status"] == "paused" and nexts[0].command.startswith(
        "factory rollout resume rain"
    )
    # A paused rollout still splits traffic (it holds its share) and still analyses.
    latency = lognormal({"stable": 1.0, "challenger": 0.5})
    cpu = gamma({"stable": 1.0, "challenger": 0.5})
    for look in range(10):
        serve_requests(
            ro["ws"],
            500,
            rng=np.random.default_rng(look),
            latency=latency,
            cpu=cpu,
            prefix=f"q{look}",
        )
        held = ro["run"]("rollout", "tick", "rain", "--now").doc["data"]
        if held["overall"] == "pass":
            break
    assert held["overall"] == "pass", [(c["name"], c["reason"]) for c in held["criteria"]]
    assert held["last_action"] == "hold"
    assert held["status"] == "paused" and card_meta(ro["root"])["tiers"]["prod"] == ro["stable"]
    resumed = ro["run"]("rollout", "resume", "rain").doc["data"]
    assert resumed["status"] == "running"
    section, _ = rollouts_section(ro["ws"], "rain")
    assert section["rollout"]["status"] == "running" and section["rollout"]["look_count"] >= 2
    status = ro["run"]("rollout", "status", "rain").doc["data"]
    assert status["looks"] == section["rollout"]["look_count"] and len(status["analyses"]) >= 2


def test_abort_by_hand_rolls_back_once_and_a_shadow_never_serves_the_challenger(
    ro: dict[str, Any],
) -> None:
    from core.operations.rollouts import route

    shadow = ro["run"]("rollout", "start", "rain", "--run", ro["challenger"], "--mode", "shadow")
    assert shadow.code == 0, shadow.stdout + shadow.stderr
    routes = [route(ro["ws"], "rain", f"s{i}") for i in range(100)]
    assert {r.run_id for r in routes} == {ro["stable"]}
    assert {r.shadow_run_id for r in routes} == {ro["challenger"]}
    aborted = ro["run"]("rollout", "abort", "rain", "--reason", "enough")
    assert aborted.code == 0 and aborted.doc["data"]["status"] == "aborted"
    again = ro["run"]("rollout", "abort", "rain", "--reason", "enough")
    assert again.doc["data"]["changed"] is False
    assert {route(ro["ws"], "rain", f"s{i}").shadow_run_id for i in range(20)} == {None}
    alerts = [a for a in ro["run"]("alerts").doc["data"]["alerts"] if "rollout" in json.dumps(a)]
    assert len(alerts) == 1
    # A shadow never changed prod: no rollback in the card, prod unchanged.
    meta = card_meta(ro["root"])
    assert meta["tiers"]["prod"] == ro["stable"]
    assert not any(h.get("rollout_id") for h in meta["tier_history"])
