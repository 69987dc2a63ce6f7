"""The history family (`core/cli/commands/history.py`): sessions and what was typed in them.

Markdown is read by assistants and pasted into notes, so its times stay in UTC as in the
JSON; Rich answers "what did I do on Saturday" in the reader's own day, so it shows local
times and names the zone."""

from __future__ import annotations

from typing import Any

from rich import box
from rich.console import Group, RenderableType
from rich.panel import Panel
from rich.table import Table
from rich.text import Text

from core.render import markdown as md
from core.render import text
from core.render.rich_text import Renderer, add_row

# --- Markdown -----------------------------------------------------------------------------


def history_md(data: dict[str, Any]) -> str:
    rng = data.get("range") or {}
    sessions = data.get("sessions") or []
    since = text.when(rng["since"]) if rng.get("since") else "the beginning"
    until = text.when(rng["until"]) if rng.get("until") else "now"
    out = [
        f"Range: {since} -> {until} UTC; "
        f"{len(sessions)} of {text.plural(data.get('total_sessions', len(sessions)), 'session')}; "
        f"{text.plural(data.get('hidden', 0), 'read-only command')} hidden"
        + ("" if data.get("include_read_only") else " (`--all` shows them)")
        + ".\n"
    ]
    if not sessions:
        out.append("_Nothing happened in this range._\n")
    for session in sessions:
        out.append(f"## {session.get('session_id')}\n")
        facts = [
            f"{session.get('kind')} session",
            text.span_utc(session.get("started"), session.get("ended")),
            text.plural(session.get("events", 0), "event"),
            text.plural(session.get("processes", 0), "process"),
        ]
        if session.get("failures"):
            facts.append(f"**{session['failures']} failed**")
        out.append(", ".join(facts) + "\n")
        rows: list[list[Any]] = []
        if session.get("lines_omitted"):
            rows.append(["", f"... {session['lines_omitted']} earlier lines", ""])
        for line in session.get("lines") or []:
            typed = md.code(line.get("text"))
            repeat = line.get("repeat", 1)
            rows.append(
                [
                    text.clock(line.get("ts")),
                    typed if line.get("ok", True) else f"**{typed}**",
                    repeat if repeat > 1 else "",
                ]
            )
        out.append(md.grid(["time", "what", "x"], rows))
    out += [f"_{note}_\n" for note in data.get("notes") or []]
    return "\n".join(out)


MARKDOWN: dict[str, md.Renderer] = {"factory.history/1": history_md}

# --- Rich ---------------------------------------------------------------------------------


def history_view(data: dict[str, Any]) -> RenderableType:
    parts: list[RenderableType] = []
    rng = data.get("range") or {}
    since = text.local(rng["since"], "%Y-%m-%d %H:%M") if rng.get("since") else "the beginning"
    until = text.local(rng["until"], "%Y-%m-%d %H:%M") if rng.get("until") else "now"
    header = Text()
    header.append("History ", style="bold")
    header.append(f"{since} -> {until} ({text.zone()})")
    sessions = data.get("sessions") or []
    summary = text.plural(len(sessions), "session")
    if data.get("total_sessions", 0) > len(sessions):
        summary += f" of {data['total_sessions']} (--limit)"
    if data.get("hidden"):
        summary += f", {text.plural(data['hidden'], 'read-only command')} hidden (--all)"
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
            add_row(body, "", Text(f"... {session['lines_omitted']} earlier lines", style="dim"))
        for line in session.get("lines") or []:
            typed = Text(line.get("text") or "", style="" if line.get("ok", True) else "red")
            if line.get("repeat", 1) > 1:
                typed.append(f"  x{line['repeat']}", style="bold")
            add_row(body, text.local(line.get("ts"), "%H:%M"), typed)
        facts = [
            session.get("kind", ""),
            text.span(session.get("started"), session.get("ended")),
            text.duration(session.get("duration_s")),
            text.plural(session.get("events", 0), "event"),
        ]
        if session.get("failures"):
            facts.append(f"{session['failures']} failed")
        parts.append(
            Panel(
                body,
                title=Text(str(session.get("session_id")), style="bold cyan"),
                title_align="left",
                subtitle=Text(" - ".join(f for f in facts if f)),
                subtitle_align="right",
                box=box.ROUNDED,
            )
        )
    parts += [Text(note, style="dim") for note in data.get("notes") or []]
    return Group(*parts)


RICH: dict[str, Renderer] = {"factory.history/1": history_view}
