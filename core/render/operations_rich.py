"""Rich views of the operations commands: drift and gate verdicts as compact tables."""

from __future__ import annotations

from typing import Any

from rich.console import Group, RenderableType
from rich.table import Table
from rich.text import Text

from core.render.rich_text import RENDERERS


def _num(value: Any, digits: int = 3) -> str:
    if isinstance(value, bool):
        return "yes" if value else "no"
    if not isinstance(value, (int, float)):
        return "-" if value is None else str(value)
    if isinstance(value, int):
        return str(value)
    return f"{value:.{digits}g}" if abs(value) < 1e-3 and value else f"{value:.{digits}f}"


def _method(name: str) -> str:
    for long, short in ((" distance (normed)", ""), (" distance", ""), (" p_value", " p")):
        name = name.replace(long, short)
    return name[:16]


def drift_view(data: dict[str, Any]) -> RenderableType:
    verdict = "DRIFT" if data["drift_detected"] else "no drift"
    head = Text(
        f"{verdict}: {data['drifted_count']} of {data['column_count']} columns drifted "
        f"({data['share']:.0%}, threshold {data['share_threshold']:.0%})",
        style="bold red" if data["drift_detected"] else "bold green",
    )
    ref, cur = data["reference"], data["current"]
    where = Text(
        f"{ref['id']} ({ref['rows']} rows) vs {cur['id']} ({cur['rows']} rows); "
        f"features {data['features_version']}",
        style="dim",
    )
    table = Table(show_edge=False)
    for column in ("column", "src", "method", "score", "thr", "effect", "drift"):
        table.add_column(
            column, justify="right" if column in ("score", "thr", "effect") else "left"
        )
    ordered = sorted(data["columns"], key=lambda c: (not c["drifted"], -(c["effect_size"] or 0)))
    for c in ordered:
        table.add_row(
            c["column"][:24],
            c["source"][:4],
            _method(c["method"]),
            _num(c["score"]),
            _num(c["threshold"]),
            _num(c["effect_size"]),
            Text("yes", style="red")
            if c["drifted"]
            else ("test only" if c["test_drifted"] else "no"),
        )
    parts: list[RenderableType] = [head, where, table]
    for skipped in data.get("skipped") or []:
        parts.append(Text(f"skipped {skipped['column']}: {skipped['reason']}", style="yellow"))
    parts.append(Text(f"{data['report_path']}, {data['html_path']}", style="dim"))
    return Group(*parts)


def gate_view(data: dict[str, Any]) -> RenderableType:
    head = Text(
        f"{data['run_id']} -> {data['tier']}: {'PASS' if data['passed'] else 'FAIL'}"
        f" (incumbent {data['incumbent'] or 'none'})",
        style="bold green" if data["passed"] else "bold red",
    )
    table = Table(show_edge=False)
    for column in ("criterion", "value", "threshold", "pass"):
        table.add_column(column)
    notes = []
    for c in data["criteria"]:
        table.add_row(
            c["name"],
            _num(c["value"], 4),
            _num(c["threshold"], 4),
            Text("yes", style="green") if c["passed"] else Text("NO", style="bold red"),
        )
        # A failure needs its reason, and a "-" its explanation (no incumbent, no newer data).
        if c.get("note") and (not c["passed"] or c["value"] is None):
            notes.append(
                Text(f"{c['name']}: {c['note']}", style="dim" if c["passed"] else "yellow")
            )
    return Group(head, table, *notes, Text(data["report_path"], style="dim"))


RENDERERS["factory.drift/2"] = drift_view
RENDERERS["factory.gate/2"] = gate_view
