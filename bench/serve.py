"""`factory serve`: latency and throughput to 127.0.0.1, the cost of logging, shadow overhead.

1. A real `factory serve` in a subprocess, a real HTTP client (httpx) in this one: one-row
   requests to the embedded rain model's prod tier at concurrency 1 and 4; requests per
   second and client-side p50/p95/p99, plus the server's own time per request from the
   inference log (`latency_ms`: body received to predictions ready). Twice: the newest 60
   days sent again and again (after the first 60, the server's features memo has every
   frame: the case of many clients asking about the same recent rows), and rows the server
   has not seen (every request a new frame, so its features are built: the cost a new row
   pays). The memo's hits and misses are printed from `GET /v1/health`.
2. The cost of logging per request: the engine in this process (no HTTP), the time spent in
   `OnlineLog.write` against the whole of `Engine.predict` (target: under 10%).
3. Shadow overhead: the served arm's p95 at concurrency 4 with a shadow run scoring every
   request after its response, against the same server without one (target: under 10%).

The request count is bounded (`FACTORY_BENCH_REQUESTS`, default 400 per measurement); the
machine's other load shows in the numbers, so read them as medians of a busy laptop. The
batch inference-logging overhead is in `bench/operations.py`. Run with `python -m bench serve`.
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
REQUESTS = int(os.environ.get("FACTORY_BENCH_REQUESTS", "400"))
TINY = "iterations = 30\nlearning_rate = 0.2\ndepth = 4\n"
TINY2 = "iterations = 40\nlearning_rate = 0.1\ndepth = 5\n"
SHADOW_WRAPPER = (
    "import dataclasses, os, sys\n"
    "import core.operations.rollouts as rollouts\n"
    "real = rollouts.route\n"
    "def route(ws, model, key):\n"
    "    found = real(ws, model, key)\n"
    "    return dataclasses.replace(found, rollout_id='ro-bench', "
    "shadow_run_id=os.environ['SHADOW'])\n"
    "rollouts.route = route\n"
    "from core.cli.main import main\n"
    "sys.argv = ['factory', 'serve', '--port', '0', '--json']\n"
    "main()\n"
)


def _workspace(root: Path) -> tuple[Path, str, str]:
    from core.data.snapshots import create_snapshot
    from core.flows.training import train_run
    from core.foundation.workspace import Workspace
    from core.foundation.workspace_init import init_workspace
    from core.operations.tiers import promote

    init_workspace(root)
    config = root / "factory.toml"
    config.write_text(
        config.read_text().replace("seed = 42", "seed = 42\nleak_check_budget_s = 1.0")
    )
    hparams = root / "components" / "hparams"
    hparams.mkdir(parents=True, exist_ok=True)
    (hparams / "tiny.toml").write_text(TINY)
    (hparams / "tiny2.toml").write_text(TINY2)
    ws = Workspace(root)
    create_snapshot(ws, "weather")
    stable = train_run(ws, "rain", hparams="tiny", thread_count=2).run_id
    shadow = train_run(ws, "rain", hparams="tiny2", thread_count=2).run_id
    promote(ws, stable, "staging", override="bench")
    promote(ws, stable, "prod", override="bench")
    return root, stable, shadow


def _rows(root: Path) -> list[dict[str, Any]]:
    import pandas as pd

    from core.data.sources import embedded_path

    frame = pd.read_csv(embedded_path("seattle-weather")).tail(60)
    records: list[dict[str, Any]] = frame.to_dict("records")
    return records


@contextmanager
def _server(root: Path, argv: list[str], env: dict[str, str]) -> Iterator[str]:
    """A `factory serve` subprocess; yields its URL, stops it with SIGTERM afterwards."""
    proc = subprocess.Popen(
        argv,
        cwd=root,
        env={**os.environ, "PYTHONPATH": str(REPO), "FACTORY_THREADS": "1", **env},
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert proc.stderr is not None
    url = ""
    for line in proc.stderr:
        if "serving on " in line:
            url = line.split("serving on ", 1)[1].split()[0]
            break
    if not url:
        proc.kill()
        raise RuntimeError("factory serve did not start: " + (proc.stderr.read() or ""))
    threading.Thread(target=proc.stderr.read, daemon=True).start()
    try:
        yield url
    finally:
        proc.terminate()
        proc.communicate(timeout=60)


def _load(url: str, rows: list[dict[str, Any]], count: int, concurrency: int) -> dict[str, Any]:
    """`count` one-row requests over `concurrency` clients: latencies (ms) and seconds."""
    import httpx

    latencies: list[float] = []
    failed = 0
    lock = threading.Lock()

    def client(worker: int) -> None:
        nonlocal failed
        with httpx.Client(base_url=url, timeout=60) as http:
            http.post("/v1/rain/predict", json={"rows": [rows[0]]})  # a warm connection
            for n in range(worker, count, concurrency):
                body = {"rows": [rows[n % len(rows)]]}
                started = time.perf_counter()
                answer = http.post("/v1/rain/predict", json=body)
                spent = (time.perf_counter() - started) * 1000
                with lock:
                    latencies.append(spent)
                    failed += answer.status_code != 200

    threads = [threading.Thread(target=client, args=(k,)) for k in range(concurrency)]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    seconds = time.perf_counter() - started
    return {"latencies": latencies, "seconds": seconds, "failed": failed}


def _unseen_rows(count: int) -> list[dict[str, Any]]:
    """`count` days from the start of the embedded data: each request's frame is new."""
    import pandas as pd

    from core.data.sources import embedded_path

    frame = pd.read_csv(embedded_path("seattle-weather")).head(count + 8)
    records: list[dict[str, Any]] = frame.to_dict("records")
    return records


