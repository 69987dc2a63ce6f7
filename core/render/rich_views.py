"""Rich renderings for people of `status`, `history` and `query`, readable at 80 columns.

Times in the JSON are UTC; here they are shown in the reader's local time zone, which
the header names.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from rich import box
from rich.columns import Columns
from rich.console import Group, RenderableType
from rich.padding import Padding
from rich.panel import Panel
from rich.table import Table
from rich.text import Text

from core.render.rich_text import RENDERERS, cell


def _moment(ts: str | None) -> datetime | None:
    if not ts:
        return None
    try:
        return datetime.fromisoformat(ts.replace("Z", "+00:00")).astimezone()
    except ValueError:
        return None


def when(ts: str | None, fmt: str = "%a %Y-%m-%d %H:%M") -> str:
    moment = _moment(ts)
    return moment.strftime(fmt) if moment else "-"


def span(started: str | None, ended: str | None) -> str:
    """`Sat 2026-11-21 09:00-09:50`, or with both dates when the span crosses midnight."""
    start, end = _moment(started), _moment(ended)
    if not start or not end:
        return "-"
    if start.date() == end.date():
        return f"{start:%a %Y-%m-%d %H:%M}-{end:%H:%M}"
    return f"{start:%a %Y-%m-%d %H:%M} - {end:%a %Y-%m-%d %H:%M}"


def duration(seconds: float | None) -> str:
    if seconds is None:
        return "-"
    minutes = round(seconds / 60)
    if minutes < 1:
        return f"{seconds:.0f}s"
    if minutes < 90:
        return f"{minutes}m"
    return f"{minutes // 60}h{minutes % 60:02d}m"


def _zone() -> str:
    return datetime.now().astimezone().strftime("%Z") or "local"


def _plural(count: int, word: str) -> str:
    return f"{count} {word}" + ("" if count == 1 else "s")


def history_view(data: dict[str, Any]) -> RenderableType:
    parts: list[RenderableType] = []
    rng = data.get("range") or {}
    since = when(rng.get("since"), "%Y-%m-%d %H:%M") if rng.get("since") else "the beginning"
    until = when(rng.get("until"), "%Y-%m-%d %H:%M") if rng.get("until") else "now"
    header = Text()
    header.append("History ", style="bold")
    header.append(f"{since} -> {until} ({_zone()})")
    sessions = data.get("sessions") or []
    summary = f"{_plural(len(sessions), 'session')}"
    if data.get("total_sessions", 0) > len(sessions):
        summary += f" of {data['total_sessions']} (--limit)"
    if data.get("hidden"):
        summary += f", {_plural(data['hidden'], 'read-only command')} hidden (--all)"
    if data.get("session_filter"):
        summary += f", session {data['session_filter']}"
    parts.append(header)
    parts.append(Text(summary, style="dim"))
    if not sessions:
        parts.append(Text("Nothing happened in this range.", style="italic"))
    for session in sessions:
        body = Table.grid(padding=(0, 1))
        body.add_column(style="dim", no_wrap=True)
        body.add_column(overflow="fold")
        if session.get("lines_omitted"):
            body.add_row("", Text(f"... {session['lines_omitted']} earlier lines", style="dim"))
        for line in session.get("lines") or []:
            text = Text(line.get("text") or "", style="" if line.get("ok", True) else "red")
            if line.get("repeat", 1) > 1:
                text.append(f"  x{line['repeat']}", style="bold")
            body.add_row(when(line.get("ts"), "%H:%M"), text)
        facts = [
            session.get("kind", ""),
            span(session.get("started"), session.get("ended")),
            duration(session.get("duration_s")),
            _plural(session.get("events", 0), "event"),
        ]
        if session.get("failures"):
            facts.append(f"{session['failures']} failed")
        title = Text(str(session.get("session_id")), style="bold cyan")
        parts.append(
            Panel(
                body,
                title=title,
                title_align="left",
                subtitle=" - ".join(f for f in facts if f),
                subtitle_align="right",
                box=box.ROUNDED,
            )
        )
    for note in data.get("notes") or []:
        parts.append(Text(note, style="dim"))
    return Group(*parts)


def _run_brief(run: Any) -> str:
    """`r-abc 0.691 ± 0.041` and its features/hparams, for a status cell."""
    if not isinstance(run, dict) or not run.get("run_id"):
        return "-"
    components = run.get("components") or {}
    recipe = " ".join(str(components[k]) for k in ("features", "hparams") if components.get(k))
    mean, std = run.get("mean"), run.get("std")
    score = (
        f"{mean:.4g} ± {std:.2g}"
        if isinstance(mean, float) and isinstance(std, float)
        else cell(mean)
    )
    return f"{run['run_id']}\n{score}\n[dim]{recipe}[/dim]"


def _model_notes(model: dict[str, Any]) -> list[Text]:
    """One line per thing that needs attention: interrupted runs, gates, drift, alerts, plans,
    ideas."""
    name = str(model.get("name"))
    lines: list[Text] = []

    def line(label: str, body: str, style: str = "") -> None:
        text = Text(f"{name}: ", style="bold")
        text.append(f"{label} ", style=style or "cyan")
        text.append(body)
        lines.append(text)

    for run in model.get("interrupted") or []:
        run_id = run.get("run_id") if isinstance(run, dict) else run
        line("interrupted", f"{run_id}: `factory train {name}` completes it", "red")
    for tier, gate in (model.get("gates") or {}).items():
        if isinstance(gate, dict) and gate.get("run_id"):
            verdict = (
                "pass" if gate.get("passed") else "FAIL " + ", ".join(gate.get("failed") or [])
            )
            line(f"gate {tier}", f"{gate['run_id']}: {verdict}")
    drift = model.get("drift") or {}
    if isinstance(drift, dict) and drift.get("drift_id"):
        found = "found" if drift.get("drift_detected") else "none"
        line("drift", f"{drift.get('drift_id')}: {found} ({drift.get('drifted')} columns)")
    if model.get("open_alert_count"):
        line("alerts", f"{model['open_alert_count']} open (`factory alerts`)", "red")
    for plan in model.get("open_plans") or []:
        if isinstance(plan, dict):
            line("plan", f"{plan.get('plan_id')}: {plan.get('intent')}")
    for idea in model.get("next_ideas") or []:
        if isinstance(idea, dict):
            line("next idea", str(idea.get("idea")))
    return lines


def status_view(data: dict[str, Any]) -> RenderableType:
    parts: list[RenderableType] = []
    head = Text()
    head.append(f"{data.get('name')}", style="bold")
    head.append(f"  {data.get('workspace')}", style="dim")
    parts.append(head)

    datasets = Table(title="Datasets", title_justify="left", box=box.SIMPLE_HEAD, expand=False)
    for column in ("name", "schema", "snapshots", "latest", "rows", "time range"):
        datasets.add_column(column, overflow="fold")
    for ds in data.get("datasets") or []:
        time_range = ds.get("latest_time_range") or []
        datasets.add_row(
            ds.get("name"),
            cell(ds.get("schema")),
            str(ds.get("snapshots", 0)),
            cell(ds.get("latest_snapshot")),
            cell(ds.get("latest_rows")),
            " .. ".join(str(t)[:10] for t in time_range) if time_range else "-",
        )
    parts.append(datasets if data.get("datasets") else Text("No datasets in factory.toml."))

    models = data.get("models") or []
    if models:
        table = Table(title="Models", title_justify="left", box=box.SIMPLE_HEAD, expand=False)
        for column in ("model", "metric", "runs", "best", "last", "tiers"):
            table.add_column(column, no_wrap=column in ("model", "best", "last", "tiers"))
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
            table.add_row(
                f"{model.get('name')}\n[dim]{cell(model.get('task'))}[/dim]",
                f"{cell(model.get('primary_metric'))} {arrow}".strip(),
                cell(model.get("runs", 0)),
                _run_brief(best),
                "= best" if same else _run_brief(last),
                "\n".join(held) or "-",
            )
            notes.extend(_model_notes(model))
        parts.append(table)
        if notes:
            parts.append(Group(*notes))
    else:
        parts.append(Text("No models in factory.toml."))

    sessions = data.get("recent_sessions") or []
    if sessions:
        table = Table(title="Recent sessions", title_justify="left", box=box.SIMPLE_HEAD)
        for column in ("session", "when", "events", "commands"):
            table.add_column(column, overflow="fold")
        for session in sessions:
            table.add_row(
                session.get("session_id"),
                span(session.get("started"), session.get("ended")),
                str(session.get("events", 0)),
                ", ".join(session.get("commands") or []) or "-",
            )
        parts.append(table)
    else:
        parts.append(Text("No recent sessions.", style="dim"))
    return Group(*parts)


def query_view(data: dict[str, Any]) -> RenderableType:
    if "tables" in data:
        parts: list[RenderableType] = []
        for table in data.get("tables") or []:
            title = Text(str(table.get("name")), style="bold cyan")
            title.append(f"  {table.get('description', '')}", style="dim")
            parts.append(title)
            entries = []
            for column in table.get("columns") or []:
                entry = Text(str(column.get("name")))
                entry.append(f" {column.get('type')}", style="dim")
                entries.append(entry)
            parts.append(Padding(Columns(entries, padding=(0, 2)), (0, 0, 1, 2)))
        return Group(*parts) if parts else Text("No views.")
    columns = data.get("columns") or []
    rows = data.get("rows") or []
    table = Table(box=box.SIMPLE_HEAD, expand=False)
    for name, kind in zip(columns, data.get("types") or [""] * len(columns), strict=False):
        numeric = any(t in str(kind) for t in ("INT", "DOUBLE", "FLOAT", "DECIMAL", "REAL"))
        table.add_column(str(name), justify="right" if numeric else "left", overflow="fold")
    for row in rows:
        table.add_row(*(cell(row.get(name)) for name in columns))
    footer = _plural(data.get("row_count", len(rows)), "row")
    if data.get("truncated"):
        footer += " (more matched: raise --limit)"
    footer += f" in {data.get('elapsed_ms', 0):.0f} ms"
    return Group(table, Text(footer, style="dim"))


RENDERERS["factory.history/1"] = history_view
RENDERERS["factory.status/1"] = status_view
RENDERERS["factory.query/1"] = query_view
