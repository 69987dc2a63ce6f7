"""The status family (`core/cli/commands/status.py`): the workspace at a glance; Markdown
first, then Rich. A model's sections are worded by `core.render.words`, shared with the
dashboard's Overview.

Markdown keeps times in UTC as in the JSON; the Rich view shows the recent sessions in the
reader's own day and names the zone."""

from __future__ import annotations

from typing import Any

from rich import box
from rich.console import Group, RenderableType
from rich.table import Table
from rich.text import Text

from core.render import markdown as md
from core.render import text
from core.render.rich_text import Fitted, Renderer, add_row, title
from core.render.words import model_fields

# --- Markdown -----------------------------------------------------------------------------


def _time_range(dataset: dict[str, Any]) -> str:
    return " .. ".join(str(t)[:10] for t in dataset.get("latest_time_range") or []) or text.NOTHING


def status_md(data: dict[str, Any]) -> str:
    out = [
        f"Workspace **{data.get('name')}** at {md.code(data.get('workspace'))}\n",
        "## Datasets\n",
    ]
    datasets = [
        {
            "name": d.get("name"),
            "schema": d.get("schema"),
            "snapshots": d.get("snapshot_count"),
            "latest": d.get("latest_snapshot_id"),
            "rows": d.get("latest_rows"),
            "time range": _time_range(d),
        }
        for d in data.get("datasets") or []
    ]
    out.append(md.table(datasets))
    out.append("## Models\n")
    models = data.get("models") or []
    out.append(
        md.table(
            [
                {
                    "name": m.get("name"),
                    "task": m.get("task"),
                    "dataset": m.get("dataset"),
                    "metric": f"{m.get('metric')} ({m.get('direction')})",
                }
                for m in models
            ]
        )
    )
    for model in models:
        fields, hint = model_fields(model)
        if not fields and not hint:
            continue
        out.append(f"### {model.get('name')}\n")
        if hint:
            out.append(f"{hint[0]}: {md.code(hint[1])}\n")
        for key, words in fields:
            label = key.replace("_", " ")
            lines = words.split("\n")
            if len(lines) == 1:
                out.append(f"- **{label}**: {words}")
            else:
                out.append(f"- **{label}**:")
                out.extend(f"  - {line}" for line in lines)
        if fields:
            out.append("")
    out.append("## Recent sessions\n")
    sessions = [
        {
            "session": s.get("session_id"),
            "when": text.span_utc(s.get("started"), s.get("ended")),
            "events": s.get("event_count"),
            "commands": ", ".join(s.get("commands") or []),
        }
        for s in data.get("recent_sessions") or []
    ]
    out.append(md.table(sessions))
    return "\n".join(out)


MARKDOWN: dict[str, md.Renderer] = {"factory.status/2": status_md}

# --- Rich ---------------------------------------------------------------------------------


def _run_cell(run: Any) -> Text:
    """A run in a status cell: its id, `0.6911 ± 0.0415`, and its features and hparams."""
    if not isinstance(run, dict) or not run.get("run_id"):
        return Text(text.NOTHING)
    cell = Text(str(run["run_id"]))
    primary = run.get("primary_metric") or {}
    cell.append(f"\n{text.number(primary.get('mean'))} ± {text.number(primary.get('std'))}")
    recipe = text.components(run.get("components") or {}, ("features", "hparams"))
    if recipe:
        cell.append(f"\n{recipe}", style="dim")
    return cell


