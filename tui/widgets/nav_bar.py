"""The footer's first line: every screen's key, the current one highlighted.

Textual's Footer lists the focused widget's keys first, so at 80 columns the screen keys
would fall off its end; this line keeps them always visible.
"""

from __future__ import annotations

from textual.app import ComposeResult
from textual.containers import Horizontal
from textual.widgets import Label

from tui.nav import SCREENS


class NavBar(Horizontal):
    def __init__(self, current: str) -> None:
        super().__init__(classes="nav-bar")
        self.current = current

    def compose(self) -> ComposeResult:
        for mode, key, label, _ in SCREENS:
            classes = "nav-item -current" if mode == self.current else "nav-item"
            yield Label(f"[b]{key}[/b] {label}", classes=classes)
