"""Overview: what `factory status` says, laid out for a person."""

from __future__ import annotations

from typing import Any, ClassVar

from rich.console import RenderableType
from rich.text import Text
from textual.app import ComposeResult
from textual.containers import VerticalScroll
from textual.widgets import Static

from tui import data
from tui import format as fmt
from tui.screens.base import Banner, FactoryScreen
from tui.widgets.render import heading, key_values, rows_table, stack


def run_brief(run: dict[str, Any]) -> str:
    """`r-bae63f9bddec  auc 0.7154 ± 0.0404  features weather_v2 · hparams t2  2026-11-26 19:34`"""
    comps = run.get("components") or {}
    shown = " · ".join(f"{k} {comps[k]}" for k in ("features", "hparams") if k in comps)
    return (
        f"{run['run_id']}  {run.get('metric') or ''} {fmt.number(run.get('mean'))}"
        f" ± {fmt.number(run.get('std'))}  {shown}  {fmt.when(run.get('created_at'))}"
    )


def field_text(key: str, value: Any) -> str:
    """The status sections' fields, said briefly; unknown fields fall back to `k=v`."""
    if value is None or value == [] or value == {}:
        return "-"
    if key in ("best_run", "last_run") and isinstance(value, dict):
        return run_brief(value)
    if key in ("running", "interrupted") and isinstance(value, list):
        return ", ".join(f"{m['run_id']} since {fmt.when(m.get('started_at'))}" for m in value)
    if key == "open_plans" and isinstance(value, list):
        return "\n".join(
            f"{p['plan_id']}  {p.get('intent', '')}"
            + (f"  (expect {p['expect']})" if p.get("expect") else "")
            for p in value
        )
    if key == "next_ideas" and isinstance(value, list):
        return "\n".join(f"{i['idea']}  (from {i.get('run_id') or '-'})" for i in value)
    if key == "tiers" and isinstance(value, dict):
        if not any(value.get(tier) for tier in ("staging", "prod")):
            return "-"
        held = [f"{tier} {value.get(tier) or '-'}" for tier in ("staging", "prod")]
        previous = value.get("previous") or {}
        before = (
            [f"{t} {r}" for t, r in previous.items() if r] if isinstance(previous, dict) else []
        )
        return " · ".join(held) + (f"  (before: {', '.join(before)})" if before else "")
    if key == "gates" and isinstance(value, dict):
        return (
            "\n".join(
                f"{tier}: {'pass' if gate.get('passed') else 'FAIL'} for {gate.get('run_id')}"
                f"  {gate.get('gate_id')}  {fmt.when(gate.get('at'))}"
                + (f"  failed: {', '.join(gate['failed'])}" if gate.get("failed") else "")
                for tier, gate in value.items()
                if isinstance(gate, dict)
            )
            or "-"
        )
    if key == "drift" and isinstance(value, dict):
        if not value.get("drift_id"):
            return "not checked yet"
        verdict = "DRIFT" if value.get("drift_detected") else "no drift"
        share = f"{value.get('drifted')}/{value.get('columns')} columns"
        return f"{verdict}  {share}  {value['drift_id']}  {fmt.when(value.get('at'))}"
    if key == "open_alerts" and isinstance(value, list):
        return "\n".join(
            f"{a.get('alert_id')}  {a.get('kind', '')}  {a.get('message', '')}" for a in value
        )
    if key == "card" and isinstance(value, dict):
        if value.get("error"):
            return f"BROKEN: {value['error']}"
        entries = value.get("entries", 0)
        if not value.get("exists"):
            return "not written yet"
        return f"{entries} {'entry' if entries == 1 else 'entries'}"
    return fmt.value(value)


def model_block(model: dict[str, Any]) -> RenderableType:
    """One model: its contract, then whatever status sections added (tiers, best, last...)."""
    fixed: tuple[str, ...] = ("name", "dataset", "task", "primary_metric", "direction")
    title = Text.assemble(
        (model["name"], "bold"),
        f"  {model.get('task', '')} on {model.get('dataset', '')}, ",
        f"{model.get('primary_metric', '')} ({model.get('direction', '')})",
    )
    # The count says no more than the list of open alerts beside it, unless the list is cut.
    if model.get("open_alert_count") == len(model.get("open_alerts") or []):
        fixed += ("open_alert_count",)
    # An empty field says nothing at 80x24: only what holds something is listed.
    extra = [
        (k, text) for k, v in model.items() if k not in fixed and (text := field_text(k, v)) != "-"
    ]
    if not model.get("runs"):
        extra = [(k, text) for k, text in extra if k not in ("runs", "drift", "card")]
        hint = Text(f"  no runs yet: factory train {model['name']}", style="italic")
        return stack(title, hint, *([key_values(None, extra)] if extra else []), Text(""))
    return stack(title, key_values(None, extra), Text(""))


class OverviewScreen(FactoryScreen):
    MODE = "overview"
    AREAS: ClassVar[frozenset[str]] = frozenset({"config", "reports", "cards", "events", "index"})

    def compose_body(self) -> ComposeResult:
        yield Banner(id="banner")
        with VerticalScroll(id="overview"):
            yield Static(id="models")
            yield Static(id="next")
            yield Static(id="sessions")
            yield Static(id="datasets")

    def fetch(self, key: str) -> Any:
        return data.status(self.ws)

    def show_data(self, status: dict[str, Any]) -> None:
        self.sub_title = status["name"]
        models = status.get("models", [])
        self.query_one("#models", Static).update(
            stack(heading("Models"), *(model_block(m) for m in models))
            if models
            else Text("No models in factory.toml yet.")
        )
        self.query_one("#datasets", Static).update(
            rows_table(
                "Datasets",
                ["dataset", "source", "snapshots", "latest", "rows", "time range"],
                [
                    [
                        d["name"],
                        d["source"],
                        d["snapshots"],
                        d.get("latest_snapshot") or "-",
                        d.get("latest_rows"),
                        " .. ".join(d.get("latest_time_range") or []) or "-",
                    ]
                    for d in status.get("datasets", [])
                ],
                numeric=["snapshots", "rows"],
            )
        )
        self.query_one("#sessions", Static).update(
            rows_table(
                "Recent sessions",
                ["session", "from", "to", "events", "commands"],
                [
                    [
                        s["session_id"],
                        fmt.when(s["started"]),
                        fmt.when(s["ended"]),
                        s["events"],
                        s["commands"],
                    ]
                    for s in status.get("recent_sessions", [])
                ],
                numeric=["events"],
            )
        )
        self.query_one("#next", Static).update(
            stack(heading("Next"), *(Text(f"  {cmd}") for cmd in status.get("next", [])))
        )
