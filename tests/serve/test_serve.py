"""`factory serve` for real: a subprocess on 127.0.0.1, talked to with httpx.

Online equals batch, bad rows get the CLI's envelope, a promote or rollback in another
process is served within 2 s with no failed request, and every request id traces back."""

from __future__ import annotations

import itertools
import json
import math
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pandas as pd
import pytest

from tests.serve.conftest import Server, log_lines, predictions, rows_of


def _batch(ws: dict[str, Any], model: str, output: str) -> list[float]:
    ran = ws["run"](
        "predict", model, "--input", "recent.csv", "--from", "2015-12-01", "--output", output
    )
    assert ran.code == 0, ran.stdout + ran.stderr
    scores = pd.read_csv(ws["root"] / output, float_precision="round_trip")
    values: list[float] = scores["prediction"].tolist()
    return values


@pytest.mark.slow
def test_online_equals_batch_and_every_request_id_traces(
    ws_copy: dict[str, Any], server: Server
) -> None:
    from core.foundation.workspace import Workspace
    from core.operations.predict import trace

    root = ws_copy["root"]
    december = rows_of(root / "december.csv")
    with httpx.Client(base_url=server.url, timeout=30) as client:
        health = client.get("/v1/health").json()
        assert health["models"]["rain"]["prod"] == ws_copy["run_a"]
        tiers = client.get("/v1/rain/tiers").json()
        assert tiers["history"]["snapshot_id"].startswith("ds-") and tiers["history"]["rows"] > 0
        # One request with every December row (the server's history ends in November) ...
        whole = client.post("/v1/rain/predict", json={"rows": december})
        assert whole.status_code == 200, whole.text
        rain = whole.json()
        assert rain["model"] == "rain" and rain["tier"] == "prod"
        assert rain["run_id"] == ws_copy["run_a"] and len(rain["request_ids"]) == 31
        # ... and one request per day for temp: each extends the server's history.
        temp = []
        ids = list(rain["request_ids"])
        for row in december:
            answer = client.post("/v1/temp/prod/predict", json={"rows": [row]})
            assert answer.status_code == 200, answer.text
            temp += answer.json()["predictions"]
            ids += answer.json()["request_ids"]
    assert rain["predictions"] == _batch(ws_copy, "rain", "rain.csv")
    assert temp == _batch(ws_copy, "temp", "temp.csv")

    ws = Workspace(root)
    for request_id in ids:
        traced = trace(ws, request_id)
        assert traced.prediction["mode"] == "online" and traced.entity == {}
        assert traced.time is not None and traced.time.startswith("2015-12-")
    ran = ws_copy["run"]("trace", ids[0])
    assert ran.code == 0, ran.stdout
    data = ran.doc["data"]
    assert data["time"] == "2015-12-01T00:00:00" and data["entity"] == {}
    assert data["run"]["run_id"] == ws_copy["run_a"]
    assert data["batch"]["kind"] == "batch" and data["batch"]["mode"] == "online"
    assert data["batch"]["inference"]["version"] == "rows_v1"

    check = ws_copy["run"]("serve", "check", "rain", "--url", server.url)
    assert check.code == 0, check.stdout
    assert check.doc["data"]["compared"] == 31 and check.doc["data"]["mismatched"] == []

    perf = ws_copy["run"]("perf", "rain")
    rows = {(r["tier"], r["mode"]): r for r in perf.doc["data"]["rows"]}
    online = rows[("prod", "online")]
    assert online["n"] == 31 and online["errors"] == 0 and online["run_id"] == ws_copy["run_a"]
    assert 0 < online["p50_ms"] <= online["p95_ms"] <= online["p99_ms"]
    assert online["cpu_ms"] > 0 and online["cost_per_1000"] > 0
    query = ws_copy["run"]("query", "SELECT * FROM perf WHERE model = 'rain' AND mode = 'online'")
    assert query.doc["data"]["rows"][0]["p95_ms"] == online["p95_ms"]

    stopped = server.stop()
    assert stopped["ok"] is True and stopped["data"]["stopped_by"] == "SIGTERM"
    assert stopped["data"]["predictions"] == 62 and stopped["data"]["errors"] == 0
    # The card says how its runs served, as of the stop (`factory perf` for now).
    from core.records.card_store import read_card

    card = read_card(ws, "rain")
    served = {(r["run_id"], r["tier"], r["mode"]): r for r in card.meta["serving"]["runs"]}
    assert served[(ws_copy["run_a"], "prod", "online")]["n"] == 31
    assert served[(ws_copy["run_a"], "prod", "online")]["p95_ms"] == round(online["p95_ms"], 3)
    assert f"`{ws_copy['run_a']}` prod online: p50/p95/p99" in card.body and "(n=31)" in card.body

    # A logged prediction that batch scoring does not reproduce fails the check.
    online_file = next((root / "logs" / "inference").glob("date=*/o-*.jsonl"))
    text = online_file.read_text()
    first = predictions([json.loads(x) for x in text.splitlines()], "online")[0]
    online_file.write_text(
        text.replace(f'"prediction":{first["prediction"]}', '"prediction":0.5', 1)
    )
    failed = ws_copy["run"]("serve", "check", "rain")
    assert failed.code == 1
    assert failed.doc["data"]["mismatched"] == [first["request_id"]]
    assert failed.doc["next"][0]["command"] == f"factory trace {first['request_id']}"


