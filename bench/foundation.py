"""Foundation benchmarks: cold `factory status` / `factory history` with 100,000 events,
plain-json vs DuckDB for reading history, and concurrent event-append throughput.

Run with `python -m bench foundation` (or `make bench`).
"""

from __future__ import annotations

import json
import multiprocessing
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
EVENTS = 100_000
DAYS = 30
COLD_RUNS = 7
WRITERS = 4
EVENTS_PER_WRITER = 5_000
APPEND_ROUNDS = 3


def build_event_log(root: Path, events: int = EVENTS, days: int = DAYS, seed: int = 7) -> int:
    """A workspace at `root` whose log holds `events` events over the last `days` days,
    written with the real writer (`core.foundation.events.emit`): bursts of commands from per-process
    sessions and named assistant sessions, with domain events between them."""
    import core.foundation.events as ev
    from core.foundation import clock
    from core.foundation.workspace_init import init_workspace

    init_workspace(root)
    events_dir = root / "logs" / "events"
    rng = random.Random(seed)
    end = datetime.now(UTC)
    start = end - timedelta(days=days)
    gap = (end - start) / max(events, 1)
    moment = start
    saved = {k: os.environ.get(k) for k in ("FACTORY_NOW", "FACTORY_SESSION")}
    written = 0
    try:
        while written < events:
            burst = min(rng.randint(5, 60), events - written)
            if rng.random() < 0.2:
                os.environ["FACTORY_SESSION"] = f"chat-{rng.randrange(10**6):06d}"
            else:
                os.environ.pop("FACTORY_SESSION", None)
                ev._process_session = None  # each burst is a new process
            for _ in range(burst):
                moment += gap
                os.environ["FACTORY_NOW"] = clock.iso(moment)
                roll = rng.random()
                if roll < 0.45:
                    ev.emit(
                        events_dir,
                        "command",
                        command="status",
                        mutating=False,
                        ok=True,
                        exit_code=0,
                        argv=["status", "--json"],
                        duration_ms=80.0,
                    )
                elif roll < 0.75:
                    ev.emit(
                        events_dir,
                        "command",
                        command="train",
                        mutating=True,
                        ok=True,
                        exit_code=0,
                        argv=["train", "rain"],
                        duration_ms=4000.0,
                    )
                else:
                    ev.emit(
                        events_dir,
                        "run.finished",
                        run_id=f"r-{rng.randrange(16**8):08x}",
                        model="rain",
                        status="finished",
                        metric="auc",
                        value=0.71,
                    )
                written += 1
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
        ev._process_session = None
    return written


def _env(workspace: Path) -> dict[str, str]:
    env = {**os.environ, "PYTHONPATH": str(REPO), "FACTORY_WORKSPACE": str(workspace)}
    env.pop("FACTORY_NOW", None)
    env.pop("FACTORY_SESSION", None)
    return env


def cold_times(args: list[str], workspace: Path, runs: int = COLD_RUNS) -> list[float]:
    """Wall seconds of `factory ARGS` in a fresh process, `runs` times."""
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        proc = subprocess.run(
            [sys.executable, "-m", "core.cli.main", *args],
            env=_env(workspace),
            capture_output=True,
            text=True,
            check=False,
        )
        times.append(time.perf_counter() - started)
        if proc.returncode != 0:
            raise RuntimeError(f"factory {' '.join(args)} failed: {proc.stdout}{proc.stderr}")
        json.loads(proc.stdout)
    return times


def history_read_json(workspace: Path) -> tuple[float, int]:
    """Seconds and rows for reading the last 7 days' events with plain `json` (the reader
    `core.overview.history` uses), for comparison with DuckDB doing the same."""
    from core.foundation import clock
    from core.foundation.timeparse import resolve_range
    from core.overview.history import _read, partitions_in_range

    started = time.perf_counter()
    time_range = resolve_range("7d", None, None)
    parts = partitions_in_range(workspace / "logs" / "events", time_range)
    files = [f for p in parts for f in sorted(p.glob("*.jsonl"))]
    since = clock.iso(time_range.since) if time_range.since else None
    rows = _read(files, since, None)
    return time.perf_counter() - started, len(rows)


def history_full(workspace: Path) -> tuple[float, int]:
    """Seconds and sessions for `core.overview.history.history` as `factory history --since 7d`
    runs it (read, cluster, describe the 20 newest sessions)."""
    from core.foundation.timeparse import resolve_range
    from core.foundation.workspace import Workspace
    from core.overview.history import history

    started = time.perf_counter()
    result = history(Workspace(workspace), resolve_range("7d", None, None))
    return time.perf_counter() - started, result.total_sessions


