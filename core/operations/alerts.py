"""Alerts: drift found, a failed gate on a promotion attempt, a rollback, new data that
does not help, a rollout that paused or whose shadow failed.

Each alert is one small JSON file `logs/alerts/<alert_id>.json` (its state: open or acked)
plus `alert.raised` / `alert.acked` events. The id derives from the kind and the verdict that
raised it, so re-running a step raises nothing new. `[alerts] command` in factory.toml
receives each new alert as JSON on stdin; a failing command warns and records an event but
never breaks the step that raised the alert.
"""

from __future__ import annotations

import json
import re
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from core.foundation import clock
from core.foundation.atomic import file_lock, write_json
from core.foundation.errors import ExitCode, FactoryError
from core.foundation.events import emit
from core.foundation.ids import hash_inputs
from core.foundation.workspace import Workspace

ALERT_KINDS = ("drift", "gate_failed", "rollback", "new_data_no_help", "rollout", "degrading")
ALERT_ID = re.compile(r"^al-[0-9a-f]{12}$")
COMMAND_TIMEOUT_S = 10.0


@dataclass(frozen=True)
class Alert:
    alert_id: str
    kind: str
    """One of drift, gate_failed, rollback, new_data_no_help, rollout (a rollout paused, or
    a shadow that failed), degrading (live loss worse than the backtest's)."""
    model: str | None
    message: str
    source: str
    """The verdict or action that raised it (drift id, gate id, tier-history entry)."""
    raised_at: str
    state: str = "open"
    """`open` or `acked`."""
    acked_at: str | None = None
    details: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {name: getattr(self, name) for name in self.__dataclass_fields__}


@dataclass(frozen=True)
class AlertList:
    alerts: list[Alert]
    include_acked: bool

    JSON_PROPERTIES = ("count", "open")

    @property
    def count(self) -> int:
        """Alerts listed."""
        return len(self.alerts)

    @property
    def open(self) -> int:
        """Of those, the ones still open."""
        return sum(1 for a in self.alerts if a.state == "open")

    def to_dict(self) -> dict[str, Any]:
        return {
            "alerts": [a.to_dict() for a in self.alerts],
            "count": self.count,
            "open": self.open,
            "include_acked": self.include_acked,
        }


def alerts_dir(ws: Workspace) -> Path:
    return ws.logs_dir / "alerts"


def _from_dict(raw: dict[str, Any]) -> Alert:
    names = Alert.__dataclass_fields__
    return Alert(**{k: v for k, v in raw.items() if k in names})


def _lock(ws: Workspace) -> Path:
    return ws.state_dir / "locks" / "alerts.lock"


def raise_alert(
    ws: Workspace,
    kind: str,
    source: str,
    message: str,
    *,
    model: str | None = None,
    details: dict[str, Any] | None = None,
) -> tuple[Alert, bool]:
    """Record an alert once per (kind, source); returns (alert, newly raised)."""
    if kind not in ALERT_KINDS:
        raise ValueError(f"unknown alert kind {kind!r}")
    alert_id = "al-" + hash_inputs({"kind": kind, "source": source})
    path = alerts_dir(ws) / f"{alert_id}.json"
    with file_lock(_lock(ws)):
        if path.is_file():
            existing = json.loads(path.read_text(encoding="utf-8"))
            return _from_dict(existing), False
        alert = Alert(
            alert_id=alert_id,
            kind=kind,
            model=model,
            message=message,
            source=source,
            raised_at=clock.iso(),
            details=details or {},
        )
        write_json(path, alert.to_dict())
    emit(
        ws.events_dir,
        "alert.raised",
        model=model,
        alert_id=alert_id,
        kind=kind,
        source=source,
        message=message,
    )
    _forward(ws, alert)
    return alert, True


def _forward(ws: Workspace, alert: Alert) -> None:
    """Pipe the alert to `[alerts] command`; a failure warns and is recorded, never raised."""
    command = ws.config.alerts.command
    if not command:
        return
    payload = json.dumps({"schema": "factory.alert/1", **alert.to_dict()}, default=str)
    run_command(
        ws,
        command,
        payload,
        what="alert command",
        after=f"the alert {alert.alert_id} is still recorded",
        event="alert.command_failed",
        model=alert.model,
        alert_id=alert.alert_id,
    )


def run_command(
    ws: Workspace,
    command: str,
    payload: str,
    *,
    what: str,
    after: str,
    event: str,
    timeout_s: float = COMMAND_TIMEOUT_S,
    **fields: Any,
) -> str | None:
    """Run a shell command of the workspace's configuration (`[alerts] command`, `[retrain]
    command`) in the workspace with `payload` on stdin. A failure (exit code, timeout, a
    missing program) warns on stderr and emits `event`, never raises: the step that runs the
    hook has done its work. Returns the problem, or None when it ran fine."""
    import subprocess  # only when a hook runs: `status` lists alerts on every sitting

    problem: str | None = None
    try:
        done = subprocess.run(
            command,
            shell=True,
            input=payload,
            text=True,
            capture_output=True,
            timeout=timeout_s,
            cwd=ws.root,
        )
        if done.returncode != 0:
            problem = f"exit code {done.returncode}: {done.stderr.strip()[:300]}"
    except subprocess.TimeoutExpired:
        problem = f"timed out after {timeout_s:.0f}s"
    except OSError as exc:
        problem = str(exc)
    if problem is not None:
        print(
            f"factory: warning: {what} {command!r} failed ({problem}); {after}",
            file=sys.stderr,
        )
        emit(ws.events_dir, event, command=command, problem=problem, **fields)
    return problem


def list_alerts(
    ws: Workspace, *, include_acked: bool = False, model: str | None = None
) -> AlertList:
    """Alerts, newest first (open ones only unless `include_acked`)."""
    found = []
    folder = alerts_dir(ws)
    if folder.is_dir():
        for path in folder.glob("al-*.json"):
            try:
                alert = _from_dict(json.loads(path.read_text(encoding="utf-8")))
            except (OSError, ValueError, TypeError):
                continue
            if model is not None and alert.model != model:
                continue
            if include_acked or alert.state == "open":
                found.append(alert)
    found.sort(key=lambda a: (a.raised_at, a.alert_id), reverse=True)
    return AlertList(found, include_acked)


def ack_alert(ws: Workspace, alert_id: str) -> Alert:
    """Mark an alert acknowledged (acking twice changes nothing)."""
    if not ALERT_ID.match(alert_id or ""):
        raise FactoryError(
            "invalid_alert_id",
            f"{alert_id!r} is not an alert id (al- followed by 12 hex digits)",
            hint="List open alerts with `factory alerts`.",
            exit_code=ExitCode.USAGE,
        )
    path = alerts_dir(ws) / f"{alert_id}.json"
    with file_lock(_lock(ws)):
        if not path.is_file():
            raise FactoryError(
                "unknown_alert",
                f"No alert {alert_id} in {alerts_dir(ws)}",
                hint="List alerts with `factory alerts --all`.",
                details={"alert_id": alert_id},
            )
        alert = _from_dict(json.loads(path.read_text(encoding="utf-8")))
        if alert.state == "acked":
            return alert
        raw = {**alert.to_dict(), "state": "acked", "acked_at": clock.iso()}
        write_json(path, raw)
    emit(ws.events_dir, "alert.acked", model=alert.model, alert_id=alert_id, kind=alert.kind)
    return _from_dict(raw)
