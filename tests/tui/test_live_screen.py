"""The Live screen on a workspace that has been online (`live_workspace.py`: a weak run in
prod with joined outcomes and a degrading check, and a canary of `run t1` analysed once):
it shows what `factory tiers / perf / rollout status / live / sunset candidates --json` say,
every criterion's value, threshold and verdict, follows a rollout ended in another process,
and says which command to run where a part is empty."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from core.foundation.workspace import Workspace
from tests.conftest import run_factory
from tests.tui.conftest import LIVE_S, PINNED_NOW, screen_text, wait_for
from tests.tui.live_workspace import online_template  # noqa: F401  (a fixture)

SIZE = (120, 40)


@pytest.fixture
def online(
    online_template: tuple[Path, dict[str, str]],  # noqa: F811
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> Iterator[tuple[Workspace, dict[str, str]]]:
    monkeypatch.delenv("FACTORY_WORKSPACE", raising=False)
    monkeypatch.delenv("NO_COLOR", raising=False)
    monkeypatch.setenv("FACTORY_NOW", PINNED_NOW)
    monkeypatch.setenv("FACTORY_SESSION", "tui-tests")
    monkeypatch.setenv("FACTORY_THREADS", "2")
    root = tmp_path / "ws"
    shutil.copytree(online_template[0], root, symlinks=True)
    yield Workspace(root), online_template[1]


def app_on(ws: Workspace, **options: Any) -> Any:
    from tui.app import FactoryApp

    options.setdefault("poll_seconds", None)
    options.setdefault("cursor_blink", False)
    return FactoryApp(Workspace(ws.root), **options)


async def open_live(app: Any, pilot: Any) -> None:
    await wait_for(pilot, lambda: "overview" in app.timings, timeout=20)
    await pilot.press("l")
    await wait_for(
        pilot, lambda: app.current_mode == "live" and app.screen.shown is not None, timeout=30
    )
    await pilot.pause(0.2)


async def whole_text(app: Any, pilot: Any) -> str:
    """Every line of the screen's scroll, page by page (what a person reads scrolling)."""
    scroll = app.screen.query_one("#live")
    scroll.scroll_home(animate=False)
    await pilot.pause(0.1)
    pages = [screen_text(app)]
    while scroll.scroll_y < scroll.max_scroll_y:
        scroll.scroll_page_down(animate=False)
        await pilot.pause(0.1)
        pages.append(screen_text(app))
    return "\n".join(pages)


def cli(ws: Workspace, *args: str) -> dict[str, Any]:
    ran = run_factory(*args, "--json", cwd=ws.root)
    assert ran.doc["ok"], ran.stdout + ran.stderr
    data: dict[str, Any] = ran.doc["data"]
    return data


