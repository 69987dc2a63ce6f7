"""Overview: what `factory status` says, laid out for a person."""

from __future__ import annotations

from typing import Any, ClassVar

from rich.console import RenderableType
from rich.text import Text
from textual.app import ComposeResult
from textual.containers import VerticalScroll
from textual.widgets import Static

from core.foundation.suggest import Next
from core.render.rich_text import next_line
from core.render.words import model_fields
from tui import data
from tui import format as fmt
from tui.screens.base import Banner, FactoryScreen
from tui.widgets.render import heading, key_values, rows_table, stack


def model_block(model: dict[str, Any]) -> RenderableType:
    """One model: its contract, then whatever status sections hold something."""
    title = Text.assemble(
        (model["name"], "bold"),
        f"  {model.get('task', '')} on {model.get('dataset', '')}, ",
        f"{model.get('metric', '')} ({model.get('direction', '')})",
    )
    fields, hint = model_fields(model)
    parts: list[RenderableType] = [title]
    if hint:
        parts.append(Text(f"  {hint[0]}: {hint[1]}", style="italic"))
    if fields:
        parts.append(key_values(None, fields))
    return stack(*parts, Text(""))


class OverviewScreen(FactoryScreen):
    MODE = "overview"
    AREAS: ClassVar[frozenset[str]] = frozenset({"config", "reports", "cards", "events", "index"})

    def compose_body(self) -> ComposeResult:
        yield Banner(id="banner")
        with VerticalScroll(id="overview"):
            yield Static(id="models")
            yield Static(id="next")
            yield Static(id="sessions")
            yield Static(id="datasets")

    def fetch(self, key: str) -> Any:
        return data.status(self.ws)

    def show_data(self, status: dict[str, Any]) -> None:
        self.sub_title = status["name"]
        models = status.get("models", [])
        self.query_one("#models", Static).update(
            stack(heading("Models"), *(model_block(m) for m in models))
            if models
            else Text("No models in factory.toml yet.")
        )
        self.query_one("#datasets", Static).update(
            rows_table(
                "Datasets",
                ["dataset", "source", "snapshots", "latest", "rows", "time range"],
                [
                    [
                        d["name"],
                        d["source"],
                        d["snapshot_count"],
                        d.get("latest_snapshot_id") or "-",
                        d.get("latest_rows"),
                        " .. ".join(d.get("latest_time_range") or []) or "-",
                    ]
                    for d in status.get("datasets", [])
                ],
                numeric=["snapshots", "rows"],
            )
        )
        self.query_one("#sessions", Static).update(
            rows_table(
                "Recent sessions",
                ["session", "from", "to", "events", "commands"],
                [
                    [
                        s["session_id"],
                        fmt.when(s["started"]),
                        fmt.when(s["ended"]),
                        s["event_count"],
                        s["commands"],
                    ]
                    for s in status.get("recent_sessions", [])
                ],
                numeric=["events"],
            )
        )
        self.query_one("#next", Static).update(
            stack(heading("Next"), *(next_line(Next.of(n)) for n in status.get("next", [])))
        )
