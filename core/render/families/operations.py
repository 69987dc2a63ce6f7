"""The operations family (`core/cli/commands/operations.py`): drift and gate verdicts as
tables; Markdown first, then Rich. Promote, rollback, tiers, predict, trace, check new-data
and alerts read well in the generic layout."""

from __future__ import annotations

from typing import Any

from rich.console import Group, RenderableType
from rich.table import Table
from rich.text import Text

from core.render import markdown as md
from core.render import text
from core.render.rich_text import Fitted, Renderer, add_row


def _side(side: dict[str, Any]) -> str:
    """`r-e9a671f159c7 on ds-b08231b62481 (1461 rows)`: a run's data, or a snapshot's."""
    on = f" on {side['snapshot_id']}" if side.get("snapshot_id") not in (None, side["id"]) else ""
    return f"{side['id']}{on} ({side.get('rows')} rows)"


# --- Markdown -----------------------------------------------------------------------------


def _drift_head(data: dict[str, Any]) -> str:
    return (
        f"{data['drifted_count']} of {data['column_count']} columns drifted "
        f"({text.percent(data['share'])}, threshold {text.percent(data['share_threshold'])})"
    )


def drift_md(data: dict[str, Any]) -> str:
    verdict = "Drift" if data["drift_detected"] else "No drift"
    rows = [
        [
            c["column"],
            c["source"],
            c["method"],
            text.number(c["score"]),
            text.number(c["threshold"]),
            text.number(c["effect_size"]),
            c["drifted"],
        ]
        for c in data["columns"]
    ]
    return (
        f"## drift {md.code(data['drift_id'])}\n\n"
        f"**{verdict}**: {_drift_head(data)}. Reference {_side(data['reference'])}, "
        f"current {_side(data['current'])}. HTML: {md.code(data['html_path'])}.\n\n"
        + md.grid(["column", "source", "method", "score", "threshold", "effect", "drifted"], rows)
    )


def gate_md(data: dict[str, Any]) -> str:
    rows = [
        [c["name"], _criterion(c["value"]), _criterion(c["threshold"]), c["passed"], c.get("note")]
        for c in data["criteria"]
    ]
    return (
        f"## gate {md.code(data['gate_id'])}\n\n"
        f"**{'Pass' if data['passed'] else 'Fail'}**: {md.code(data['run_id'])} to "
        f"{data['tier']} (incumbent {md.code(data['incumbent']) if data['incumbent'] else 'none'}).\n\n"
        + md.grid(["criterion", "value", "threshold", "pass", "note"], rows)
    )


def _criterion(value: Any) -> str:
    """A criterion's value or threshold: a number, a word (`passed`), or what changed."""
    return text.number(value) if isinstance(value, float) else text.value(value)


MARKDOWN: dict[str, md.Renderer] = {
    "factory.drift/2": drift_md,
    "factory.gate/2": gate_md,
}

# --- Rich ---------------------------------------------------------------------------------


def _method(name: str) -> str:
    """`Wasserstein distance (normed)` -> `Wasserstein`, `K-S p_value` -> `K-S p`."""
    for long, short in ((" distance (normed)", ""), (" distance", ""), (" p_value", " p")):
        name = name.replace(long, short)
    return name


def drift_view(data: dict[str, Any]) -> RenderableType:
    verdict = "DRIFT" if data["drift_detected"] else "no drift"
    head = Text(
        f"{verdict}: {_drift_head(data)}",
        style="bold red" if data["drift_detected"] else "bold green",
    )
    where = Text(
        f"{_side(data['reference'])} vs {_side(data['current'])}; "
        f"features {data['features_version']}",
        style="dim",
    )
    table = Table(show_edge=False, pad_edge=False)
    for column in ("column", "src", "method", "score", "thr", "effect", "drift"):
        numeric = column in ("score", "thr", "effect")
        table.add_column(column, justify="right" if numeric else "left", overflow="fold")
    ordered = sorted(data["columns"], key=lambda c: (not c["drifted"], -(c["effect_size"] or 0)))
    for c in ordered:
        add_row(
            table,
            c["column"],
            c["source"][:4],
            _method(c["method"]),
            text.number(c["score"]),
            text.number(c["threshold"]),
            text.number(c["effect_size"]),
            Text("yes", style="red")
            if c["drifted"]
            else ("test only" if c["test_drifted"] else "no"),
        )
    parts: list[RenderableType] = [head, where, Fitted(table)]
    for skipped in data.get("skipped") or []:
        parts.append(Text(f"skipped {skipped['column']}: {skipped['reason']}", style="yellow"))
    parts.append(
        Text(f"{data['drift_id']}: {data['report_path']}, {data['html_path']}", style="dim")
    )
    return Group(*parts)


def gate_view(data: dict[str, Any]) -> RenderableType:
    head = Text(
        f"{data['run_id']} -> {data['tier']}: {'PASS' if data['passed'] else 'FAIL'}"
        f" (incumbent {data['incumbent'] or 'none'})",
        style="bold green" if data["passed"] else "bold red",
    )
    table = Table(show_edge=False, pad_edge=False)
    for column in ("criterion", "value", "threshold", "pass"):
        table.add_column(column, overflow="fold")
    notes = []
    for c in data["criteria"]:
        add_row(
            table,
            c["name"],
            _criterion(c["value"]),
            _criterion(c["threshold"]),
            Text("yes", style="green") if c["passed"] else Text("NO", style="bold red"),
        )
        # A failure needs its reason, and a "-" its explanation (no incumbent, no newer data).
        if c.get("note") and (not c["passed"] or c["value"] is None):
            notes.append(
                Text(f"{c['name']}: {c['note']}", style="dim" if c["passed"] else "yellow")
            )
    newest = f"; newest snapshot {data['newest_snapshot']}" if data.get("newest_snapshot") else ""
    where = Text(f"{data['gate_id']}: {data['report_path']}{newest}", style="dim")
    return Group(head, Fitted(table), *notes, where)


RICH: dict[str, Renderer] = {
    "factory.drift/2": drift_view,
    "factory.gate/2": gate_view,
}