@pytest.mark.slow
def test_bad_rows_get_a_4xx_envelope_and_a_5xx_no_traceback(
    ws_copy: dict[str, Any], server: Server
) -> None:
    root = ws_copy["root"]
    first, second = rows_of(root / "december.csv")[:2]
    cases: list[tuple[str, Any, int, str]] = [
        ("/v1/rain/predict", {"rows": [first, {**second, "precipitation": -5}]}, 422, "data_invalid"),
        ("/v1/rain/predict", {"rows": [{k: v for k, v in first.items() if k != "wind"}]}, 422, "data_invalid"),
        ("/v1/rain/predict", {"rows": [first, first]}, 422, "data_invalid"),
        ("/v1/rain/predict", b"not json", 400, "request_invalid"),
        ("/v1/rain/predict", {"rows": []}, 400, "request_invalid"),
        ("/v1/rain/predict", {"rows": [{**first, "wind": [1, 2]}]}, 400, "request_invalid"),
        ("/v1/nope/predict", {"rows": [first]}, 404, "unknown_model"),
        ("/v1/rain/dev/predict", {"rows": [first]}, 404, "unknown_tier"),
        ("/v1/rain/staging/predict", {"rows": [first]}, 404, "tier_empty"),
    ]  # fmt: skip
    with httpx.Client(base_url=server.url, timeout=30) as client:
        for path, body, status, code in cases:
            if isinstance(body, bytes):
                answer = client.post(path, content=body)
            else:
                answer = client.post(path, json=body)
            assert answer.status_code == status, (path, body, answer.text)
            document = answer.json()
            assert set(document) >= {"ok", "command", "schema", "data", "error", "next"}
            assert document["ok"] is False and document["error"]["code"] == code, answer.text
            assert document["error"]["hint"]
        which = client.post("/v1/rain/predict", json={"rows": [first, {**second, "wind": -1}]})
        failure = which.json()["error"]["details"]["failures"][0]
        assert failure["row"] == 2 and failure["column"] == "wind"
        assert "row 2" in which.json()["error"]["message"]
        missing = client.post("/v1/rain/predict", json={"rows": [{"date": first["date"]}]})
        assert "missing" in missing.json()["error"]["message"]
        assert client.get("/v1/rain/nothing").json()["error"]["code"] == "unknown_route"
        assert client.get("/v1/rain/predict").status_code == 405

        # A broken model file is a bug to the server (CatBoost raises): a 500 with the
        # envelope, and no traceback in what the client gets.
        broken = ws_copy["run_b"]
        (root / "artifacts" / broken / "model.cbm").write_bytes(b"not a model")
        assert ws_copy["run"]("promote", broken, "--to", "staging", "--override", "t").code == 0
        deadline = time.monotonic() + 5
        answer = client.post("/v1/rain/staging/predict", json={"rows": [first]})
        while answer.status_code == 404 and time.monotonic() < deadline:
            time.sleep(0.1)  # the watcher has not seen the card yet
            answer = client.post("/v1/rain/staging/predict", json={"rows": [first]})
        assert answer.status_code == 500, answer.text
        assert answer.json()["error"]["code"] == "internal"
        assert "Traceback" not in answer.text and 'File "' not in answer.text
        # ... and the server goes on serving.
        assert client.post("/v1/rain/predict", json={"rows": [first]}).status_code == 200
    stopped = server.stop()
    lines = predictions(log_lines(root), "online")
    errors = [line for line in lines if line["status"] == "error"]
    assert {e["error_code"] for e in errors} >= {"data_invalid", "request_invalid", "internal"}
    assert all(e["prediction"] is None and e["model"] == "rain" for e in errors)
    assert stopped["data"]["errors"] == len(errors) + 1  # the unknown model is not logged


