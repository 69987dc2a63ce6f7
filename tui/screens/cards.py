"""Cards: every model's card (`factory cards`), and the chosen one (`factory card MODEL`)
with its registry summary above its Markdown body."""

from __future__ import annotations

from typing import Any, ClassVar

from textual.app import ComposeResult
from textual.widgets import Footer, Header, OptionList

from tui import data
from tui.screens.base import Banner, FactoryScreen
from tui.widgets.doc_browser import DocBrowser
from tui.widgets.nav_bar import NavBar


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


class CardsScreen(FactoryScreen):
    MODE = "cards"
    AUTO_FOCUS = "#doc-list"
    AREAS: ClassVar[frozenset[str]] = frozenset({"cards", "config"})

    def __init__(self) -> None:
        super().__init__()
        self.selected: str | None = None

    def compose(self) -> ComposeResult:
        yield Header()
        yield Banner(id="banner")
        yield DocBrowser(id="cards")
        yield NavBar(self.MODE)
        yield Footer(compact=True)

    def load_key(self) -> str:
        return self.selected or ""

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
        items = [(s["model"], summary_label(s)) for s in payload["summaries"]]
        self.selected = payload["model"] or None
        self._requested_key = self.load_key()
        browser = self.query_one(DocBrowser)
        browser.set_items(items, self.selected)
        broken = next(
            (
                s["error"]
                for s in payload["summaries"]
                if s["model"] == self.selected and s.get("error")
            ),
            None,
        )
        if payload["card"] is None:
            browser.set_document("No models yet: add a `[models.NAME]` table to factory.toml.")
        else:
            browser.set_document(card_markdown(payload["card"]))
        if broken:
            self.query_one("#banner", Banner).show(broken, error=True)

    def on_option_list_option_highlighted(self, event: OptionList.OptionHighlighted) -> None:
        if event.option.id and event.option.id != self.selected:
            self.selected = event.option.id
            self.reload()
