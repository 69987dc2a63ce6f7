"""Messages the dashboard posts: workers post results up, the poller posts changes."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from textual.message import Message


@dataclass
class Loaded(Message):
    """A screen's worker finished fetching; `data` is plain data, `error` a message to show."""

    key: str
    """What was fetched (the screen's load key, e.g. a run id)."""
    generation: int
    """Which load this answers; an older one arriving late is dropped."""
    data: Any = None
    error: str | None = None


@dataclass
class WorkspaceChanged(Message):
    """Files in these areas moved since the last poll (see `tui.watch.AREAS`)."""

    areas: frozenset[str] = field(default_factory=frozenset)

    def can_replace(self, message: Message) -> bool:
        # A burst of changes (a sweep finishing run after run) coalesces into one refresh
        # that covers every area the dropped message named.
        if isinstance(message, WorkspaceChanged):
            self.areas = self.areas | message.areas
            return True
        return False


@dataclass
class OpenRun(Message):
    """Show this run's detail."""

    run_id: str


@dataclass
class CompareRuns(Message):
    """Compare these two runs."""

    run_a: str
    run_b: str
