"""A canary end to end: a real `factory serve` on 127.0.0.1, real clients (4 at a time), and
`factory rollout tick` in another process deciding from what the server logged.

The challenger that is rolled back is broken on purpose: its features module (a workspace
component version wrapping the built-in `weather_v2`) raises inside the server (the server
runs with `CANARY_BROKEN=1`; training and the gate ran without it), so every request routed
to it fails. The challenger that is promoted is an ordinary better model, against latency
and cost budgets it meets for sure (20x: 30 trees against two stumps, CPU measured on a
busy 2-core machine; 3x was inconclusive in CI): these tests pin the machinery (routing,
logging, analysis, the tier change the server follows), `test_decide.py` the statistics.
Each test is bounded: at most `MAX_TICKS` batches of `BATCH` requests."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.conftest import run_factory
from tests.rollouts.conftest import lenient_staging_latency
from tests.serve.conftest import make_workspace, rows_of, start_server

MAX_TICKS = 6
BATCH = 150
CLIENTS = 4
WEAK = "# A weak model on purpose: two stumps.\niterations = 2\nlearning_rate = 0.05\ndepth = 1\n"
BROKEN = '''

import os as _os


def build(frame: Any, time_column: str, entity_columns: list[str] | tuple[str, ...] = ()) -> Any:
    """weather_v2's features, except inside a server started with CANARY_BROKEN=1."""
    if _os.environ.get("CANARY_BROKEN"):
        raise RuntimeError("broken on purpose")
    return _build(frame, time_column, entity_columns)
