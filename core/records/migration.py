"""Rewriting cards in the current layout now, rather than on their next write (adrs/0023).

A migration is an ordinary card write that changes nothing the caller owns: the write itself
brings a version-1 card (every run under `entries`) to version 2 and chooses the runs it
keeps. Human text in the body is kept byte for byte, as on every write; running it again
changes nothing.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from core.foundation.ids import validate_name
from core.foundation.workspace import Workspace
from core.records.card_store import (
    card_models,
    card_path,
    new_card_meta,
    read_card,
    update_card,
)


@dataclass(frozen=True)
class CardMigration:
    model: str
    path: str
    format_before: int
    """1 for a card with every run under `entries`, else its `card_format`."""
    runs_before: int
    """Run entries the card held before."""
    runs_after: int
    """Runs the card keeps now (best, recent, and every run something names)."""
    rewritten: bool
    """Whether the file's bytes changed."""

    def to_dict(self) -> dict[str, Any]:
        return {
            "model": self.model,
            "path": self.path,
            "format_before": self.format_before,
            "runs_before": self.runs_before,
            "runs_after": self.runs_after,
            "rewritten": self.rewritten,
        }


@dataclass(frozen=True)
class Migrations:
    cards: list[CardMigration]

    JSON_PROPERTIES = ("rewritten",)

    @property
    def rewritten(self) -> int:
        """Cards this call rewrote."""
        return sum(1 for c in self.cards if c.rewritten)

    def to_dict(self) -> dict[str, Any]:
        return {
            "cards": [c.to_dict() for c in self.cards],
            "rewritten": self.rewritten,
        }


def migrate_card(ws: Workspace, model: str) -> CardMigration | None:
    """Rewrite `model`'s card in the current layout (None when it has no card file)."""
    path = card_path(ws, model)
    if not path.is_file():
        return None
    before_text = path.read_bytes()
    before = read_card(ws, model)
    raw_format = before.meta.get("card_format")
    after = update_card(ws, model, lambda _meta: None)
    for stale in ("parsed.json", "json"):
        # Caches of version-1 cards; nothing reads them any more.
        (ws.state_dir / "cache" / "cards" / f"{model}.{stale}").unlink(missing_ok=True)
    return CardMigration(
        model=model,
        path=str(path),
        format_before=raw_format if isinstance(raw_format, int) else 1,
        runs_before=len(before.entries),
        runs_after=len(after.entries),
        rewritten=path.read_bytes() != before_text,
    )


def migrate_cards(ws: Workspace, model: str | None = None) -> Migrations:
    """`migrate_card` for `model`, or for every card in the workspace."""
    if model is not None and not card_path(ws, model).is_file():
        new_card_meta(ws, model)  # an unknown model is an error, a known one has nothing to do
    models = [validate_name(model, "model")] if model is not None else card_models(ws)
    done = [migrate_card(ws, name) for name in models]
    return Migrations([m for m in done if m is not None])