@pytest.mark.slow
def test_gates_judge_latency_and_cost_on_live_figures_once_enough_are_logged(
    ws_copy: dict[str, Any], server: Server
) -> None:
    """With fewer than `perf.MIN_LIVE` logged online predictions of the challenger the gate
    says it used other figures; with enough of both runs it uses the live ones, and says so."""
    from core.operations.perf import MIN_LIVE

    run, a, b = ws_copy["run"], ws_copy["run_a"], ws_copy["run_b"]
    december = rows_of(ws_copy["root"] / "december.csv")
    assert 2 * len(december) < MIN_LIVE <= 4 * len(december)
    assert run("promote", b, "--to", "staging", "--override", "t").code == 0
    with httpx.Client(base_url=server.url, timeout=60) as client:
        deadline = time.monotonic() + 10
        while client.get("/v1/rain/tiers").json()["tiers"]["staging"] != b:
            assert time.monotonic() < deadline, "staging did not switch"
            time.sleep(0.1)

        def send(path: str, times: int) -> None:
            for _ in range(times):
                answer = client.post(path, json={"rows": december})
                assert answer.status_code == 200, answer.text

        send("/v1/rain/predict", 4)  # the incumbent: enough
        send("/v1/rain/staging/predict", 2)  # the challenger: not yet

        def criteria() -> dict[str, dict[str, Any]]:
            gate = run("gate", b, "--to", "prod", "--no-retrain")
            assert gate.code in (0, 1), gate.stdout + gate.stderr
            return {c["name"]: c for c in gate.doc["data"]["criteria"]}

        early = criteria()
        assert "live," not in early["latency_p95"]["note"]
        assert f"live figures need {MIN_LIVE}" in early["latency_p95"]["note"]
        assert "live:" not in early["cost_per_1000"]["note"]
        send("/v1/rain/staging/predict", 2)
    late = criteria()
    n = 4 * len(december)
    assert f"live, from {n} and {n} logged online predictions" in late["latency_p95"]["note"]
    assert a in late["latency_p95"]["note"]
    assert f"over {n} logged online predictions" in late["cost_per_1000"]["note"]
    perf = {r["run_id"]: r for r in run("perf", "rain", "--mode", "online").doc["data"]["rows"]}
    assert perf[b]["n"] == n and late["cost_per_1000"]["value"] == pytest.approx(
        perf[b]["cost_per_1000"]
    )


LOAD = 2000
"""Requests of the load test (issue 12's done-when), one row each."""
SWITCH_S = 2.0
"""A tier change reaches every request sent this long after the change's command ended."""