def _model_notes(model: dict[str, Any]) -> list[Text]:
    """One line per thing that needs attention: interrupted runs, gates, drift, alerts, plans,
    ideas."""
    name = str(model.get("name"))
    lines: list[Text] = []

    def line(label: str, body: str, style: str = "") -> None:
        said = Text(f"{name}: ", style="bold")
        said.append(f"{label} ", style=style or "cyan")
        said.append(body)
        lines.append(said)

    for run in model.get("interrupted") or []:
        run_id = run.get("run_id") if isinstance(run, dict) else run
        line("interrupted", f"{run_id}: `factory train {name}` completes it", "red")
    for tier, gate in (model.get("gates") or {}).items():
        if isinstance(gate, dict) and gate.get("run_id"):
            verdict = (
                "pass" if gate.get("passed") else "FAIL " + ", ".join(gate.get("failed") or [])
            )
            line(f"gate {tier}", f"{gate['run_id']}: {verdict} ({gate.get('gate_id')})")
    drift = model.get("drift") or {}
    if isinstance(drift, dict) and drift.get("drift_id"):
        found = "found" if drift.get("drift_detected") else "none"
        line("drift", f"{drift.get('drift_id')}: {found} ({drift.get('drifted_count')} columns)")
    if model.get("open_alert_count"):
        line("alerts", f"{model['open_alert_count']} open (`factory alerts`)", "red")
    for plan in model.get("open_plans") or []:
        if isinstance(plan, dict):
            line("plan", f"{plan.get('plan_id')}: {plan.get('intent')}")
    for idea in model.get("next_ideas") or []:
        if isinstance(idea, dict):
            line("next idea", f"{idea.get('idea')} (from {idea.get('run_id') or text.NOTHING})")
    return lines


def _datasets(data: dict[str, Any]) -> RenderableType:
    if not data.get("datasets"):
        return Text("No datasets in factory.toml.")
    table = Table(title=title("Datasets"), title_justify="left", box=box.SIMPLE_HEAD)
    for column in ("name", "schema", "snapshots", "latest", "rows", "time range"):
        table.add_column(column, no_wrap=column == "latest", overflow="fold")
    for ds in data["datasets"]:
        add_row(
            table,
            ds.get("name"),
            ds.get("schema"),
            ds.get("snapshot_count", 0),
            ds.get("latest_snapshot_id"),
            ds.get("latest_rows"),
            _time_range(ds),
        )
    return Fitted(table)


def _models(models: list[dict[str, Any]]) -> list[RenderableType]:
    if not models:
        return [Text("No models in factory.toml.")]
    table = Table(title=title("Models"), title_justify="left", box=box.SIMPLE_HEAD)
    for column in ("model", "metric", "best", "last", "tiers"):
        table.add_column(column, no_wrap=column != "metric", overflow="fold")
    notes: list[Text] = []
    for model in models:
        arrow = {"maximize": "^", "minimize": "v"}.get(str(model.get("direction")), "")
        tiers = model.get("tiers") or {}
        held = [f"{t}\n{tiers[t]}" for t in ("staging", "prod") if tiers.get(t)]
        best, last = model.get("best_run"), model.get("last_run")
        same = (
            isinstance(best, dict)
            and isinstance(last, dict)
            and best.get("run_id") == last.get("run_id")
        )
        name = Text(str(model.get("name")))
        name.append(f"\n{text.value(model.get('task'))}", style="dim")
        name.append(f"\n{text.plural(model.get('run_count', 0), 'run')}", style="dim")
        add_row(
            table,
            name,
            f"{text.value(model.get('metric'))} {arrow}".strip(),
            _run_cell(best),
            "= best" if same else _run_cell(last),
            "\n".join(held) or text.NOTHING,
        )
        notes.extend(_model_notes(model))
    return [Fitted(table), Group(*notes)] if notes else [Fitted(table)]


def _sessions(sessions: list[dict[str, Any]]) -> RenderableType:
    if not sessions:
        return Text("No recent sessions.", style="dim")
    table = Table(
        title=title(f"Recent sessions ({text.zone()})"), title_justify="left", box=box.SIMPLE_HEAD
    )
    for column in ("session", "when", "events", "commands"):
        table.add_column(column, overflow="fold")
    for session in sessions:
        add_row(
            table,
            session.get("session_id"),
            text.span(session.get("started"), session.get("ended")),
            session.get("event_count", 0),
            ", ".join(session.get("commands") or []) or text.NOTHING,
        )
    return Fitted(table)


def status_view(data: dict[str, Any]) -> RenderableType:
    head = Text()
    head.append(f"{data.get('name')}", style="bold")
    head.append(f"  {data.get('workspace')}", style="dim")
    return Group(
        head,
        _datasets(data),
        *_models(data.get("models") or []),
        _sessions(data.get("recent_sessions") or []),
    )


RICH: dict[str, Renderer] = {"factory.status/2": status_view}
