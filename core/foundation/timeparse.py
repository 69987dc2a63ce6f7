"""Turning `--since/--until/--on WHEN` into UTC instants.

People say "since saturday" or "since 7d", assistants say "2026-11-21T14:00Z". Both are
read in the user's local time zone (the `TZ` of the process) and converted to UTC, the
zone every event timestamp is written in. The current time comes from `core.foundation.clock.now()`,
so tests pin it with `FACTORY_NOW`.

Rules:
- A whole-day word or date (`2026-11-21`, `today`, `yesterday`, `saturday`) means the
  start of that day as `--since`, and the end of that day as `--until`, so
  `--since saturday --until saturday` and `--on saturday` are the same day.
- A weekday is the most recent such day before today (on a Saturday, `saturday` is a
  week ago; use `today` for today).
- Relative forms (`30m`, `12h`, `7d`, `2w`, also `7 days ago`) count back from now.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

from core.foundation import clock
from core.foundation.errors import UsageError

WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
_RELATIVE = re.compile(
    r"^(\d+)\s*(m|min|mins|minutes?|h|hr|hrs|hours?|d|days?|w|wk|wks|weeks?)(\s+ago)?$"
)
_UNIT_SECONDS = {"m": 60, "h": 3600, "d": 86400, "w": 7 * 86400}
EXAMPLES = (
    "2026-11-21, 2026-11-21T14:30, 2026-11-21T14:30:00Z, today, yesterday, now, "
    "30m, 12h, 7d, 2w, saturday, last saturday"
)


@dataclass(frozen=True)
class TimeRange:
    """A half-open range [since, until) in UTC; None is unbounded."""

    since: datetime | None
    until: datetime | None

    def to_dict(self) -> dict[str, str | None]:
        return {
            "since": clock.iso(self.since) if self.since else None,
            "until": clock.iso(self.until) if self.until else None,
        }


def _local_now() -> datetime:
    return clock.now().astimezone()


def _local_midnight(day: date) -> datetime:
    """Midnight of `day` in local time, as UTC (DST-aware via the C library)."""
    return datetime.combine(day, time()).astimezone().astimezone(UTC)


def _usage(flag: str, text: str, why: str = "") -> UsageError:
    reason = f": {why}" if why else ""
    return UsageError(
        f"{flag} {text!r} is not a time I understand{reason}",
        hint=f"Use a date, a time, a weekday or a relative time, e.g. {EXAMPLES}.",
    )


def parse_day(text: str, flag: str = "--on") -> date | None:
    """The local calendar day `text` names (a date, today, yesterday, a weekday), or None
    when `text` is not a whole-day form."""
    word = text.strip().lower()
    if word.startswith("last "):
        word = word[5:].strip()
    today = _local_now().date()
    if word == "today":
        return today
    if word == "yesterday":
        return today - timedelta(days=1)
    for index, name in enumerate(WEEKDAYS):
        if word in (name, name[:3]):
            back = (today.weekday() - index) % 7 or 7
            return today - timedelta(days=back)
    if re.fullmatch(r"\d{4}-\d{2}-\d{2}", word):
        try:
            return date.fromisoformat(word)
        except ValueError as exc:
            raise _usage(flag, text, str(exc)) from None
    return None


def parse_when(text: str, *, flag: str = "--since", end_of_day: bool = False) -> datetime:
    """`text` as a UTC instant. Whole days give their start, or with `end_of_day` the start
    of the next day (the exclusive end of that day)."""
    if not text or not text.strip():
        raise _usage(flag, text, "empty")
    word = text.strip().lower()
    if word == "now":
        return clock.now().astimezone(UTC)
    day = parse_day(word, flag)
    if day is not None:
        return _local_midnight(day + timedelta(days=1) if end_of_day else day)
    match = _RELATIVE.match(word)
    if match:
        amount = int(match.group(1))
        unit = match.group(2)[0]
        return clock.now().astimezone(UTC) - timedelta(seconds=amount * _UNIT_SECONDS[unit])
    try:
        moment = datetime.fromisoformat(text.strip().replace("Z", "+00:00").replace("z", "+00:00"))
    except ValueError:
        raise _usage(flag, text) from None
    if moment.tzinfo is None:
        moment = moment.astimezone()  # a naive time is the user's local time
    return moment.astimezone(UTC)


def resolve_range(
    since: str | None, until: str | None, on: str | None, *, default_since: str | None = None
) -> TimeRange:
    """The range named by `--since`, `--until` and `--on` (which excludes the other two)."""
    if on is not None:
        if since is not None or until is not None:
            raise UsageError(
                "--on names a whole day; it cannot be combined with --since or --until",
                hint="Use `--on saturday`, or `--since saturday --until sunday`.",
            )
        day = parse_day(on, "--on")
        if day is None:
            raise UsageError(
                f"--on {on!r} is not a day",
                hint="Use a date or day word, e.g. --on 2026-11-21, --on yesterday, --on saturday.",
            )
        return TimeRange(_local_midnight(day), _local_midnight(day + timedelta(days=1)))
    if since is None and until is None and default_since is not None:
        since = default_since
    start = parse_when(since, flag="--since") if since is not None else None
    stop = parse_when(until, flag="--until", end_of_day=True) if until is not None else None
    if start is not None and stop is not None and start >= stop:
        raise UsageError(
            f"--since {since!r} ({clock.iso(start)}) is not before --until {until!r} "
            f"({clock.iso(stop)})",
            hint="Swap them, or widen the range.",
        )
    return TimeRange(start, stop)
