"""Status section from the model cards: open plans and next ideas from notes (the tiers are
the operations section's).

Reads the card's summary (`card_summary`): a card keeps a bounded number of runs
(adrs/0023), so it parses in about a millisecond at any run count.
"""

from __future__ import annotations

from typing import Any

from core.foundation.suggest import Next, factory, low
from core.foundation.workspace import Workspace
from core.records.summary import card_summary


def cards_section(ws: Workspace, model: str) -> tuple[dict[str, Any], list[Next]]:
    summary = card_summary(ws, model)
    fields: dict[str, Any] = {
        "open_plans": summary.open_plans,
        "next_ideas": summary.next_ideas,
        "card": {"exists": summary.exists, "run_count": summary.entries, "error": summary.error},
    }
    next_commands = [
        Next(
            factory("train", model, "--plan", str(p["plan_id"])),
            f"plan {p['plan_id']} is written but not trained: trains its components and "
            "checks its expectation",
        )
        for p in summary.open_plans[:3]
    ]
    if summary.exists and not summary.open_plans and summary.next_ideas:
        # A plan needs the components the idea changes, which only a person can name: show
        # the versions to choose from rather than a plan of the defaults (refused).
        next_commands.append(
            low(
                factory("components"),
                f"the idea {_short(summary.next_ideas[0]['idea'])} has no plan yet: the "
                "component versions a plan can pin",
            )
        )
    return fields, next_commands


def _short(text: str, width: int = 48) -> str:
    text = " ".join(str(text).split())
    return repr(text if len(text) <= width else text[: width - 1] + "…")
