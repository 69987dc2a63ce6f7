"""Fixtures for sunset: the feedback workspace (a tiny rain model that scored the second half
of 2015 with `factory predict`, then a newer snapshot) plus two runs on the workspace's own
features versions: `private_v1`, used by one run only, and `shared_v1`, used by another run
and named by the temp model's table. Built once per session and copied per test."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.feedback.conftest import build_workspace, copy_workspace


@pytest.fixture(scope="session")
def sunset_template(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    root = tmp_path_factory.mktemp("sunset") / "ws"
    built = build_workspace(root, features={"private_v1": "tiny", "shared_v1": "tiny2"})
    config = root / "factory.toml"
    text = config.read_text()
    temp = text.index("[models.temp]")
    head, tail = text[:temp], text[temp:]
    config.write_text(head + tail.replace('features = "weather_v2"', 'features = "shared_v1"', 1))
    return {**built, "run_p": built["extra"]["private_v1"], "run_s": built["extra"]["shared_v1"]}


@pytest.fixture
def su(
    sunset_template: dict[str, Any], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[dict[str, Any]]:
    monkeypatch.setenv("FACTORY_THREADS", "2")
    monkeypatch.delenv("FACTORY_WORKSPACE", raising=False)
    monkeypatch.delenv("FACTORY_NOW", raising=False)
    yield copy_workspace(sunset_template, tmp_path)


def passed_rollout(
    ws: Any, model: str, stable: str, challenger: str, decision: str = "passed"
) -> str:
    """A rollout verdict as the rollouts store writes it when a rollout ends."""
    from core.foundation.ids import hash_inputs
    from core.operations.rollouts.store import write_verdict

    rollout_id = "rollout-" + hash_inputs({"s": stable, "c": challenger, "d": decision})
    write_verdict(
        ws,
        rollout_id,
        {
            "rollout_id": rollout_id, "model": model, "run_id": challenger, "stable": stable,
            "challenger": challenger, "mode": "shadow", "decision": decision,
            "passed": decision in ("promoted", "passed"), "reason": "constructed for a test",
            "created_at": "2026-11-30T00:00:00.000Z", "ended_at": "2026-11-30T00:00:00.000Z",
        },
    )  # fmt: skip
    return rollout_id