'''


def _features(root: Path, version: str, wrapper: str) -> None:
    from core.components.features import weather_v2

    source = Path(weather_v2.__file__).read_text()
    assert source.count("\ndef build(") == 1
    folder = root / "components" / "features"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / f"{version}.py").write_text(source.replace("\ndef build(", "\ndef _build(") + wrapper)


@pytest.fixture(scope="session")
def canary_template(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    from core.flows.training import train_run
    from core.foundation.workspace import Workspace

    root = make_workspace(tmp_path_factory.mktemp("canary") / "ws")
    lenient_staging_latency(root)
    (root / "components" / "hparams" / "weak.toml").write_text(WEAK)
    _features(root, "broken_v1", BROKEN)
    ws = Workspace(root)
    runs = {
        "weak": train_run(ws, "rain", hparams="weak", thread_count=2).run_id,
        "tiny": train_run(ws, "rain", hparams="tiny", thread_count=2).run_id,
        "tiny_broken": train_run(
            ws, "rain", hparams="tiny", features="broken_v1", thread_count=2
        ).run_id,
    }
    shutil.rmtree(root / "logs" / "inference", ignore_errors=True)
    return {"root": root, **runs}


def _setup(template: dict[str, Any], tmp_path: Path, stable: str, challenger: str) -> Any:
    root = tmp_path / "ws"
    shutil.copytree(template["root"], root, symlinks=True)

    def run(*args: str) -> Any:
        return run_factory(*args, "--json", cwd=root, env={"FACTORY_THREADS": "2"})

    for tier in ("staging", "prod"):
        done = run("promote", template[stable], "--to", tier, "--override", "the stable run")
        assert done.code == 0, done.stdout + done.stderr
    gate = run("gate", template[challenger], "--to", "staging")
    assert gate.code == 0, gate.stdout
    return root, run


def _prod(root: Path) -> str | None:
    from core.foundation.workspace import Workspace
    from core.operations.tier_state import read_tiers

    held: str | None = read_tiers(Workspace(root), "rain").get("prod")
    return held


def _drive(root: Path, run: Any, rollout_id: str) -> tuple[dict[str, Any], dict[str, int]]:
    """Send one-row requests in batches, a tick after each batch, until the rollout ends;
    returns (the last view, answers per run id or HTTP status)."""
    from concurrent.futures import ThreadPoolExecutor

    rows = rows_of(root / "december.csv")
    server = start_server(root, env={"CANARY_BROKEN": "1"})
    answered: dict[str, int] = {}
    view: dict[str, Any] = {}

    def ask(client: httpx.Client, row: dict[str, Any]) -> str:
        answer = client.post("/v1/rain/predict", json={"rows": [row]})
        if answer.status_code != 200:
            return str(answer.status_code)
        run_id: str = answer.json()["run_ids"][0]
        return run_id

    try:
        clients = [httpx.Client(base_url=server.url, timeout=60) for _ in range(CLIENTS)]
        with ThreadPoolExecutor(CLIENTS) as pool:
            for _ in range(MAX_TICKS):
                jobs = [
                    pool.submit(ask, clients[i % CLIENTS], rows[i % len(rows)])
                    for i in range(BATCH)
                ]
                for job in jobs:
                    key = job.result()
                    answered[key] = answered.get(key, 0) + 1
                view = run("rollout", "tick", "rain", "--now").doc["data"]
                assert view["rollout_id"] == rollout_id
                if view["status"] != "running":
                    # The server follows the card: the next answer comes from prod as it is.
                    view["served_after"] = ask(clients[0], rows[0])
                    break
        for client in clients:
            client.close()
    finally:
        server.stop()
    return view, answered


@pytest.mark.slow
def test_a_broken_challenger_is_rolled_back_automatically_while_serving(
    canary_template: dict[str, Any], tmp_path: Path
) -> None:
    stable, challenger = canary_template["weak"], canary_template["tiny_broken"]
    root, run = _setup(canary_template, tmp_path, "weak", "tiny_broken")
    started = run(
        "rollout", "start", "rain", "--run", challenger, "--steps", "50",
        "--min-requests", "100", "--interval", "1h",
    )  # fmt: skip
    assert started.code == 0, started.stdout + started.stderr
    view, answered = _drive(root, run, started.doc["data"]["rollout_id"])
    assert view["status"] == "aborted", view["reason"]
    assert view["failures"] == 1 and view["failure_limit"] == 0
    by_name = {c["name"]: c for c in view["criteria"]}
    errors = by_name["error_rate_difference"]
    assert errors["verdict"] == "fail" and errors["challenger"] == 1.0 and errors["stable"] == 0.0
    assert errors["interval"][0] > errors["threshold"]
    failed = sum(count for key, count in answered.items() if key.startswith("5"))
    assert answered[stable] >= 100 and failed >= 100  # a 5xx for every challenger request
    assert challenger not in answered  # every request it got failed
    assert view["served_after"] == stable  # the stable run keeps serving
    assert _prod(root) == stable
    alerts = [a for a in run("alerts").doc["data"]["alerts"] if view["rollout_id"] in str(a)]
    assert len(alerts) == 1


@pytest.mark.slow
def test_a_better_challenger_is_promoted_automatically_while_serving(
    canary_template: dict[str, Any], tmp_path: Path
) -> None:
    stable, challenger = canary_template["weak"], canary_template["tiny"]
    root, run = _setup(canary_template, tmp_path, "weak", "tiny")
    started = run(
        "rollout", "start", "rain", "--run", challenger, "--steps", "50",
        "--min-requests", "100", "--error-rate-margin", "0.05", "--latency-ratio-max", "20",
        "--cost-ratio-max", "20", "--interval", "1h",
    )  # fmt: skip
    assert started.code == 0, started.stdout + started.stderr
    view, answered = _drive(root, run, started.doc["data"]["rollout_id"])
    assert view["status"] == "promoted", (view["reason"], view["criteria"])
    assert {c["verdict"] for c in view["criteria"]} == {"pass"}
    assert answered[stable] >= 100 and answered[challenger] >= 100
    assert set(answered) == {stable, challenger}  # no failed request
    assert view["served_after"] == challenger
    assert _prod(root) == challenger
