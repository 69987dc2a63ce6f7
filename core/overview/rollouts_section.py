"""Status section for rollouts: the newest rollout of each model, its state and next step.

Two small JSON files per model (`logs/rollouts/<model>/current.json` and the rollout's
`state.json`, plus its spec): no DuckDB, numpy or log reading.
"""

from __future__ import annotations

from typing import Any

from core.foundation.suggest import Next, factory, high, low
from core.foundation.workspace import Workspace


def rollouts_section(ws: Workspace, model: str) -> tuple[dict[str, Any], list[Next]]:
    # `store.current_path`, spelled out: importing the rollouts package to learn that a model
    # never had a rollout would cost every sitting's `status` 10 ms.
    if not (ws.logs_dir / "rollouts" / model / "current.json").is_file():
        return {"rollout": None}, []
    from core.operations.rollouts.actions import summary

    found = summary(ws, model)
    if found is None:
        return {"rollout": None}, []
    status, rid = found["status"], found["rollout_id"]
    more: list[Next] = []
    if status == "running":
        more.append(
            Next(
                factory("rollout", "status", model),
                f"{rid} ({found['mode']}, challenger {found['challenger']}) is running: "
                f"{found['next_step']}",
            )
        )
    elif status == "paused":
        more.append(
            high(
                factory("rollout", "resume", model),
                f"{rid} is paused: {found['next_step']}",
            )
        )
    elif status in ("aborting", "promoting"):
        more.append(
            high(factory("rollout", "tick", model), f"{rid} was interrupted while {status}")
        )
    elif status == "passed":
        more.append(
            Next(
                factory(
                    "rollout", "start", model, "--run", found["challenger"], "--mode", "canary"
                ),
                f"the shadow {rid} passed: serve {found['challenger']} a share of real traffic",
            )
        )
    elif status == "aborted":
        more.append(
            low(factory("rollout", "status", model), f"{rid} was aborted: {found['reason']}")
        )
    return {"rollout": found}, more