@dataclass
class Load:
    """Four real clients on a shared counter; each answer with its send and receive times."""

    url: str
    rows: list[dict[str, Any]]
    total: int | None
    """Requests to send (None: until the server is gone)."""
    answers: list[tuple[float, float, int, str | None, str | None]] = field(default_factory=list)
    """(sent, received, status, run_id, request_id) per answer."""
    failures: list[str] = field(default_factory=list)
    """Transport errors and non-2xx answers."""
    _next: itertools.count[int] = field(default_factory=itertools.count)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def start(self, workers: int = 4) -> list[threading.Thread]:
        threads = [threading.Thread(target=self._work, daemon=True) for _ in range(workers)]
        for thread in threads:
            thread.start()
        return threads

    def _work(self) -> None:
        with httpx.Client(base_url=self.url, timeout=60) as client:
            while True:
                with self._lock:
                    n = next(self._next)
                if self.total is not None and n >= self.total:
                    return
                sent = time.monotonic()
                try:
                    answer = client.post(
                        "/v1/rain/predict", json={"rows": [self.rows[n % len(self.rows)]]}
                    )
                except httpx.HTTPError as exc:
                    self.failures.append(f"{type(exc).__name__}: {exc}")
                    if self.total is None:
                        return  # the server is gone, as intended
                    continue
                received = time.monotonic()
                if answer.status_code != 200:
                    self.failures.append(f"{answer.status_code}: {answer.text[:300]}")
                    continue
                document = answer.json()
                self.answers.append(
                    (sent, received, 200, document["run_id"], document["request_ids"][0])
                )

    def done_since(self, moment: float) -> int:
        return sum(1 for sent, *_ in list(self.answers) if sent >= moment)


