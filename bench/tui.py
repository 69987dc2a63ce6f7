"""Dashboard benchmark: launch to the first complete Overview and Runs screens with 10,000
runs, read from the app's own timing hooks (`FactoryApp.timings`: seconds from the app's
init to the first paint with data of each screen) in a headless `run_test()`; and live
refresh: seconds from a command's event landing in the log to the Overview showing it, with
the app's default poll (the issue asks for "about two seconds"; tests only check that it
shows, because a timed test fails on a loaded machine).

The runs are written by the run index's own writer (`core.experiments.index.write_summary`)
beside small synthetic reports, so the dashboard reads what a real workspace holds.
Run with `python -m bench tui` (or `make bench`).
"""

from __future__ import annotations

import asyncio
import json
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
from unittest.mock import patch

RUNS = 10_000
TARGET_S = 1.0
LAUNCHES = 5
LIVE_TARGET_S = 2.0
LIVE_ROUNDS = 7
REPO = Path(__file__).resolve().parents[1]
FEATURES = ("weather_v1", "weather_v2")
HPARAMS = ("h1", "h2")


def synthetic_report(i: int, rng: random.Random) -> dict[str, Any]:
    """A small report with the keys the run index summarises (no curves: the index never
    reads them, and the Runs screen reads only the index)."""
    model = "rain" if i % 2 == 0 else "temp"
    metric, direction = ("auc", "maximize") if model == "rain" else ("mae", "minimize")
    start = datetime(2026, 1, 1, tzinfo=UTC) + timedelta(minutes=7 * i)
    folds = []
    values = []
    for fold in range(4):
        value = (0.70 + rng.random() * 0.1) if model == "rain" else (2.0 + rng.random())
        values.append(value)
        folds.append(
            {
                "fold": fold,
                "train": {
                    "start": "2012-01-01",
                    "end": f"2014-0{fold + 1}-01",
                    "rows": 700 + 90 * fold,
                },
                "test": {
                    "start": f"2014-0{fold + 1}-08",
                    "end": f"2014-0{fold + 4}-08",
                    "rows": 90,
                },
                "metrics": {metric: value},
            }
        )
    mean = sum(values) / len(values)
    std = (sum((v - mean) ** 2 for v in values) / (len(values) - 1)) ** 0.5
    components = {
        "features": {"version": FEATURES[i % 2], "hash": "f" * 12},
        "labels": {
            "version": "rain_tomorrow_v2" if model == "rain" else "temp_max_tomorrow_v2",
            "hash": "l" * 12,
        },
        "hparams": {"version": HPARAMS[(i // 2) % 2], "hash": "h" * 12},
        "arch": {"version": "catboost_v1", "hash": "a" * 12},
    }
    return {
        "run_id": f"r-{i:012x}",
        "model": model,
        "created_at": start.strftime("%Y-%m-%dT%H:%M:%S.000Z"),
        "finished_at": (start + timedelta(seconds=40)).strftime("%Y-%m-%dT%H:%M:%S.000Z"),
        "snapshot_id": "ds-bench",
        "components": components,
        "primary_metric": {
            "name": metric,
            "direction": direction,
            "mean": mean,
            "std": std,
            "min": min(values),
            "max": max(values),
        },
        "metrics": {"aggregate": {metric: {"mean": mean, "std": std}}},
        "folds": folds,
        "hparams": {"iterations": 200, "depth": 6},
        "seed": 42,
        "timings": {"total_s": 40.0},
        "cost": {"cpu_seconds": 80.0, "cost": 0.001},
        "latency": {"p50_ms": 0.02},
    }


def build(root: Path, runs: int = RUNS) -> Any:
    from core.experiments.index import write_summary
    from core.foundation.atomic import write_json
    from core.foundation.workspace import Workspace
    from core.foundation.workspace_init import init_workspace

    init_workspace(root)
    ws = Workspace(root)
    rng = random.Random(7)
    for i in range(runs):
        report = synthetic_report(i, rng)
        write_json(ws.reports_dir / f"{report['run_id']}.json", report)
        write_summary(ws, report)
    return ws


WAIT_S = 120.0


async def _wait(pilot: Any, done: Any, what: str) -> None:
    """Poll until `done()`; a benchmark that waits forever measures nothing, so give up."""
    deadline = time.perf_counter() + WAIT_S
    while not done():
        if time.perf_counter() > deadline:
            raise TimeoutError(f"the dashboard never reached: {what} (after {WAIT_S:.0f} s)")
        await pilot.pause(0.01)


async def launch(ws: Any, read_overview_first: bool = False) -> dict[str, float]:
    """One headless launch: the app's timing hooks, plus when every row was in the table.
    With `read_overview_first`, `r` is pressed once the Runs prefetch is done, as when a
    person reads the Overview for a moment."""
    from tui.app import FactoryApp

    app = FactoryApp(ws, poll_seconds=None)
    async with app.run_test(size=(120, 40)) as pilot:
        await _wait(pilot, lambda: "overview" in app.timings, "the Overview")
        if read_overview_first:
            await _wait(
                pilot,
                lambda: not app.runs_prefetch or app.runs_prefetch.done(),
                "the end of the Runs prefetch",
            )
        pressed = time.perf_counter() - app.started
        await pilot.press("r")
        await _wait(pilot, lambda: "runs" in app.timings, "the Runs screen")
        table: Any = app.screen.query_one("RunsTable")
        await _wait(pilot, lambda: not table.filling and table.row_count >= RUNS, f"{RUNS:,} rows")
        all_rows = time.perf_counter() - app.started
    return {**app.timings, "runs_after_key": app.timings["runs"] - pressed, "all_rows": all_rows}


async def live_refresh(
    ws: Any, rounds: int = LIVE_ROUNDS, rest_s: float | None = None
) -> list[float]:
    """Seconds from an event written (as another pane's command writes it) to the Overview
    showing its session, each round started at rest (by default: past the racy-stamp window,
    during which every poll rescans)."""
    from core.foundation import events
    from core.foundation.stamps import RACY_NS
    from tui.app import FactoryApp

    app = FactoryApp(ws)  # the default poll interval, as people run it
    seconds: list[float] = []
    # The real clock: with a frozen FACTORY_NOW every session starts at the same instant and
    # the newest is not the one on top. patch.dict restores the caller's environment.
    with patch.dict(os.environ):
        os.environ.pop("FACTORY_NOW", None)
        async with app.run_test(size=(120, 40)) as pilot:
            await _wait(pilot, lambda: "overview" in app.timings, "the Overview")
            for n in range(rounds):
                await pilot.pause(RACY_NS / 1e9 + 0.5 if rest_s is None else rest_s)
                session = f"bench-live-{n}"
                os.environ["FACTORY_SESSION"] = session
                events.emit(ws.events_dir, "command", command="note", mutating=True, ok=True)
                written = time.perf_counter()

                def shown(session: str = session) -> bool:
                    data = app.screen.shown or {}
                    return session in {s["session_id"] for s in data.get("recent_sessions", [])}

                await _wait(pilot, shown, f"session {session} on the Overview")
                seconds.append(time.perf_counter() - written)
    return seconds


def launch_in_fresh_process(root: Path, read_overview_first: bool = False) -> dict[str, float]:
    """Each launch in its own interpreter, so no import or memo of an earlier one helps."""
    code = (
        "import asyncio, json, sys, time; t0 = time.perf_counter(); "
        "from pathlib import Path; from core.foundation.workspace import Workspace; import bench.tui as b; "
        "import tui.app; "
        "imported = time.perf_counter() - t0; "
        f"r = asyncio.run(b.launch(Workspace(Path({str(root)!r})), {read_overview_first})); "
        "print(json.dumps({**r, 'imports': imported}))"
    )
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    out = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        env=env,
        check=False,
        timeout=WAIT_S * 3,
    )
    if out.returncode != 0:
        raise RuntimeError(f"dashboard launch failed:\n{out.stderr[-2000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def _median_against(seconds: list[float], target: float) -> tuple[float, str]:
    median = statistics.median(seconds)
    return median, "meets" if median < target else "misses"


def main() -> None:
    os.environ.setdefault("FACTORY_NOW", "2026-11-26T12:00:00Z")
    with tempfile.TemporaryDirectory(prefix="factory-bench-tui-") as tmp:
        started = time.perf_counter()
        try:
            ws = build(Path(tmp) / "ws")
        except ModuleNotFoundError as exc:
            print(f"skipped: {exc.name} is not available in this build", file=sys.stderr)
            return
        print(f"workspace with {RUNS:,} runs written in {time.perf_counter() - started:.1f} s")
        from core.foundation.stamps import RACY_NS

        time.sleep(RACY_NS / 1e9)  # at rest: a read this soon after a write rescans by design
        print(
            "seconds from the app's init (imports: textual and tui, before init), "
            "each launch in a fresh process:"
        )
        print(
            f"{'launch':<8}{'imports':>9}{'overview':>10}{'runs':>8}{'r->runs':>9}{'all rows':>10}"
        )
        warm: list[float] = []
        plans = [("first", False)] + [(f"again {n}", False) for n in range(1, LAUNCHES)]
        plans.append(("read", True))
        for n, (label, read_first) in enumerate(plans):
            t = launch_in_fresh_process(ws.root, read_first)
            print(
                f"{label:<8}{t['imports']:>9.3f}{t['overview']:>10.3f}{t['runs']:>8.3f}"
                f"{t['runs_after_key']:>9.3f}{t['all_rows']:>10.3f}"
            )
            if n and not read_first:
                warm.append(t["runs"])
        median, verdict = _median_against(warm, TARGET_S)
        print(
            f"launch to first complete Overview and Runs screens (runs column, warm index): "
            f"median {median:.3f} s, worst {max(warm):.3f} s of {len(warm)} launches; the median "
            f"{verdict} the {TARGET_S:.0f} s target. The first launch also "
            "compacts the run index; `all rows` is when the last of the 10,000 rows is in the "
            "table (the first screenful is in at `runs`); `read` presses r once the Runs "
            "prefetch that starts after the Overview is done."
        )
        from tui.app import POLL_SECONDS

        live = asyncio.run(live_refresh(ws))
        median, verdict = _median_against(live, LIVE_TARGET_S)
        print(
            f"live refresh (event written -> Overview shows it, poll every {POLL_SECONDS:g} s, "
            f"{RUNS:,} runs): median {median:.2f} s, worst {max(live):.2f} s of {len(live)}; "
            f"the median {verdict} the {LIVE_TARGET_S:.0f} s target"
        )


if __name__ == "__main__":
    main()
