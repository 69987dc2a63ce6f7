"""Fixtures for rollouts: a workspace with a weak run in prod and a better one whose staging
gate passed (trained and gated once per session, copied per test), and a way to log
requests as `factory serve` does (its own line format and writer) with latencies we choose."""

from __future__ import annotations

import shutil
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import Ran, run_factory

WEAK = "# A weak model on purpose: two stumps.\niterations = 2\nlearning_rate = 0.05\ndepth = 1\n"
ENV = {"FACTORY_THREADS": "2"}


@pytest.fixture(scope="session")
def rollout_template(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    from core.flows.training import train_run
    from core.foundation.workspace import Workspace
    from core.operations.gates import evaluate_gate
    from core.operations.tiers import promote
    from tests.operations.conftest import make_workspace

    root = make_workspace(tmp_path_factory.mktemp("rollouts") / "ws")
    lenient_staging_latency(root)
    (root / "components" / "hparams" / "weak.toml").write_text(WEAK)
    ws = Workspace(root)
    stable = train_run(ws, "rain", hparams="weak", thread_count=2).run_id
    challenger = train_run(ws, "rain", hparams="tiny", thread_count=2).run_id
    other = train_run(ws, "rain", hparams="tiny2", thread_count=2).run_id
    promote(ws, stable, "staging", override="the stable run of these tests")
    promote(ws, stable, "prod", override="the stable run of these tests")
    gate = evaluate_gate(ws, challenger, "staging")
    assert gate.passed, [c.to_dict() for c in gate.criteria if not c.passed]
    return {"root": root, "stable": stable, "challenger": challenger, "other": other}


@pytest.fixture
def ro(
    rollout_template: dict[str, Any], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[dict[str, Any]]:
    """A private copy of the workspace, `run(*args)` for the real command, and `ws`."""
    from core.foundation.workspace import Workspace

    root = tmp_path / "ws"
    shutil.copytree(rollout_template["root"], root, symlinks=True)
    monkeypatch.setenv("FACTORY_THREADS", "2")
    monkeypatch.delenv("FACTORY_WORKSPACE", raising=False)

    def run(*args: str, env: dict[str, str] | None = None) -> Ran:
        return run_factory(*args, "--json", cwd=root, env={**ENV, **(env or {})})

    yield {**rollout_template, "root": root, "run": run, "ws": Workspace(root)}


def lenient_staging_latency(root: Path) -> None:
    """The staging gate's offline latency check (one-row calls of each arch, side by side)
    is not what the rollout tests are about (`tests/verdicts` pins that rule), and two stumps
    against 30 trees can fail it on a loaded machine: measured 7.2x and 7.6x in CI with the
    other worker busy (a budget of 5x failed); it passes at rest. Give it 50x."""
    config = root / "factory.toml"
    text = config.read_text()
    at = text.index("latency_ratio_max = 1.10", text.index("[gates.staging]"))
    config.write_text(
        text[:at] + "latency_ratio_max = 50.0" + text[at + len("latency_ratio_max = 1.10") :]
    )


def serve_requests(
    ws: Any,
    count: int,
    *,
    rng: Any,
    latency: Callable[[str, int], Any],
    cpu: Callable[[str, int], Any] | None = None,
    error: Callable[[str, int], Any] | None = None,
    prefix: str = "k",
) -> dict[str, int]:
    """Route `count` one-row calls as `factory serve` does (`route()` per key), and log
    each with the engine's own line format and writer; `latency(arm, n)` draws the arm's
    latencies (ms), `cpu` its CPU times, `error` its failures. A shadow's challenger line is
    logged as the server's shadow worker logs it. Returns calls per arm."""
    import numpy as np

    from core.operations.rollouts import route
    from core.serve.engine import Engine
    from core.serve.logbook import OnlineLog

    log = OnlineLog(ws)
    routes = [route(ws, "rain", f"{prefix}-{i}-{rng.integers(1 << 30)}") for i in range(count)]
    counts = {"stable": 0, "challenger": 0}
    lines = []
    draws: dict[str, Any] = {}
    for arm in counts:
        n = count
        draws[arm] = (
            latency(arm, n),
            cpu(arm, n) if cpu else np.full(n, 1.0),
            error(arm, n) if error else np.zeros(n, dtype=bool),
        )
    for i, chosen in enumerate(routes):
        arms = [(chosen.arm, chosen.run_id, "online")]
        if chosen.shadow_run_id:
            arms.append(("challenger", chosen.shadow_run_id, "shadow"))
        for arm, run_id, mode in arms:
            lat, spent, failed = (draws[arm][0][i], draws[arm][1][i], draws[arm][2][i])
            line = Engine._line(
                f"rq-{prefix}{i:06d}{mode[:2]}", "rain", run_id, "prod", mode, arm,
                chosen.rollout_id, None, latency_ms=float(lat), cpu_ms=float(spent),
            )  # fmt: skip
            if failed:
                line.update(status="error", error_code="features_mismatch")
            lines.append(line)
            counts[arm] += 1
    log.write([], lines)
    log.close()
    return counts
