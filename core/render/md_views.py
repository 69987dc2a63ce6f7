"""Markdown renderings of `status`, `history` and `query`.

Markdown is read by assistants and pasted into notes, so times stay in UTC as in the JSON.
"""

from __future__ import annotations

from typing import Any

from core.render.markdown import RENDERERS, _cell, table
from core.render.words import model_fields


def _utc(ts: str | None) -> str:
    return ts[:16].replace("T", " ") if ts else "-"


def _plural(count: int, word: str) -> str:
    return f"{count} {word}" + ("" if count == 1 else ("es" if word.endswith("s") else "s"))


def _span(started: str | None, ended: str | None) -> str:
    if not started or not ended:
        return "-"
    if started[:10] == ended[:10]:
        return f"{_utc(started)}-{ended[11:16]} UTC"
    return f"{_utc(started)} - {_utc(ended)} UTC"


def history_md(data: dict[str, Any]) -> str:
    rng = data.get("range") or {}
    sessions = data.get("sessions") or []
    out = [
        f"Range: {_utc(rng.get('since')) if rng.get('since') else 'the beginning'} -> "
        f"{_utc(rng.get('until')) if rng.get('until') else 'now'} UTC; "
        f"{len(sessions)} of {data.get('total_sessions', len(sessions))} session(s); "
        f"{data.get('hidden', 0)} read-only command(s) hidden"
        + ("" if data.get("include_read_only") else " (`--all` shows them)")
        + ".\n"
    ]
    if not sessions:
        out.append("_Nothing happened in this range._\n")
    for session in sessions:
        out.append(f"## {session.get('session_id')}\n")
        facts = [
            f"{session.get('kind')} session",
            _span(session.get("started"), session.get("ended")),
            _plural(session.get("events", 0), "event"),
            _plural(session.get("processes", 0), "process"),
        ]
        if session.get("failures"):
            facts.append(f"**{session['failures']} failed**")
        out.append(", ".join(facts) + "\n")
        rows = []
        if session.get("lines_omitted"):
            rows.append(
                {"time": "", "what": f"... {session['lines_omitted']} earlier lines", "x": ""}
            )
        for line in session.get("lines") or []:
            what = f"`{line.get('text')}`" if line.get("ok", True) else f"**`{line.get('text')}`**"
            repeat = line.get("repeat", 1)
            rows.append(
                {"time": line.get("ts", "")[11:16], "what": what, "x": repeat if repeat > 1 else ""}
            )
        out.append(table(rows, ["time", "what", "x"]))
    for note in data.get("notes") or []:
        out.append(f"_{note}_\n")
    return "\n".join(out)


def status_md(data: dict[str, Any]) -> str:
    out = [f"Workspace **{data.get('name')}** at `{data.get('workspace')}`\n", "## Datasets\n"]
    out.append(
        table(
            [
                {
                    "name": d.get("name"),
                    "schema": d.get("schema"),
                    "snapshots": d.get("snapshots"),
                    "latest": d.get("latest_snapshot"),
                    "rows": d.get("latest_rows"),
                    "time range": " .. ".join(
                        str(t)[:10] for t in d.get("latest_time_range") or []
                    ),
                }
                for d in data.get("datasets") or []
            ]
        )
    )
    out.append("## Models\n")
    models = data.get("models") or []
    out.append(
        table(
            [
                {
                    "name": m.get("name"),
                    "task": m.get("task"),
                    "dataset": m.get("dataset"),
                    "metric": f"{m.get('primary_metric')} ({m.get('direction')})",
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
            out.append(f"{hint[0]}: `{hint[1]}`\n")
        for key, text in fields:
            label = key.replace("_", " ")
            lines = text.split("\n")
            if len(lines) == 1:
                out.append(f"- **{label}**: {text}")
            else:
                out.append(f"- **{label}**:")
                out.extend(f"  - {line}" for line in lines)
        if fields:
            out.append("")
    out.append("## Recent sessions\n")
    out.append(
        table(
            [
                {
                    "session": s.get("session_id"),
                    "when": _span(s.get("started"), s.get("ended")),
                    "events": s.get("events"),
                    "commands": ", ".join(s.get("commands") or []),
                }
                for s in data.get("recent_sessions") or []
            ]
        )
    )
    return "\n".join(out)


def query_md(data: dict[str, Any]) -> str:
    if "tables" in data:
        out = []
        for view in data.get("tables") or []:
            out.append(f"## {view.get('name')}\n\n{view.get('description', '')}\n")
            out.append(table(view.get("columns") or [], ["name", "type"]))
        return "\n".join(out) or "_No views._\n"
    columns = data.get("columns") or []
    out = [f"```sql\n{data.get('sql', '').strip()}\n```\n"]
    out.append(table(data.get("rows") or [], columns) if columns else "_no columns_\n")
    more = " (more matched: raise `--limit`)" if data.get("truncated") else ""
    out.append(f"{data.get('row_count', 0)} row(s){more} in {_cell(data.get('elapsed_ms'))} ms\n")
    return "\n".join(out)


RENDERERS["factory.history/1"] = history_md
RENDERERS["factory.status/1"] = status_md
RENDERERS["factory.query/1"] = query_md
