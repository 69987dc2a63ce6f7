"""History: sessions over time, each with what happened in it (`factory history`)."""

from __future__ import annotations

from typing import Any, ClassVar

from rich.console import RenderableType
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import VerticalScroll
from textual.widgets import Static

from tui import data
from tui import format as fmt
from tui.screens.base import Banner, FactoryScreen
from tui.widgets.render import stack

RANGES: tuple[str | None, ...] = ("7d", "30d", "90d", None)
"""What `w` cycles through; the first is `factory history`'s default."""


def session_block(session: dict[str, Any]) -> RenderableType:
    started, ended = fmt.when(session["started"]), fmt.when(session["ended"])
    span = ended[11:] if started[:10] == ended[:10] else ended
    facts = [f"{session['events']} events", f"{session['processes']} processes"]
    if session.get("failures"):
        facts.append(f"{session['failures']} failed")
    if session.get("hidden"):
        facts.append(f"{session['hidden']} read-only hidden")
    title = Text.assemble(
        (session["session_id"], "bold"), f"  {started} .. {span}  ", (" · ".join(facts), "dim")
    )
    lines: list[Text] = [title]
    if session.get("lines_omitted"):
        lines.append(Text(f"  … {session['lines_omitted']} earlier lines", style="italic"))
    for line in session.get("lines", []):
        repeat = f"  x{line['repeat']}" if line.get("repeat", 1) > 1 else ""
        style = "" if line.get("ok", True) else "bold"
        mark = " " if line.get("ok", True) else "!"
        lines.append(Text(f" {mark}{line['ts'][11:16]}  {line['text']}{repeat}", style=style))
    return stack(*lines, Text(""))


class HistoryScreen(FactoryScreen):
    MODE = "history"
    AUTO_FOCUS = "#history"
    AREAS: ClassVar[frozenset[str]] = frozenset({"events"})
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("w", "widen", "Range"),
        Binding("A", "toggle_all", "Read-only"),
    ]

    def __init__(self) -> None:
        super().__init__()
        self.range_index = 0
        self.include_read_only = False

    def compose_body(self) -> ComposeResult:
        yield Static(id="history-range")
        yield Banner(id="banner")
        with VerticalScroll(id="history", can_focus=True):
            yield Static(id="history-sessions")

    def load_key(self) -> str:
        return f"{RANGES[self.range_index]} {self.include_read_only}"

    def fetch(self, key: str) -> Any:
        return data.history(
            self.ws, RANGES[self.range_index], include_read_only=self.include_read_only
        )

    def show_data(self, result: dict[str, Any]) -> None:
        since = RANGES[self.range_index]
        shown = (
            "all events" if self.include_read_only else "read-only commands hidden (A shows them)"
        )
        self.query_one("#history-range", Static).update(
            f"{'last ' + since if since else 'all time'} · {len(result['sessions'])} of "
            f"{result['total_sessions']} sessions · {result['events_in_range']} events · {shown}"
        )
        sessions = result["sessions"]
        body = self.query_one("#history-sessions", Static)
        if not sessions:
            body.update("No sessions in this range. Press w to widen it.")
            return
        body.update(stack(*(session_block(s) for s in sessions)))

    def action_widen(self) -> None:
        self.range_index = (self.range_index + 1) % len(RANGES)
        self.reload()

    def action_toggle_all(self) -> None:
        self.include_read_only = not self.include_read_only
        self.reload()
