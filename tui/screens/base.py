"""What every dashboard screen shares: load in a thread worker, render on the message.

A screen names the workspace areas it shows (`AREAS`); when the poller reports a change in
one of them the screen reloads if it is on view, or reloads when next shown.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar, cast

from textual import events, work
from textual.app import ComposeResult
from textual.screen import Screen
from textual.widgets import Footer, Header, Input, OptionList, Static

from core.foundation.errors import FactoryError
from core.foundation.workspace import Workspace
from tui.messages import Loaded
from tui.widgets.doc_browser import DocBrowser
from tui.widgets.nav_bar import NavBar

if TYPE_CHECKING:
    from tui.app import FactoryApp


class Banner(Static):
    """An inline message: errors, empty states, hints. Hidden when empty."""

    def show(self, text: str, *, error: bool = False) -> None:
        self.update(text)
        self.set_class(error, "-error")
        self.display = bool(text)

    def clear(self) -> None:
        self.show("")


TYPING = "typing · esc leaves"
"""Shown in a text box's border while it has focus: over SSH the cursor is easy to miss, and
a key typed there is text, not a screen switch."""


class FactoryScreen(Screen[None]):
    AREAS: ClassVar[frozenset[str]] = frozenset()
    """Workspace areas (see `tui.watch.AREAS`) whose changes this screen shows."""
    MODE: ClassVar[str] = ""

    def __init__(self) -> None:
        super().__init__()
        self._generation = 0
        self._dirty = False
        self._requested_key: str | None = None
        self.loaded_key: str | None = None
        """Key of the data on view (None until the first load lands)."""
        self.shown: Any = None
        """The plain data on view: what "same truth" tests compare with `--json`."""

    @property
    def factory(self) -> FactoryApp:
        return cast("FactoryApp", self.app)

    @property
    def ws(self) -> Workspace:
        return self.factory.workspace

    def compose(self) -> ComposeResult:
        """Every screen's frame: header, its own body, the screen keys, the footer."""
        yield Header()
        yield from self.compose_body()
        yield NavBar(self.MODE)
        yield Footer(compact=True)

    # --- what subclasses define -------------------------------------------------------
    def compose_body(self) -> ComposeResult:
        """The screen's own widgets, including its `Banner(id="banner")`."""
        yield Banner(id="banner")

    def load_key(self) -> str:
        """What this screen should show now (e.g. the selected run); "" when fixed."""
        return ""

    def fetch(self, key: str) -> Any:
        """Runs in a thread: call core, return plain data. Never touch widgets here."""
        raise NotImplementedError

    def show_data(self, data: Any) -> None:
        """Render `data` (on the UI thread)."""

    def show_error(self, message: str) -> None:
        self.query_one("#banner", Banner).show(message, error=True)

    def on_show_screen(self) -> None:
        """Called each time the screen comes on view, before it decides to reload."""

    # --- machinery ----------------------------------------------------------------------
    # Textual calls `on_mount` and `on_screen_resume` of every class in the MRO, so
    # subclasses hook in through `on_show_screen` rather than overriding these.
    def on_mount(self) -> None:
        if not self.factory.cursor_blink:
            for box in self.query(Input):
                box.cursor_blink = False
        self.on_show_screen()
        self.reload()

    def on_descendant_focus(self, event: events.DescendantFocus) -> None:
        if isinstance(event.widget, Input):
            event.widget.border_subtitle = TYPING

    def on_descendant_blur(self, event: events.DescendantBlur) -> None:
        if isinstance(event.widget, Input):
            event.widget.border_subtitle = ""

    def on_screen_resume(self) -> None:
        self.on_show_screen()
        if self._dirty or self.load_key() != self._requested_key:
            self.reload()

    def reload(self) -> None:
        self._dirty = False
        self._generation += 1
        self._requested_key = self.load_key()
        self._fetch_in_thread(self._requested_key, self._generation)

    def areas_changed(self, areas: frozenset[str]) -> None:
        if not areas & self.AREAS:
            return
        if self.is_current:
            self.reload()
        else:
            self._dirty = True

    @work(thread=True, exclusive=True, group="load")
    def _fetch_in_thread(self, key: str, generation: int) -> None:
        try:
            data = self.fetch(key)
        except FactoryError as exc:
            text = exc.message + (f"\n{exc.hint}" if exc.hint else "")
            self.post_message(Loaded(key, generation, error=text))
        except Exception as exc:
            self.post_message(Loaded(key, generation, error=f"{type(exc).__name__}: {exc}"))
        else:
            self.post_message(Loaded(key, generation, data=data))

    def on_loaded(self, message: Loaded) -> None:
        message.stop()
        if message.generation != self._generation:
            return  # a newer load is on its way
        self.loaded_key = message.key
        # Marked once the screen has painted with the data, not when it was handed over; asked
        # for before rendering so it runs ahead of work a widget defers past that paint (the
        # runs table's later chunks).
        self.call_after_refresh(self.factory.mark_rendered, self.MODE)
        if message.error is not None:
            self.shown = None
            self.show_error(message.error)
        else:
            self.query_one("#banner", Banner).clear()
            self.shown = message.data
            self.show_data(message.data)


class DocScreen(FactoryScreen):
    """A list of documents beside the chosen one rendered (cards, ADRs). `fetch` returns the
    payload; `show_data` hands `show_documents` the list, the chosen id and its Markdown."""

    AUTO_FOCUS = "#doc-list"

    def __init__(self) -> None:
        super().__init__()
        self.selected: str | None = None

    def compose_body(self) -> ComposeResult:
        yield Banner(id="banner")
        yield DocBrowser(id=self.MODE)

    def load_key(self) -> str:
        return self.selected or ""

    def show_documents(self, items: list[tuple[str, str]], selected: str, markdown: str) -> None:
        self.selected = selected or None
        self._requested_key = self.load_key()
        browser = self.query_one(DocBrowser)
        browser.set_items(items, self.selected)
        browser.set_document(markdown)

    def on_option_list_option_highlighted(self, event: OptionList.OptionHighlighted) -> None:
        if event.option.id and event.option.id != self.selected:
            self.selected = event.option.id
            self.reload()
