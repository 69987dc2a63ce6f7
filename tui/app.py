"""The Textual dashboard: the human's face on the same core the CLI calls.

Each screen is a mode (one per file in `tui/screens/`), reachable by a key in the footer and
from the command palette. Screens load in thread workers; a poller `stat`s the workspace
every second and tells screens which areas changed, so work done in another pane shows up
without a restart. The app records `perf_counter` marks (`timings`) for the benchmark.
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from concurrent.futures import Future
from pathlib import Path
from typing import Any, ClassVar

from textual import work
from textual.app import App, SystemCommand
from textual.binding import Binding, BindingType
from textual.screen import Screen

from core.foundation.workspace import Workspace
from tui import data, watch
from tui.messages import CompareRuns, OpenRun, WorkspaceChanged
from tui.nav import SCREENS
from tui.screens.adrs import AdrsScreen
from tui.screens.base import FactoryScreen
from tui.screens.cards import CardsScreen
from tui.screens.compare import CompareScreen
from tui.screens.history import HistoryScreen
from tui.screens.live import LiveScreen
from tui.screens.overview import OverviewScreen
from tui.screens.run_detail import RunDetailScreen
from tui.screens.runs import RunsScreen
from tui.screens.sql import SqlScreen

POLL_SECONDS = 1.0
DARK_THEME = "textual-dark"
LIGHT_THEME = "textual-light"


class FactoryApp(App[None]):
    CSS_PATH = "app.tcss"
    TITLE = "factory"
    MODES: ClassVar[dict[str, Any]] = {
        "overview": OverviewScreen,
        "runs": RunsScreen,
        "detail": RunDetailScreen,
        "compare": CompareScreen,
        "cards": CardsScreen,
        "adrs": AdrsScreen,
        "history": HistoryScreen,
        "live": LiveScreen,
        "sql": SqlScreen,
    }
    DEFAULT_MODE = "overview"
    HORIZONTAL_BREAKPOINTS = [(0, "-narrow"), (90, "-wide")]  # noqa: RUF012 (Textual reads it so)
    """Below 90 columns the nav bar's items lose their right padding, so every screen's key
    fits on one line at 80."""
    BINDINGS: ClassVar[list[BindingType]] = [
        # Shown by each screen's NavBar, so the Footer keeps room for the screen's own keys.
        *(
            Binding(key, f"switch_mode('{mode}')", label, show=False)
            for mode, key, label, _ in SCREENS
        ),
        Binding("t", "toggle_theme", "Theme"),
        Binding("ctrl+r", "refresh_all", "Refresh", show=False),
        Binding("q", "quit", "Quit"),
    ]

    def __init__(
        self,
        workspace: Workspace,
        *,
        poll_seconds: float | None = POLL_SECONDS,
        cursor_blink: bool = True,
        prefetch_runs: bool = True,
    ) -> None:
        self.started = time.perf_counter()
        self.timings: dict[str, float] = {}
        """Seconds from init to the first data rendered on each screen (the benchmark's hook)."""
        super().__init__()
        self.workspace = workspace
        self.poll_seconds = poll_seconds
        self.cursor_blink = cursor_blink
        self.prefetch_runs = prefetch_runs
        self.runs_prefetch: Future[tuple[watch.Signature, Any]] | None = None
        """False in snapshot tests, so a screenshot never catches a blink."""
        self.selected_run: str | None = None
        """The run Detail shows (chosen in Runs, or from Compare)."""
        self.compare_pair: tuple[str, str] | None = None
        self._signatures: dict[str, watch.Signature] | None = None
        self.theme = DARK_THEME
        self.sub_title = workspace.root.name

    # --- timing hooks ---------------------------------------------------------------------
    def mark_rendered(self, screen: str) -> None:
        if screen in self.timings:
            return
        self.timings[screen] = time.perf_counter() - self.started
        if screen == "overview" and self.prefetch_runs:
            # People read the Overview first; load Runs meanwhile so `r` answers at once.
            self.runs_prefetch = Future()
            self._prefetch_runs(self.runs_prefetch)

    @work(thread=True, group="prefetch")
    def _prefetch_runs(self, future: Future[tuple[watch.Signature, Any]]) -> None:
        try:
            result = data.runs(self.workspace)
            future.set_result((watch.run_index_signature(self.workspace), result))
        except BaseException as exc:  # the Runs screen reports it when it fetches itself
            future.set_exception(exc)

    def take_runs_prefetch(self) -> Any | None:
        """The prefetched `factory runs` data if no run was written since (else None).
        Called from the Runs screen's worker thread; waits for a prefetch in flight."""
        future, self.runs_prefetch = self.runs_prefetch, None
        if future is None:
            return None
        try:
            signature, result = future.result(timeout=60)
        except Exception:
            return None
        return result if signature == watch.run_index_signature(self.workspace) else None

    # --- lifecycle ------------------------------------------------------------------------
    def on_mount(self) -> None:
        if self.poll_seconds:
            self._poll()
            self.set_interval(self.poll_seconds, self._poll)

    @work(thread=True, exclusive=True, group="poll")
    def _poll(self) -> None:
        after = watch.signatures(self.workspace)
        before = self._signatures
        self._signatures = after
        if before is not None:
            moved = watch.changed(before, after)
            if moved:
                self.post_message(WorkspaceChanged(moved))

    def on_workspace_changed(self, message: WorkspaceChanged) -> None:
        if "config" in message.areas:
            # factory.toml is read once per Workspace object; a new one re-reads it.
            self.workspace = Workspace(self.workspace.root)
        for screen in self._factory_screens():
            screen.areas_changed(message.areas)

    def _factory_screens(self) -> Iterable[FactoryScreen]:
        for stack in self._screen_stacks.values():
            for screen in stack:
                if isinstance(screen, FactoryScreen):
                    yield screen

    # --- navigation -----------------------------------------------------------------------
    def on_open_run(self, message: OpenRun) -> None:
        self.selected_run = message.run_id
        self.switch_mode("detail")

    def on_compare_runs(self, message: CompareRuns) -> None:
        self.compare_pair = (message.run_a, message.run_b)
        self.switch_mode("compare")

    def action_toggle_theme(self) -> None:
        self.theme = LIGHT_THEME if self.theme == DARK_THEME else DARK_THEME

    def action_refresh_all(self) -> None:
        for screen in self._factory_screens():
            screen.areas_changed(frozenset(watch.AREAS))

    def get_system_commands(self, screen: Screen[Any]) -> Iterable[SystemCommand]:
        for mode, key, label, help_text in SCREENS:
            yield SystemCommand(
                f"{label} ({key})", help_text, lambda mode=mode: self.switch_mode(mode)
            )
        yield SystemCommand("Toggle light/dark (t)", "Switch the theme", self.action_toggle_theme)
        yield SystemCommand("Refresh (ctrl+r)", "Reload every screen now", self.action_refresh_all)
        yield from super().get_system_commands(screen)


def run_app(workspace: Workspace) -> None:
    """Open the dashboard on `workspace` and block until the user quits."""
    FactoryApp(workspace).run()


def app_for(path: str | Path, **options: Any) -> FactoryApp:
    """An app on the workspace at `path` (tests, the benchmark)."""
    return FactoryApp(Workspace(Path(path).resolve()), **options)