@pytest.mark.slow
def test_2000_requests_at_concurrency_4_while_promote_and_rollback_run_elsewhere(
    ws_copy: dict[str, Any], server: Server
) -> None:
    """Issue 12's done-when, with a real client on 127.0.0.1: 2,000 one-row requests from
    four clients while `factory promote` and `factory rollback` run in other processes: no
    failed request; every request sent more than 2 s after a tier change's command ended is
    answered by the new run; every answer's request id is in the inference log with that run
    (all of them through the `inference` view, a sample through `factory trace`); then a
    kill -9 mid-load leaves only whole log lines, and every answered request logged."""
    from core.foundation.workspace import Workspace
    from core.operations.predict import trace
    from core.operations.tier_state import read_tiers

    run, a, b = ws_copy["run"], ws_copy["run_a"], ws_copy["run_b"]
    root = ws_copy["root"]
    ws = Workspace(root)
    load = Load(server.url, rows_of(root / "december.csv"), LOAD)
    threads = load.start()
    # Each change ends with the command that changes prod (a run reaches prod from staging).
    to_staging = ("promote", b, "--to", "staging", "--override", "load test")
    to_prod = ("promote", b, "--to", "prod", "--override", "load test")
    back = ("rollback", "rain", "--reason", "load test")
    changes: list[tuple[float, float, str]] = []
    """(command started, command ended, the run prod holds after it)."""
    serving = a
    for command in [to_prod, back, to_prod, back]:
        if command is to_prod:
            assert run(*to_staging).code == 0  # prod unchanged
        settle = (changes[-1][1] if changes else time.monotonic()) + SWITCH_S
        deadline = time.monotonic() + 60
        while load.done_since(settle) < 40 and any(t.is_alive() for t in threads):
            assert time.monotonic() < deadline, "the load made no progress"
            time.sleep(0.05)  # answers sent after the last change settled: its window holds some
        if not any(t.is_alive() for t in threads):
            break
        began = time.monotonic()
        ran = run(*command)
        ended = time.monotonic()
        assert ran.code == 0, ran.stdout + ran.stderr
        prod = read_tiers(ws, "rain")["prod"]
        assert prod != serving, f"{command[0]} did not change prod"
        serving = prod
        changes.append((began, ended, prod))
    for thread in threads:
        thread.join(300)
    assert not load.failures, load.failures[:3]
    assert len(load.answers) == LOAD
    assert len(changes) >= 2, "the load ended before a promote and a rollback ran"
    assert [c[2] for c in changes[:2]] == [b, a]

    # Every request sent more than 2 s after a change ended (and before the next began) is
    # answered by the change's run; before the first change, by the incumbent.
    windows = [(-math.inf, changes[0][0], a)]
    for (_, ended, holder), nxt in zip(changes, [*changes[1:], None], strict=True):
        windows.append((ended + SWITCH_S, nxt[0] if nxt else math.inf, holder))
    for low, high, holder in windows[:3]:
        inside = [r for sent, _, _, r, _ in load.answers if low <= sent < high]
        assert inside, f"no request was sent between {low} and {high}"
        assert set(inside) == {holder}, (holder, {r: inside.count(r) for r in set(inside)})
    for low, high, holder in windows[3:]:
        inside = {r for sent, _, _, r, _ in load.answers if low <= sent < high}
        assert inside <= {holder}

    # kill -9 while four more clients are in flight.
    tail = Load(server.url, load.rows, None)
    extra = tail.start()
    deadline = time.monotonic() + 60
    while len(tail.answers) < 40:
        assert time.monotonic() < deadline, "the second load made no progress"
        time.sleep(0.02)
    server.kill()
    for thread in extra:
        thread.join(60)
    lines = log_lines(root)  # every file ends with a whole line, every line parses

    answered = {rid: run_id for *_, run_id, rid in [*load.answers, *tail.answers]}
    assert len(answered) == LOAD + len(tail.answers)  # request ids are unique
    logged = {line["request_id"]: line["run_id"] for line in predictions(lines, "online")}
    assert answered.items() <= logged.items()
    assert len(logged) - len(answered) <= 4  # logged, killed before the answer went out
    sql = "SELECT request_id, run_id FROM inference WHERE mode = 'online'"
    view = run("query", "--limit", "0", sql)
    assert view.code == 0, view.stdout
    assert {r["request_id"]: r["run_id"] for r in view.doc["data"]["rows"]} == logged
    ordered = [rid for *_, rid in sorted(load.answers)]
    for request_id in ordered[:: LOAD // 20]:
        assert trace(ws, request_id).prediction["run_id"] == answered[request_id]
    switched = next(rid for sent, _, _, r, rid in sorted(load.answers) if r == b)
    for request_id in (switched, ordered[-1]):
        traced = run("trace", request_id)
        assert traced.code == 0, traced.stdout
        assert traced.doc["data"]["run"]["run_id"] == answered[request_id]


@pytest.mark.slow
def test_kill_9_mid_load_leaves_only_whole_lines_and_every_answer_logged(
    ws_copy: dict[str, Any],
) -> None:
    """Two servers and a batch share one FACTORY_SESSION; the first server is killed with
    kill -9 under load from four clients while the batch runs: every line of every log file
    is whole, every answered request id is in the log, and the others' lines are intact."""
    import subprocess

    from core.foundation.workspace import Workspace
    from core.operations.predict import trace
    from tests.conftest import FACTORY
    from tests.serve.conftest import child_env, start_server

    root = ws_copy["root"]
    shared = {"FACTORY_SESSION": "shared-session"}
    december = rows_of(root / "december.csv")
    first = start_server(root, env=shared)
    answered: list[str] = []
    failures: list[str] = []
    stop = threading.Event()

    def load(offset: int) -> None:
        with httpx.Client(base_url=first.url, timeout=30) as client:
            n = offset
            while not stop.is_set():
                try:
                    answer = client.post("/v1/rain/predict", json={"rows": [december[n % 31]]})
                except httpx.HTTPError:
                    return  # the server is gone
                if answer.status_code == 200:
                    answered.extend(answer.json()["request_ids"])
                else:
                    failures.append(answer.text)
                n += 1

    batch = subprocess.Popen(
        [*FACTORY, "predict", "rain", "--input", "recent.csv", "--from", "2015-12-01", "--json"],
        cwd=root,
        env=child_env(shared),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    clients = [threading.Thread(target=load, args=(k * 7,)) for k in range(4)]
    for client in clients:
        client.start()
    deadline = time.monotonic() + 60
    while len(answered) < 20 and not failures and time.monotonic() < deadline:
        time.sleep(0.05)  # under load: a shared machine may take a while for the first few
    first.kill()  # kill -9, mid-load
    stop.set()
    for client in clients:
        client.join(30)
    out, err = batch.communicate(timeout=120)
    assert batch.returncode == 0, out + err
    assert not failures and len(answered) >= 20, "\n".join(f[:400] for f in failures[:2])

    second = start_server(root, env=shared)
    with httpx.Client(base_url=second.url, timeout=30) as client:
        later = client.post("/v1/rain/predict", json={"rows": december[:3]}).json()
    second.stop()

    lines = log_lines(root)  # every file ends with a whole line, every line parses
    files = sorted(p.name for p in (root / "logs" / "inference").glob("date=*/*.jsonl"))
    assert len([f for f in files if f.startswith("o-shared-session.")]) == 2
    assert len([f for f in files if f.startswith("b-")]) == 1
    online = {line["request_id"] for line in predictions(lines, "online")}
    assert set(answered) <= online and set(later["request_ids"]) <= online
    assert len(predictions(lines, None)) == len(online) + 31
    ws = Workspace(root)
    for request_id in [answered[0], answered[-1], *later["request_ids"]]:
        assert trace(ws, request_id).prediction["session_id"] == "shared-session"
    counted = ws_copy["run"]("query", "SELECT mode, count(*) AS n FROM inference GROUP BY ALL")
    modes = {r["mode"]: r["n"] for r in counted.doc["data"]["rows"]}
    assert modes == {"online": len(online), "batch": 31}


def test_shadow_scores_after_the_answer_and_is_never_returned(ws_copy: dict[str, Any]) -> None:
    """A route with a shadow run: the answer is the stable run's, the shadow run's score of
    the same request is logged as `mode="shadow"` (arm challenger)."""
    from tests.conftest import FACTORY
    from tests.serve.conftest import start_server

    root, a, b = ws_copy["root"], ws_copy["run_a"], ws_copy["run_b"]
    wrapper = (
        "import dataclasses, os, sys\n"
        "import core.operations.rollouts as rollouts\n"
        "real = rollouts.route\n"
        "def route(ws, model, key):\n"
        "    found = real(ws, model, key)\n"
        "    return dataclasses.replace(found, rollout_id='ro-test', shadow_run_id=os.environ['SHADOW'])\n"
        "rollouts.route = route\n"
        "from core.cli.main import main\n"
        "sys.argv = ['factory', 'serve', '--port', '0', '--json']\n"
        "main()\n"
    )
    server = start_server(root, env={"SHADOW": b}, command=[FACTORY[0], "-c", wrapper])
    december = rows_of(root / "december.csv")
    try:
        with httpx.Client(base_url=server.url, timeout=30) as client:
            answers = [
                client.post("/v1/rain/predict", json={"rows": december[i : i + 2]}).json()
                for i in range(0, 10, 2)
            ]
            deadline = time.monotonic() + 10
            while client.get("/v1/health").json()["shadow"]["done"] < 5:
                assert time.monotonic() < deadline, "shadow work did not finish"
                time.sleep(0.1)
    finally:
        stopped = server.stop()
    assert all(answer["run_ids"] == [a, a] for answer in answers)
    ids = [i for answer in answers for i in answer["request_ids"]]
    lines = predictions(log_lines(root))
    shadow = {line["request_id"]: line for line in lines if line["mode"] == "shadow"}
    online = {line["request_id"]: line for line in lines if line["mode"] == "online"}
    assert set(shadow) == set(online) == set(ids)
    assert {line["run_id"] for line in shadow.values()} == {b}
    assert {line["arm"] for line in shadow.values()} == {"challenger"}
    assert {line["rollout_id"] for line in shadow.values()} == {"ro-test"}
    assert all(line["prediction"] is not None for line in shadow.values())
    assert stopped["data"]["shadow"]["done"] == 5 and stopped["data"]["shadow"]["dropped"] == 0


def test_shadow_queue_drops_and_counts_instead_of_waiting() -> None:
    """With the worker busy and the queue full, an offer returns at once, refused and counted
    (a waiting offer would block until the worker's 10 s wait ran out, and be accepted)."""
    from core.serve.engine import ShadowQueue

    busy, release = threading.Event(), threading.Event()

    def work(job: object) -> None:
        busy.set()
        release.wait(10)

    queue = ShadowQueue(1, work)  # type: ignore[arg-type]
    queue.start()
    assert queue.offer(object()) is True  # type: ignore[arg-type]
    assert busy.wait(10)  # the worker holds the first job; the queue is empty again
    accepted = [queue.offer(object()) for _ in range(4)]  # type: ignore[arg-type]
    assert accepted == [True, False, False, False]
    assert queue.stats()["dropped"] == 3 and queue.stats()["queued"] == 2
    release.set()
    deadline = time.monotonic() + 10
    while queue.stats()["done"] < 2 and time.monotonic() < deadline:
        time.sleep(0.01)
    queue.stop()
    stats = queue.stats()
    assert stats["done"] == 2 and stats["dropped"] == 3 and stats["waiting"] == 0
    assert ShadowQueue(0, lambda job: None).offer(object()) is False  # type: ignore[arg-type]


def test_shadow_work_waits_for_no_request_in_progress_and_drops_what_waited_too_long() -> None:
    from core.serve.engine import ShadowQueue

    busy = threading.Event()
    busy.set()  # a request is being served
    ran: list[object] = []
    queue = ShadowQueue(4, ran.append, idle=lambda: not busy.is_set(), max_wait=0.05)  # type: ignore[arg-type]
    queue.start()
    assert queue.offer("first")  # type: ignore[arg-type]
    deadline = time.monotonic() + 10
    while queue.stats()["stale"] < 1 and time.monotonic() < deadline:
        time.sleep(0.01)
    assert ran == [] and queue.stats()["stale"] == 1 and queue.stats()["dropped"] == 1
    busy.clear()  # the server is idle: shadow work runs
    assert queue.offer("second")  # type: ignore[arg-type]
    while queue.stats()["done"] < 1 and time.monotonic() < deadline:
        time.sleep(0.01)
    queue.stop()
    assert ran == ["second"] and queue.stats()["done"] == 1 and queue.stats()["stale"] == 1


def test_history_keeps_each_entitys_recent_rows_and_requests_replace_them(
    tmp_path: Path,
) -> None:
    from datetime import timedelta

    from core.foundation.config import DatasetConfig
    from core.serve.history import POSITION, History

    dataset = DatasetConfig("cities", "x.csv", "day", None, ("city",))
    days = pd.date_range("2024-01-01", periods=40, freq="D")
    seed = pd.DataFrame(
        {
            "day": list(days) * 2,
            "city": ["north"] * 40 + ["south"] * 40,
            "temp": list(range(40)) + list(range(100, 140)),
        }
    )
    history = History(dataset, timedelta(days=10))
    history.seed("ds-000000000000", seed)
    assert history.rows() == 22  # 11 days per city: the newest and 10 before
    request = pd.DataFrame(
        {
            "day": [days[-1], days[-1] + pd.Timedelta("1D")],
            "city": ["north", "north"],
            "temp": [-1, -2],
        }
    )
    request[POSITION] = [0, 1]
    merged = history.select(request)
    assert set(merged["city"]) == {"north"}  # only the request's entities
    assert merged["day"].is_monotonic_increasing and len(merged) == 12
    assert merged.loc[merged["day"] == days[-1], "temp"].tolist() == [-1]  # the request wins
    assert merged[POSITION].tolist()[-2:] == [0, 1] and (merged[POSITION].iloc[:-2] == -1).all()
    history.add(request)
    kept = history.frame()
    assert kept is not None
    assert len(kept[kept["city"] == "north"]) == 11  # the window moved a day
    assert len(kept[kept["city"] == "south"]) == 11