def history_read_duckdb(workspace: Path) -> tuple[float, int]:
    """The same read through DuckDB (import and connect included): events of the last 7
    days' partitions, filtered and ordered, fetched as Python rows."""
    started = time.perf_counter()
    import duckdb

    from core.foundation.timeparse import resolve_range
    from core.overview.history import partitions_in_range

    time_range = resolve_range("7d", None, None)
    parts = partitions_in_range(workspace / "logs" / "events", time_range)
    files = [str(p / "*.jsonl") for p in parts]
    con = duckdb.connect(":memory:")
    since = time_range.since.strftime("%Y-%m-%dT%H:%M:%S") if time_range.since else "1970-01-01"
    rows = con.execute(
        "SELECT ts, session_id, event, command, run_id, model, data FROM read_json(?, "
        "format='newline_delimited', ignore_errors=true, union_by_name=true, "
        "columns={'ts': 'VARCHAR', 'session_id': 'VARCHAR', 'event': 'VARCHAR', "
        "'command': 'VARCHAR', 'run_id': 'VARCHAR', 'model': 'VARCHAR', 'data': 'JSON'}) "
        "WHERE ts IS NOT NULL AND ts >= ? ORDER BY ts",
        [files, since],
    ).fetchall()
    con.close()
    return time.perf_counter() - started, len(rows)


def _writer(events_dir: str, writer: int, count: int, go: Any) -> None:
    from core.foundation.events import emit

    go.wait()
    for index in range(count):
        emit(Path(events_dir), "bench.append", writer=writer, index=index, pad="x" * 200)


def append_throughput(root: Path) -> tuple[float, int, int]:
    """Events/s with `WRITERS` processes appending to the same session file at once;
    returns (rate, lines expected, lines found intact)."""
    events_dir = root / "logs" / "events"
    os.environ["FACTORY_SESSION"] = "bench-append"
    try:
        ctx = multiprocessing.get_context("fork")
        go = ctx.Event()
        procs = [
            ctx.Process(target=_writer, args=(str(events_dir), w, EVENTS_PER_WRITER, go))
            for w in range(WRITERS)
        ]
        for proc in procs:
            proc.start()
        time.sleep(0.2)
        started = time.perf_counter()
        go.set()
        for proc in procs:
            proc.join()
        elapsed = time.perf_counter() - started
    finally:
        os.environ.pop("FACTORY_SESSION", None)
    seen: set[tuple[int, int]] = set()
    for path in events_dir.glob("date=*/bench-append.jsonl"):
        for line in path.read_text(encoding="utf-8").splitlines():
            record = json.loads(line)
            seen.add((record["data"]["writer"], record["data"]["index"]))
    expected = WRITERS * EVENTS_PER_WRITER
    return expected / elapsed, expected, len(seen)


def _row(label: str, times: list[float]) -> str:
    ms = [t * 1000 for t in times]
    return f"{label:<42} {statistics.median(ms):>8.0f} {min(ms):>8.0f} {max(ms):>8.0f}"


def main() -> None:
    with tempfile.TemporaryDirectory(prefix="factory-bench-") as tmp:
        ws = Path(tmp) / "ws"
        started = time.perf_counter()
        count = build_event_log(ws)
        print(f"wrote {count:,} events over {DAYS} days in {time.perf_counter() - started:.1f} s")
        print(
            f"{'cold process, ' + str(COLD_RUNS) + ' runs (ms)':<42} {'median':>8} {'min':>8} {'max':>8}"
        )
        print(_row("factory status --json", cold_times(["status", "--json"], ws)))
        print(
            _row(
                "factory history --since 7d --json",
                cold_times(["history", "--since", "7d", "--json"], ws),
            )
        )
        empty = Path(tmp) / "empty"
        build_event_log(empty, events=0)
        print(_row("factory status --json, empty log", cold_times(["status", "--json"], empty)))
        print(_row("python -c pass (interpreter floor)", cold_times_floor()))

        json_times, duck_times, full_times = [], [], []
        for _ in range(3):
            seconds, json_rows = history_read_json(ws)
            json_times.append(seconds)
            seconds, rows = history_read_duckdb(ws)
            duck_times.append(seconds)
            seconds, sessions = history_full(ws)
            full_times.append(seconds)
        print(f"{'in-process, last 7 days, 3 runs (ms)':<42} {'median':>8} {'min':>8} {'max':>8}")
        print(_row(f"read {json_rows} events: plain json", json_times))
        print(_row(f"read {rows} events: duckdb (incl. import)", duck_times))
        print(_row(f"history(): read + {sessions} sessions", full_times))

        rates = []
        for round_index in range(APPEND_ROUNDS):
            root = Path(tmp) / f"append-{round_index}"
            rate, expected, found = append_throughput(root)
            rates.append(rate)
            status = "ok" if found == expected else f"LOST {expected - found}"
            print(
                f"append round {round_index + 1}: {WRITERS} writers, {expected:,} events, "
                f"{rate:,.0f} events/s, intact lines {found:,} ({status})"
            )
        print(f"append throughput median: {statistics.median(rates):,.0f} events/s")


def cold_times_floor(runs: int = COLD_RUNS) -> list[float]:
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        subprocess.run([sys.executable, "-c", "pass"], check=True)
        times.append(time.perf_counter() - started)
    return times


if __name__ == "__main__":
    main()
