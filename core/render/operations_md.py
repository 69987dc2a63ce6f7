"""Markdown views of the operations commands: drift and gate verdicts as tables."""

from __future__ import annotations

from typing import Any

from core.render.markdown import RENDERERS


def _num(value: Any) -> str:
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        return f"{value:.4g}"
    return "" if value is None else str(value)


def drift_md(data: dict[str, Any]) -> str:
    lines = [
        f"## drift {data['drift_id']}",
        "",
        f"**{'Drift' if data['drift_detected'] else 'No drift'}**: {data['drifted_count']} of "
        f"{data['column_count']} columns drifted ({data['share']:.0%}; threshold "
        f"{data['share_threshold']:.0%}). Reference {data['reference']['id']}, current "
        f"{data['current']['id']}. HTML: `{data['html_path']}`.",
        "",
        "| column | source | method | score | threshold | effect | drifted |",
        "|---|---|---|---|---|---|---|",
    ]
    for c in data["columns"]:
        lines.append(
            f"| {c['column']} | {c['source']} | {c['method']} | {_num(c['score'])} | "
            f"{_num(c['threshold'])} | {_num(c['effect_size'])} | {_num(c['drifted'])} |"
        )
    return "\n".join(lines) + "\n"


def gate_md(data: dict[str, Any]) -> str:
    lines = [
        f"## gate {data['gate_id']}",
        "",
        f"**{'Pass' if data['passed'] else 'Fail'}**: {data['run_id']} to {data['tier']} "
        f"(incumbent {data['incumbent'] or 'none'}).",
        "",
        "| criterion | value | threshold | pass | note |",
        "|---|---|---|---|---|",
    ]
    for c in data["criteria"]:
        note = str(c.get("note") or "").replace("|", "\\|")
        lines.append(
            f"| {c['name']} | {_num(c['value'])} | {_num(c['threshold'])} | "
            f"{_num(c['passed'])} | {note} |"
        )
    return "\n".join(lines) + "\n"


RENDERERS["factory.drift/2"] = drift_md
RENDERERS["factory.gate/2"] = gate_md
