"""What `factory status`, `factory cards` and the dashboard show of a card: `CardSummary`.

A card keeps a bounded number of runs (adrs/0023), so it parses in about a millisecond and a
summary is read from the card itself every time, with no cache beside it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, TypedDict

from core.foundation.errors import FactoryError
from core.foundation.workspace import Workspace
from core.records.card import Card
from core.records.card_store import card_models, card_path, read_card

SUMMARY_NEXT_IDEAS = 5


class OpenPlan(TypedDict):
    """A plan not yet trained: what it means to try and what it expects."""

    plan_id: str
    intent: str
    expect: str | None
    components: dict[str, str]


class NextIdea(TypedDict):
    """A note's `next`: an idea written down after a run, newest first."""

    idea: str
    run_id: str | None
    created_at: str | None


@dataclass(frozen=True)
class CardSummary:
    """What `factory status` shows from a card."""

    model: str
    exists: bool
    entries: int = 0
    """How many runs the model had when the card was last written (`run_count`)."""
    open_plans: list[OpenPlan] = field(default_factory=list)
    next_ideas: list[NextIdea] = field(default_factory=list)
    tiers: dict[str, Any] = field(default_factory=dict)
    best: dict[str, Any] | None = None
    error: str | None = None
    """Why the card could not be read (a broken frontmatter), else None."""

    def to_dict(self) -> dict[str, Any]:
        return {
            "model": self.model,
            "exists": self.exists,
            "entries": self.entries,
            "open_plans": self.open_plans,
            "next_ideas": self.next_ideas,
            "tiers": self.tiers,
            "best": self.best,
            "error": self.error,
        }


def summarize(card: Card) -> CardSummary:
    open_plans: list[OpenPlan] = [
        {"plan_id": p.plan_id, "intent": p.intent, "expect": p.expect, "components": p.components}
        for p in card.plans
        if p.status == "planned"
    ]
    ideas: list[NextIdea] = [
        {"idea": n["next"], "run_id": n.get("run_id"), "created_at": n.get("created_at")}
        for n in reversed(card.notes)
        if n.get("next")
    ]
    ideas = ideas[:SUMMARY_NEXT_IDEAS]
    best = card.best
    tiers = card.meta.get("tiers") or {}
    return CardSummary(
        model=card.model,
        exists=card.exists,
        entries=card.run_count,
        open_plans=open_plans,
        next_ideas=ideas,
        tiers=dict(tiers) if isinstance(tiers, dict) else {},
        best={"run_id": best["run_id"], **(best.get("metric") or {})} if best else None,
    )


def card_summary(ws: Workspace, model: str) -> CardSummary:
    """The card's summary; a broken card gives a summary naming the problem (never raises
    for it), so `status` still answers."""
    if not card_path(ws, model).is_file():
        return CardSummary(model, False)
    try:
        return summarize(read_card(ws, model))
    except FactoryError as exc:
        return CardSummary(model, True, error=exc.message)


def list_cards(ws: Workspace) -> list[CardSummary]:
    """A summary of every model's card (models in factory.toml and card files)."""
    return [card_summary(ws, model) for model in card_models(ws)]
