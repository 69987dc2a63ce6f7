"""The one clock every timestamp comes from.

`FACTORY_NOW` (an ISO time) pins it, so golden-file tests and snapshot tests are stable.
"""

from __future__ import annotations

import os
from datetime import UTC, datetime


def now() -> datetime:
    """The current time in UTC (or `FACTORY_NOW` when set)."""
    pinned = os.environ.get("FACTORY_NOW")
    if pinned:
        value = datetime.fromisoformat(pinned.replace("Z", "+00:00"))
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    return datetime.now(UTC)


def iso(moment: datetime | None = None) -> str:
    """`2026-11-26T18:55:37.123Z`: millisecond UTC timestamps, sortable as text."""
    moment = (moment or now()).astimezone(UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def parse_iso(text: str) -> datetime:
    """An ISO timestamp (`...Z` or with an offset; a bare date is midnight UTC) as an aware
    datetime."""
    value = datetime.fromisoformat(text.replace("Z", "+00:00"))
    return value if value.tzinfo else value.replace(tzinfo=UTC)
