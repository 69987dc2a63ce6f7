"""Fixtures for serving: a workspace with tiny rain and temp runs in their tiers, trained once
per session and copied per test, and a real `factory serve` in a subprocess.

The snapshot ends on 2015-11-30, so the December rows of the embedded data are new to the
server: it seeds its history from the snapshot and extends it with the rows it receives.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import FACTORY, REPO, Ran, run_factory

TINY = "# Tiny model for tests: 30 trees.\niterations = 30\nlearning_rate = 0.2\ndepth = 4\n"
TINY2 = "# Another tiny model: 40 trees, deeper.\niterations = 40\nlearning_rate = 0.1\ndepth = 5\n"
ENV = {"FACTORY_THREADS": "2"}
LAST_SNAPSHOT_DAY = "2015-11-30"


def weather_frame() -> Any:
    import pandas as pd

    from core.data.sources import embedded_path

    frame = pd.read_csv(embedded_path("seattle-weather"))
    frame["date"] = pd.to_datetime(frame["date"]).dt.strftime("%Y-%m-%d")
    return frame


def make_workspace(root: Path) -> Path:
    from core.data.snapshots import create_snapshot
    from core.foundation.workspace import Workspace
    from core.foundation.workspace_init import init_workspace

    init_workspace(root)
    config = root / "factory.toml"
    config.write_text(
        config.read_text().replace("seed = 42", "seed = 42\nleak_check_budget_s = 1.0")
    )
    hparams = root / "components" / "hparams"
    hparams.mkdir(parents=True, exist_ok=True)
    (hparams / "tiny.toml").write_text(TINY)
    (hparams / "tiny2.toml").write_text(TINY2)
    frame = weather_frame()
    frame[frame["date"] <= LAST_SNAPSHOT_DAY].to_csv(root / "history.csv", index=False)
    frame.tail(120).to_csv(root / "recent.csv", index=False)
    frame[frame["date"] > LAST_SNAPSHOT_DAY].to_csv(root / "december.csv", index=False)
    create_snapshot(Workspace(root), "weather", "history.csv")
    return root


@pytest.fixture(scope="session")
def serve_template(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    from core.flows.training import train_run
    from core.foundation.workspace import Workspace
    from core.operations.tiers import promote

    root = make_workspace(tmp_path_factory.mktemp("serve") / "ws")
    ws = Workspace(root)
    run_a = train_run(ws, "rain", hparams="tiny", thread_count=2).run_id
    run_b = train_run(ws, "rain", hparams="tiny2", thread_count=2).run_id
    run_t = train_run(ws, "temp", hparams="tiny", thread_count=2).run_id
    for run in (run_a, run_t):
        promote(ws, run, "staging", override="tests")
        promote(ws, run, "prod", override="tests")
    # Whatever the tests above ran in this process must not leak into the copies' logs.
    shutil.rmtree(root / "logs" / "inference", ignore_errors=True)
    return {"root": root, "run_a": run_a, "run_b": run_b, "run_t": run_t}


@pytest.fixture
def ws_copy(
    serve_template: dict[str, Any], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> dict[str, Any]:
    """A private copy of the trained workspace and `run(*args)` for the real command."""
    root = tmp_path / "ws"
    shutil.copytree(serve_template["root"], root, symlinks=True)
    monkeypatch.setenv("FACTORY_THREADS", "2")
    monkeypatch.delenv("FACTORY_WORKSPACE", raising=False)
    monkeypatch.delenv("FACTORY_SESSION", raising=False)

    def run(*args: str, env: dict[str, str] | None = None) -> Ran:
        return run_factory(*args, "--json", cwd=root, env={**ENV, **(env or {})})

    return {**serve_template, "root": root, "run": run}


def child_env(extra: dict[str, str] | None = None) -> dict[str, str]:
    env = {**os.environ, "PYTHONPATH": str(REPO), "NO_COLOR": "1", **ENV}
    env.pop("FACTORY_WORKSPACE", None)
    env.pop("FACTORY_SESSION", None)
    env.update(extra or {})
    return env


@dataclass
class Server:
    """A real `factory serve --port 0` in a subprocess; `url` once it listens."""

    proc: subprocess.Popen[str]
    url: str = ""
    stderr: list[str] = field(default_factory=list)
    stdout: str = ""

    def stop(self, timeout: float = 20) -> dict[str, Any]:
        """SIGTERM, then the JSON answer `factory serve` prints when it stops."""
        self.proc.send_signal(signal.SIGTERM)
        out, _ = self.proc.communicate(timeout=timeout)
        self.stdout = out
        document: dict[str, Any] = json.loads(out)
        return document

    def kill(self) -> None:
        """kill -9: no handler runs."""
        os.kill(self.proc.pid, signal.SIGKILL)
        self.proc.wait(timeout=20)


def start_server(
    root: Path,
    *args: str,
    env: dict[str, str] | None = None,
    command: list[str] | None = None,
    timeout: float = 60,
) -> Server:
    """Start `factory serve` in `root` on a free port; wait for `serving on URL` on stderr."""
    argv = command or [*FACTORY, "serve", "--port", "0", *args, "--json"]
    proc = subprocess.Popen(
        argv,
        cwd=root,
        env=child_env(env),
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    server = Server(proc)
    ready = threading.Event()

    def drain() -> None:
        assert proc.stderr is not None
        for line in proc.stderr:
            server.stderr.append(line)
            if "serving on " in line and not server.url:
                server.url = line.split("serving on ", 1)[1].split()[0]
                ready.set()
        ready.set()

    threading.Thread(target=drain, daemon=True).start()
    deadline = time.monotonic() + timeout
    while not ready.wait(0.1):
        if time.monotonic() > deadline:
            server.kill()
            raise AssertionError("factory serve did not start:\n" + "".join(server.stderr))
    if not server.url:
        proc.wait(timeout=10)
        raise AssertionError("factory serve exited:\n" + "".join(server.stderr))
    return server


@pytest.fixture
def server(ws_copy: dict[str, Any]) -> Iterator[Server]:
    """A server on the copy, stopped (or killed) after the test."""
    started = start_server(ws_copy["root"])
    yield started
    if started.proc.poll() is None:
        started.kill()


def rows_of(path: Path) -> list[dict[str, Any]]:
    import pandas as pd

    frame: Any = pd.read_csv(path)
    records: list[dict[str, Any]] = frame.to_dict("records")
    return records


def log_lines(root: Path) -> list[dict[str, Any]]:
    """Every line of every inference log file, parsed (a torn line fails the test)."""
    found = []
    for path in sorted((root / "logs" / "inference").glob("date=*/*.jsonl")):
        data = path.read_bytes()
        assert not data or data.endswith(b"\n"), f"{path.name} ends in a torn line"
        found += [json.loads(line) for line in data.splitlines()]
    return found


def predictions(lines: list[dict[str, Any]], mode: str | None = None) -> list[dict[str, Any]]:
    return [
        line
        for line in lines
        if line.get("kind") is None
        and line.get("request_id")
        and (mode is None or line.get("mode", "batch") == mode)
    ]
