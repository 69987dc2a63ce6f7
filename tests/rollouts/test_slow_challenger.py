"""A challenger made slower on purpose, rolled out for real: a real `factory serve` on
127.0.0.1, real clients (4 at a time), `factory rollout tick` in another process deciding
from the latencies the server measured and logged.

The challenger is the rollout template's challenger trained again with a workspace arch
version of the user's own (`components/arch/slow_v1.py`: the built-in `catboost_v1`, whose
`predict` sleeps `ROLLOUT_SLOW_MS` milliseconds when that variable is set). Only the server
runs with it set: training and the staging gate see an ordinary CatBoost, so the gate passes
and the rollout may start. The sleep costs no CPU time and raises no error, so the only
criterion it can fail is the latency ratio; the test pins that the rollout aborts on it
exactly when its failures exceed the failure limit (one failed analysis tolerated, the
second aborts), not earlier and not later. Bounded: at most `MAX_TICKS` batches of `BATCH`
requests; no timing is asserted."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.serve.conftest import start_server, weather_frame

SLOW_MS = "500"
"""Added to every challenger prediction inside the server. A one-row call costs a few
milliseconds, but four clients on a loaded 2-core machine put the stable run's p95 at a few
hundred (measured: about 380 ms), so a smaller delay leaves the ratio's interval across 1.10
for many looks."""
SHARE = "25"
"""The challenger's share: the stable arm's p95 needs the most requests for a bounded
interval (about 250), and the stable run's requests are the quick ones."""
FAILURE_LIMIT = 1
MAX_TICKS = 8
BATCH = 170
CLIENTS = 4
SLOW = '''

import os as _os
import time as _time


def predict(model: Any, features: Any, task: str) -> Any:
    """catboost_v1's predict, slower on purpose inside a server started with ROLLOUT_SLOW_MS."""
    delay_ms = float(_os.environ.get("ROLLOUT_SLOW_MS") or 0)
    if delay_ms > 0:
        _time.sleep(delay_ms / 1000)
    return _predict(model, features, task)
'''


def _slow_arch(root: Path) -> None:
    from core.components.arch import catboost_v1

    source = Path(catboost_v1.__file__).read_text()
    assert source.count("\ndef predict(") == 1
    folder = root / "components" / "arch"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "slow_v1.py").write_text(source.replace("\ndef predict(", "\ndef _predict(") + SLOW)


def _card(root: Path) -> dict[str, Any]:
    import frontmatter

    meta: dict[str, Any] = frontmatter.load(root / "cards" / "rain.md").metadata
    return meta


@pytest.mark.slow
def test_a_slower_challenger_is_aborted_by_latency_within_its_failure_limit(
    ro: dict[str, Any],
) -> None:
    from core.flows.training import train_run
    from core.operations.gates import evaluate_gate

    root, run, stable = ro["root"], ro["run"], ro["stable"]
    _slow_arch(root)
    slow = train_run(ro["ws"], "rain", hparams="tiny", arch="slow_v1", thread_count=2).run_id
    assert slow not in (ro["challenger"], stable)
    assert evaluate_gate(ro["ws"], slow, "staging").passed

    rows = weather_frame().tail(60).to_dict("records")
    server = start_server(root, env={"ROLLOUT_SLOW_MS": SLOW_MS})
    answered: dict[str, int] = {}
    views: list[dict[str, Any]] = []

    def ask(client: httpx.Client, row: dict[str, Any]) -> str:
        answer = client.post("/v1/rain/predict", json={"rows": [row]})
        if answer.status_code != 200:
            return str(answer.status_code)
        served: str = answer.json()["run_ids"][0]
        return served

    try:
        clients = [httpx.Client(base_url=server.url, timeout=60) for _ in range(CLIENTS)]
        # Warm the server before the rollout: these requests carry no rollout id.
        for row in rows[:10]:
            assert ask(clients[0], row) == stable
        started = run(
            "rollout", "start", "rain", "--run", slow, "--steps", SHARE,
            "--min-requests", "60", "--failure-limit", str(FAILURE_LIMIT),
            "--interval", "1h",
        )  # fmt: skip
        assert started.code == 0, started.stdout + started.stderr
        rollout_id = started.doc["data"]["rollout_id"]
        with ThreadPoolExecutor(CLIENTS) as pool:
            for _ in range(MAX_TICKS):
                jobs = [
                    pool.submit(ask, clients[i % CLIENTS], rows[i % len(rows)])
                    for i in range(BATCH)
                ]
                for job in jobs:
                    key = job.result()
                    answered[key] = answered.get(key, 0) + 1
                ticked = run("rollout", "tick", "rain", "--now")
                # Exit 1 is the abort's "no"; the envelope still answers.
                assert ticked.doc["ok"] and ticked.code in (0, 1), ticked.stdout + ticked.stderr
                views.append(ticked.doc["data"])
                if views[-1]["status"] != "running":
                    break
        # The server follows the card: requests after the abort go to the stable run.
        after = [ask(clients[i % CLIENTS], rows[i]) for i in range(20)]
        for client in clients:
            client.close()
    finally:
        server.stop()

    view = views[-1]
    assert view["rollout_id"] == rollout_id
    assert view["status"] == "aborted", (view["reason"], view["criteria"])
    # Within its failure limit: the first failed analysis was tolerated, the next aborted.
    failed = [v for v in views if v["overall"] == "fail"]
    assert len(failed) == FAILURE_LIMIT + 1 and view["failures"] == FAILURE_LIMIT + 1
    assert failed[0]["status"] == "running" and failed[0]["last_action"] == "continue"
    assert all(v["overall"] == "inconclusive" for v in views[: -len(failed)])
    for seen in failed:
        by_name = {c["name"]: c for c in seen["criteria"]}
        latency = by_name["latency_p95_ratio"]
        assert latency["verdict"] == "fail", latency
        assert latency["interval"][0] > latency["threshold"]
        assert latency["challenger"] > latency["stable"]
        # Nothing else was made worse: errors and CPU cost never fail.
        assert by_name["error_rate_difference"]["verdict"] != "fail"
        assert by_name["cost_per_1000_ratio"]["verdict"] != "fail"
    assert "latency_p95_ratio" in view["reason"]
    # The stable run kept serving: no request failed, and it answers everything after.
    assert set(answered) == {stable, slow}, answered
    assert answered[slow] >= 60 and answered[stable] >= 60
    assert after == [stable] * len(after)
    # The card's history shows the rollback, and the rollout ended aborted.
    meta = _card(root)
    assert meta["tiers"]["prod"] == stable
    rollbacks = [
        h
        for h in meta.get("tier_history", [])
        if h.get("action") == "rollback" and h.get("rollout_id") == rollout_id
    ]
    assert len(rollbacks) == 1 and rollbacks[0]["tier"] == "prod"
    [entry] = [r for r in meta["rollouts"] if r["rollout_id"] == rollout_id]
    assert entry["status"] == "aborted"
    # One alert, also after asking again.
    assert run("rollout", "tick", "rain", "--now").doc["data"]["status"] == "aborted"
    alerts = [a for a in run("alerts", "--all").doc["data"]["alerts"] if rollout_id in str(a)]
    assert len(alerts) == 1, alerts
    assert view["alert_ids"] == [alerts[0]["alert_id"]]