def _quantiles(values: list[float]) -> tuple[float, float, float]:
    import numpy as np

    p50, p95, p99 = np.percentile(np.asarray(values), [50, 95, 99])
    return float(p50), float(p95), float(p99)


def _server_ms(root: Path, since: int) -> list[float]:
    """The server's own time per request, from the online lines logged after line `since`."""
    lines = _online_lines(root)
    return [float(line["latency_ms"]) for line in lines[since:] if line.get("mode") == "online"]


def _online_lines(root: Path) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = []
    for path in sorted((root / "logs" / "inference").glob("date=*/o-*.jsonl")):
        for raw in path.read_text().splitlines():
            line = json.loads(raw)
            if line.get("kind") is None and line.get("request_id"):
                found.append(line)
    return found


def bench_http(root: Path) -> None:
    rows = _rows(root)
    argv = [sys.executable, "-m", "core.cli.main", "serve", "--port", "0", "--json"]
    print(
        f"{'concurrency':>11} {'requests':>8} {'req/s':>7} {'p50 ms':>7} {'p95 ms':>7} "
        f"{'p99 ms':>7} {'server p50':>10} {'server p95':>10} {'failed':>6}"
    )
    unseen = _unseen_rows(REQUESTS)
    with _server(root, argv, {}) as url:
        for label, sent in (("recent 60 days, again and again", rows), ("unseen rows", unseen)):
            print(f"{label}:")
            for concurrency in (1, 4):
                before = len(_online_lines(root))
                memo = _memo_stats(url)
                ran = _load(url, sent, REQUESTS, concurrency)
                p50, p95, p99 = _quantiles(ran["latencies"])
                server = _server_ms(root, before)
                s50, s95, _ = _quantiles(server) if server else (float("nan"),) * 3
                after = _memo_stats(url)
                print(
                    f"{concurrency:>11} {REQUESTS:>8} {REQUESTS / ran['seconds']:>7.0f} "
                    f"{p50:>7.2f} {p95:>7.2f} {p99:>7.2f} {s50:>10.2f} {s95:>10.2f} "
                    f"{ran['failed']:>6}  (features memo: {after['hits'] - memo['hits']} hits, "
                    f"{after['misses'] - memo['misses']} misses)"
                )


