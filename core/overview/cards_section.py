"""Status section from the model cards: open plans and next ideas from notes (the tiers are
the operations section's).

Reads the card's summary (`card_summary`): a card keeps a bounded number of runs
(adrs/0023), so it parses in about a millisecond at any run count.
"""

from __future__ import annotations

from typing import Any

from core.foundation.workspace import Workspace
from core.records.summary import card_summary


def cards_section(ws: Workspace, model: str) -> tuple[dict[str, Any], list[str]]:
    summary = card_summary(ws, model)
    fields: dict[str, Any] = {
        "open_plans": summary.open_plans,
        "next_ideas": summary.next_ideas,
        "card": {"exists": summary.exists, "entries": summary.entries, "error": summary.error},
    }
    next_commands = [f"factory train {model} --plan {p['plan_id']}" for p in summary.open_plans[:3]]
    if summary.exists and not summary.open_plans and summary.next_ideas:
        next_commands.append(
            f"factory plan {model} --intent {_quote(summary.next_ideas[0]['idea'])}"
        )
    return fields, next_commands


def _quote(text: str) -> str:
    import shlex

    return shlex.quote(text)
