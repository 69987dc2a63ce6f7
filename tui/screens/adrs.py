"""ADRs: the decision records (`factory adr list`), and the chosen one rendered
(`factory adr show N`)."""

from __future__ import annotations

from typing import Any, ClassVar

from textual.app import ComposeResult
from textual.widgets import Footer, Header, OptionList

from tui import data
from tui.screens.base import Banner, FactoryScreen
from tui.widgets.doc_browser import DocBrowser
from tui.widgets.nav_bar import NavBar


def adr_label(adr: dict[str, Any]) -> str:
    return f"{adr['number']:04d} [{adr['status']}] {adr['title']}"


def adr_markdown(adr: dict[str, Any]) -> str:
    links = []
    if adr.get("supersedes"):
        links.append(f"supersedes {adr['supersedes']:04d}")
    if adr.get("superseded_by"):
        links.append(f"superseded by {adr['superseded_by']:04d}")
    facts = " · ".join(
        [f"**{adr['status']}**", adr.get("date") or "undated", *links, *adr.get("tags", [])]
    )
    return f"{facts}\n\n{adr.get('body') or ''}"


class AdrsScreen(FactoryScreen):
    MODE = "adrs"
    AUTO_FOCUS = "#doc-list"
    AREAS: ClassVar[frozenset[str]] = frozenset({"adrs"})

    def __init__(self) -> None:
        super().__init__()
        self.selected: str | None = None

    def compose(self) -> ComposeResult:
        yield Header()
        yield Banner(id="banner")
        yield DocBrowser(id="adrs")
        yield NavBar(self.MODE)
        yield Footer(compact=True)

    def load_key(self) -> str:
        return self.selected or ""

    def fetch(self, key: str) -> Any:
        adrs = data.adr_list(self.ws)
        numbers = [str(a["number"]) for a in adrs]
        ref = key if key in numbers else (numbers[-1] if numbers else "")
        return {"adrs": adrs, "ref": ref, "adr": data.adr_show(self.ws, int(ref)) if ref else None}

    def show_data(self, payload: dict[str, Any]) -> None:
        items = [(str(a["number"]), adr_label(a)) for a in payload["adrs"]]
        self.selected = payload["ref"] or None
        self._requested_key = self.load_key()
        browser = self.query_one(DocBrowser)
        browser.set_items(items, self.selected)
        browser.set_document(
            adr_markdown(payload["adr"])
            if payload["adr"]
            else 'No ADRs yet: factory adr new "title"'
        )

    def on_option_list_option_highlighted(self, event: OptionList.OptionHighlighted) -> None:
        if event.option.id and event.option.id != self.selected:
            self.selected = event.option.id
            self.reload()
