"""What `factory status`, `factory cards` and the dashboard show of a card: `CardSummary`.

A card keeps a bounded number of runs (adrs/0023), so it parses in a few milliseconds; but
parsing needs YAML, and importing the YAML library is a tenth of a `status` call. So a
summary is kept beside the card text it was read from, in this process and in
`.factory/cache/cards/<model>.json` (plain JSON, regenerable, git-ignored): it is used only
when the card's bytes are exactly the ones it was read from, so an edit by hand, a `git
checkout` or another process's write is always read afresh. A broken card is never kept.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypedDict

from core.foundation.errors import FactoryError
from core.foundation.workspace import Workspace
from core.records.card import Card
from core.records.card_store import card_from_text, card_models, card_path

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
    path = card_path(ws, model)
    try:
        text = path.read_text(encoding="utf-8")
    except (FileNotFoundError, IsADirectoryError, NotADirectoryError):
        return CardSummary(model, False)
    except UnicodeDecodeError:
        return CardSummary(model, True, error=f"{path}: the card is not UTF-8 text")
    kept = _KEPT.get(str(path))
    if kept is not None and kept[0] == text:
        return kept[1]
    cache = ws.state_dir / "cache" / "cards" / f"{model}.json"
    summary = _cached(cache, model, text)
    if summary is None:
        try:
            summary = summarize(card_from_text(model, path, text))
        except FactoryError as exc:
            return CardSummary(model, True, error=exc.message)
        _keep(cache, text, summary)
    _KEPT[str(path)] = (text, summary)
    return summary


CACHE_FORMAT = 1
_KEPT: dict[str, tuple[str, CardSummary]] = {}
"""Card path -> (the card's text when read, its summary), for this process."""


def _cached(cache: Path, model: str, text: str) -> CardSummary | None:
    """The summary kept for exactly this card text, or None (absent, another text, damaged)."""
    try:
        raw = json.loads(cache.read_bytes())
        if raw.get("format") != CACHE_FORMAT or raw.get("code") != _code_stamp():
            return None
        if raw.get("text") != text:
            return None
        kept = raw["summary"]
        return CardSummary(
            model=model,
            exists=True,
            entries=int(kept["entries"]),
            open_plans=list(kept["open_plans"]),
            next_ideas=list(kept["next_ideas"]),
            tiers=dict(kept["tiers"]),
            best=kept["best"] if kept["best"] is None else dict(kept["best"]),
        )
    except (OSError, ValueError, TypeError, KeyError, AttributeError):
        return None


def _code_stamp() -> list[list[int]]:
    """Size and modification time of the modules that turn a card's text into a summary: a
    summary kept by another version of them is read afresh."""
    from core.records import card, card_store, fileformat

    stamps = []
    for module in (card, card_store, fileformat):
        found = os.stat(str(module.__file__))
        stamps.append([found.st_size, found.st_mtime_ns])
    found = os.stat(__file__)
    return [*stamps, [found.st_size, found.st_mtime_ns]]


def _keep(cache: Path, text: str, summary: CardSummary) -> None:
    """Best effort: a workspace on a read-only disk still answers, only without the cache."""
    from core.foundation.atomic import write_json

    try:
        cache.parent.mkdir(parents=True, exist_ok=True)
        kept = {"format": CACHE_FORMAT, "code": _code_stamp(), "text": text}
        write_json(cache, {**kept, "summary": summary.to_dict()})
        # Versions before adrs/0018 kept a pickle here. Nothing reads it (a workspace's
        # pickle is never loaded), so it goes: a file no one may open is only a trap.
        cache.with_name(f"{cache.stem}.parsed.pickle").unlink(missing_ok=True)
    except OSError:
        pass


def list_cards(ws: Workspace) -> list[CardSummary]:
    """A summary of every model's card (models in factory.toml and card files)."""
    return [card_summary(ws, model) for model in card_models(ws)]