def bench_logging(root: Path) -> None:
    """Share of `Engine.predict` spent in `OnlineLog.write`, in this process."""
    from core.foundation.workspace import Workspace
    from core.serve.engine import Engine

    rows = _rows(root)
    engine = Engine(Workspace(root), log=True, interval=60)
    engine.start()
    assert engine.log is not None
    log = engine.log
    real = log.write
    spent: list[float] = []

    def timed(scorers: Any, lines: Any) -> str:
        started = time.perf_counter()
        try:
            return real(scorers, lines)
        finally:
            spent.append(time.perf_counter() - started)

    log.write = timed  # type: ignore[method-assign]
    try:
        bodies = [json.dumps({"rows": [rows[n % len(rows)]]}).encode() for n in range(REQUESTS)]
        engine.predict("rain", None, bodies[0], time.perf_counter())
        spent.clear()
        totals = []
        for body in bodies:
            started = time.perf_counter()
            outcome = engine.predict("rain", None, body, started)
            totals.append(time.perf_counter() - started)
            assert outcome.status == 200, outcome.body
    finally:
        engine.stop()
    share = sum(spent) / sum(totals)
    print(
        f"logging per request: median {statistics.median(spent) * 1e6:.0f} us of "
        f"{statistics.median(totals) * 1e3:.2f} ms server time; {share:.1%} of the total "
        "(target < 10%)"
    )


def bench_shadow(root: Path, shadow_run: str) -> None:
    """The served arm's p95 at concurrency 4, with and without a shadow run."""
    from core.serve.engine import SHADOW_MAX_WAIT_S

    rows = _rows(root)
    plain = [sys.executable, "-m", "core.cli.main", "serve", "--port", "0", "--json"]
    shadowed = [sys.executable, "-c", SHADOW_WRAPPER]
    found: dict[str, tuple[float, float]] = {}
    for label, argv in (("without shadow", plain), ("with shadow", shadowed)):
        with _server(root, argv, {"SHADOW": shadow_run}) as url:
            before = len(_online_lines(root))
            ran = _load(url, rows, REQUESTS, 4)
            _, p95, _ = _quantiles(ran["latencies"])
            server = _server_ms(root, before)
            found[label] = (p95, _quantiles(server)[1] if server else float("nan"))
            shadow = _shadow_stats(url)
    print(
        f"shadow work: {shadow['done']} scored, {shadow['stale']} dropped as stale (no idle "
        f"moment within {SHADOW_MAX_WAIT_S:g} s), {shadow['dropped'] - shadow['stale']} dropped "
        "on a full queue"
    )
    base, with_shadow = found["without shadow"], found["with shadow"]
    print(
        f"shadow overhead on the served arm's p95 (concurrency 4): client {base[0]:.2f} -> "
        f"{with_shadow[0]:.2f} ms ({with_shadow[0] / base[0] - 1:+.1%}), server {base[1]:.2f} "
        f"-> {with_shadow[1]:.2f} ms ({with_shadow[1] / base[1] - 1:+.1%}) (target < +10%)"
    )


def _memo_stats(url: str) -> dict[str, int]:
    import httpx

    stats: dict[str, int] = httpx.get(url + "/v1/health", timeout=30).json()["features_memo"]
    return stats


def _shadow_stats(url: str) -> dict[str, int]:
    """The server's shadow counts, once its queue has drained."""
    import httpx

    deadline = time.monotonic() + 30
    while True:
        stats: dict[str, int] = httpx.get(url + "/v1/health", timeout=30).json()["shadow"]
        if stats["waiting"] == 0 or time.monotonic() > deadline:
            return stats
        time.sleep(0.1)


def main() -> None:
    with tempfile.TemporaryDirectory() as folder:
        root, _, shadow_run = _workspace(Path(folder) / "ws")
        print(f"one-row requests, {REQUESTS} per line, embedded rain model, 127.0.0.1")
        bench_http(root)
        bench_logging(root)
        bench_shadow(root, shadow_run)


if __name__ == "__main__":
    main()