@pytest.mark.slow
async def test_live_shows_tiers_rollout_criteria_live_degrading_and_sunset(
    online: tuple[Workspace, dict[str, str]],
) -> None:
    ws, runs = online
    app = app_on(ws)
    async with app.run_test(size=SIZE) as pilot:
        await open_live(app, pilot)
        shown = app.screen.shown
        text = await whole_text(app, pilot)
    rain = next(m for m in shown["models"] if m["name"] == "rain")
    # Same truth: each part is the `--json` data of its command.
    assert rain["rollout"] == cli(ws, "rollout", "status", "rain")
    assert rain["live"] == cli(ws, "live", "rain")
    assert rain["sunset"] == cli(ws, "sunset", "candidates", "rain")
    assert rain["tiers"] == cli(ws, "tiers", "rain")
    assert rain["perf"] == cli(ws, "perf", "rain")
    weak, challenger = runs["weak"], runs["run t1"]
    # Live tiers, and the challenger's share of prod.
    assert f"prod {weak}" in text and f"staging {challenger}" in text
    assert f"challenger {challenger} answers 50% of prod" in text
    # The rollout in progress and every criterion: value, threshold, verdict.
    rollout = rain["rollout"]
    # Outcomes of rain joined before the canary started, so quality is analysed too (with no
    # outcome of the canary's own requests yet: inconclusive, no value).
    assert rollout["status"] == "running"
    assert [c["name"] for c in rollout["criteria"]] == [
        "latency_p95_ratio", "error_rate_difference", "cost_per_1000_ratio", "quality",
    ]  # fmt: skip
    assert f"{rollout['rollout_id']}  canary running  {challenger} against {weak}" in text
    for criterion in rollout["criteria"]:
        row = next(line for line in text.splitlines() if f" {criterion['name']} " in line)
        if criterion["value"] is None:
            assert criterion["verdict"] == "inconclusive", criterion
        else:
            assert f" {criterion['value']:.3f} " in row, row
        assert f" {criterion['threshold']:.3f} " in row, row
        assert f" {criterion['verdict']} " in row, row
    assert "next: canary at 50%" in text
    # Live performance: labelled n, coverage, realised metric beside the backtest range.
    [served] = [r for r in rain["live"]["runs"] if r["run_id"] == weak]
    # The batch's 61 rows and the stable arm's share of 400 requests at step 10% (the split
    # follows the rollout id's hash, so the exact count is read from the answer).
    logged = served["logged"]
    assert served["labelled"] == 60 and 61 + 320 < logged < 61 + 400
    backtest = served["backtest"]
    assert (
        f"{weak} prod (batch, online): auc {served['value']:.4f} "
        f"[{served['interval'][0]:.4f}, {served['interval'][1]:.4f}] on 60 labelled of {logged} "
        f"({60 / logged:.0%}); backtest [{backtest['min']:.4f}, {backtest['max']:.4f}] over 4 folds: "
        f"{served['position'].replace('_', ' ')}"
    ) in " ".join(text.split())
    # The degrading verdict `check degrading` recorded, and every run's sunset verdict.
    [verdict] = rain["degrading"].values()
    assert verdict["run_id"] == weak and verdict["verdict"] == "not_degrading"
    assert f"{weak} prod: not_degrading on 60 labelled" in text
    assert rain["sunset"]["candidates"] == []
    for run in rain["sunset"]["runs"]:
        assert f"{run['run_id']} {','.join(run['tiers'])}: keep · below_worst_fold" in text
    assert "no candidate: every run that serves keeps its place" in text
    # A model that never served says what to run, part by part.
    for hint in (
        "nothing serves yet: factory runs temp, then factory promote RUN --to staging",
        "no request logged: factory serve, or factory predict temp --input FILE",
        "no rollout: factory rollout plan temp --run RUN",
        "needs outcomes first: factory feedback join temp",
    ):
        assert hint in " ".join(text.split()), hint


@pytest.mark.slow
async def test_a_rollout_aborted_in_another_process_shows_without_a_restart(
    online: tuple[Workspace, dict[str, str]],
) -> None:
    ws = online[0]
    app = app_on(ws, poll_seconds=0.5)
    async with app.run_test(size=SIZE) as pilot:
        await open_live(app, pilot)
        assert "canary running" in screen_text(app)
        done = run_factory("rollout", "abort", "rain", "--reason", "seen enough", cwd=ws.root)
        assert done.code == 0, done.stdout + done.stderr

        def ended() -> bool:
            shown = app.screen.shown or {}
            rain = next(m for m in shown.get("models", []) if m["name"] == "rain")
            return bool(rain["rollout"] and rain["rollout"]["status"] == "aborted")

        await wait_for(pilot, ended, timeout=LIVE_S)
        await pilot.pause(0.2)
        text = await whole_text(app, pilot)
    assert "canary aborted" in text and "canary running" not in text
    flat = " ".join(text.split())
    assert "aborted:" in flat and "seen enough" in flat, flat[:3000]
    # Back to one run in prod: no challenger share on the tiers line.
    assert "answers 50% of prod" not in text
    assert "no rollout: factory rollout plan rain" not in text  # it had one: it says so


async def test_live_on_a_workspace_that_never_served_says_what_to_run(make_app: Any) -> None:
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await open_live(app, pilot)
        text = " ".join((await whole_text(app, pilot)).split())
    for model in ("rain", "temp"):
        assert f"no rollout: factory rollout plan {model} --run RUN" in text
        assert f"no request logged: factory serve, or factory predict {model} --input FILE" in text
        assert f"needs outcomes first: factory feedback join {model}" in text
        assert f"no logged prediction of {model} yet" in text


def test_live_screen_snapshot(snap_compare: Any, online: tuple[Workspace, dict[str, str]]) -> None:
    from tests.tui.conftest import tables_measured

    async def run_before(pilot: Any) -> None:
        await open_live(pilot.app, pilot)
        await wait_for(pilot, lambda: tables_measured(pilot.app))
        await pilot.pause(0.3)

    assert snap_compare(app_on(online[0]), terminal_size=SIZE, run_before=run_before)
