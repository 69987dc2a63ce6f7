"""Cards: every model's card (`factory cards`), and the chosen one (`factory card MODEL`)
with its registry summary above its Markdown body."""

from __future__ import annotations

from typing import Any, ClassVar

from tui import data
from tui.screens.base import Banner, DocScreen


def card_markdown(card: dict[str, Any]) -> str:
    """The card's own body: its generated summary already names the best run and the tiers,
    so nothing from the frontmatter is repeated (the raw entry would show host facts)."""
    if not card.get("exists", True):
        return "*No card file yet: it is written on the first plan or run.*\n\n" + str(
            card.get("body") or ""
        )
    return str(card.get("body") or "")


def summary_label(summary: dict[str, Any]) -> str:
    if summary.get("error"):
        return f"{summary['model']}  (broken)"
    if not summary.get("exists"):
        return f"{summary['model']}  (no card yet)"
    tiers = ",".join(sorted((summary.get("tiers") or {}).keys()))
    return f"{summary['model']}  {summary.get('entries', 0)} runs" + (
        f"  [{tiers}]" if tiers else ""
    )


class CardsScreen(DocScreen):
    MODE = "cards"
    AREAS: ClassVar[frozenset[str]] = frozenset({"cards", "config"})

    def fetch(self, key: str) -> Any:
        summaries = data.card_summaries(self.ws)
        models = [s["model"] for s in summaries]
        model = key if key in models else (models[0] if models else "")
        return {
            "summaries": summaries,
            "model": model,
            "card": data.card(self.ws, model) if model else None,
        }

    def show_data(self, payload: dict[str, Any]) -> None:
        self.show_documents(
            [(s["model"], summary_label(s)) for s in payload["summaries"]],
            payload["model"],
            card_markdown(payload["card"])
            if payload["card"] is not None
            else "No models yet: add a `[models.NAME]` table to factory.toml.",
        )
        broken = next(
            (
                s["error"]
                for s in payload["summaries"]
                if s["model"] == self.selected and s.get("error")
            ),
            None,
        )
        if broken:
            self.query_one("#banner", Banner).show(broken, error=True)
