"""A dashboard workspace that has been online: the stable TUI workspace (`conftest.
build_workspace`) plus a weak run in prod whose batch predictions were logged and joined to
their outcomes, a degrading check on it, and a canary of `run t1` with requests logged as
`factory serve` logs them (its line format and writer), analysed once. All made by the real
core functions, at pinned times; the latencies and CPU times a machine measures are pinned
too, so the Live screen and its snapshot are repeatable."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from core.foundation.workspace import Workspace
from tests.tui.conftest import RUN_T1, _pin_volatile

WEAK = "# A weak model on purpose: two stumps.\niterations = 2\nlearning_rate = 0.05\ndepth = 1\n"
PREDICT_FROM = "2015-11-01"
"""The batch scored with the prod run: the last two months of the embedded data, whose
labels the snapshot already holds (rain tomorrow), so the join finds outcomes."""
CANARY: dict[str, Any] = {"steps": (0.1, 0.5), "min_requests": 20, "interval": "1h"}
REQUESTS = 400


def _at(monkeypatch: pytest.MonkeyPatch, when: str) -> None:
    monkeypatch.setenv("FACTORY_NOW", when)


def _pin_inference_log(ws: Workspace) -> None:
    """A batch's measured latency and CPU time, as `_pin_volatile` pins a report's."""
    from core.foundation.atomic import write_text

    for path in sorted((ws.logs_dir / "inference").glob("date=*/*.jsonl")):
        lines = []
        for raw in path.read_text(encoding="utf-8").splitlines():
            line = json.loads(raw)
            if line.get("mode") == "batch":
                for key in ("latency_ms", "cpu_ms"):
                    if isinstance(line.get(key), (int, float)):
                        line[key] = 0.5
            lines.append(json.dumps(line, separators=(",", ":")))
        write_text(path, "\n".join(lines) + "\n")


def extend_online(ws: Workspace, runs: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> str:
    """Take the workspace online as described in the module docstring; returns the weak
    run's id (prod, the canary's stable run)."""
    import numpy as np

    from core.data.sources import embedded_path
    from core.flows.training import train_run
    from core.operations.feedback.degrading import check_degrading
    from core.operations.feedback.join import join_outcomes
    from core.operations.gates import evaluate_gate
    from core.operations.predict import predict_file
    from core.operations.rollouts import actions
    from core.operations.tiers import promote
    from tests.rollouts.conftest import lenient_staging_latency, serve_requests

    lenient_staging_latency(ws.root)
    ws = Workspace(ws.root)
    (ws.components_dir / "hparams" / "weak.toml").write_text(WEAK, encoding="utf-8")
    _at(monkeypatch, "2026-11-19T17:00:00Z")
    weak = train_run(ws, "rain", hparams="weak", thread_count=2).run_id
    _pin_volatile(ws)
    _at(monkeypatch, "2026-11-19T17:05:00Z")
    promote(ws, weak, "staging", override="the incumbent of these tests")
    promote(ws, weak, "prod", override="the incumbent of these tests")
    _at(monkeypatch, "2026-11-19T17:10:00Z")
    (ws.root / "recent.csv").write_bytes(Path(embedded_path("seattle-weather")).read_bytes())
    predict_file(ws, "rain", "recent.csv", tier="prod", start=PREDICT_FROM)
    _pin_inference_log(ws)
    _at(monkeypatch, "2026-11-19T17:15:00Z")
    join_outcomes(ws, "rain", None)
    check_degrading(ws, "rain")
    _at(monkeypatch, "2026-11-19T17:20:00Z")
    challenger = runs[RUN_T1]
    gate = evaluate_gate(ws, challenger, "staging")
    assert gate.passed, [c.to_dict() for c in gate.criteria if not c.passed]
    _at(monkeypatch, "2026-11-19T17:25:00Z")
    actions.start(ws, "rain", challenger, mode="canary", **CANARY)
    _at(monkeypatch, "2026-11-19T17:30:00Z")
    rng = np.random.default_rng(7)
    serve_requests(
        ws,
        REQUESTS,
        rng=rng,
        latency=lambda arm, n: rng.lognormal(np.log(8.0), 0.3, n),
        cpu=lambda arm, n: rng.gamma(8.0, 0.25, n),
    )
    _at(monkeypatch, "2026-11-19T17:35:00Z")
    view = actions.tick(ws, "rain", force=True)
    assert view.status == "running", (view.status, view.reason)
    return weak


@pytest.fixture(scope="session")
def online_template(
    built_workspace: tuple[Path, dict[str, str]], tmp_path_factory: pytest.TempPathFactory
) -> tuple[Path, dict[str, str]]:
    """The stable TUI workspace, copied once per session and taken online."""
    import shutil

    root = tmp_path_factory.mktemp("tui-online") / "ws"
    shutil.copytree(built_workspace[0], root, symlinks=True)
    patch = pytest.MonkeyPatch()
    try:
        patch.setenv("FACTORY_THREADS", "2")
        patch.setenv("FACTORY_SESSION", "chat-2026-11-19")
        weak = extend_online(Workspace(root), built_workspace[1], patch)
    finally:
        patch.undo()
    return root, {**built_workspace[1], "weak": weak}
