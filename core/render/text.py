"""The text of every value a person reads: one wording per kind of value, for every face.

The Markdown and Rich renderers and the dashboard take their cell text from here and only
arrange it (Harlequin's `text_columns()`): a number, a missing value, a yes/no, a timestamp,
a list or a record reads the same in `--md`, in the terminal and on screen. `--json` is the
one face that never passes through here.

- Missing (`None`, an empty list or record): `-`.
- Yes/no: `yes` / `no`.
- Whole numbers: as they are (`1461`).
- Other numbers: fixed decimals so columns line up (`0.7154`, 4 unless a kind needs other);
  thousands grouped from 10,000 (`12,345.6`); values that would print as zero keep their
  significant digits (`2.1e-05`, `0.000123`); `nan`, `inf` as Python says them.
- Deltas and intervals of deltas: with their sign (`+0.0123`, `[-0.0100, +0.0345]`).
- Shares: whole percents (`25%`).
- Timestamps factory recorded (`2026-11-26T18:55:37.123Z`): `2026-11-26 18:55`, UTC as
  stored, in every face but two Rich views that answer "when did I ..." in the reader's day
  (history, the sessions in status): those use `local()` and name the zone. A dataset's own
  times and a query's values are data: shown as they are.
- Lists: items joined by `, `; records inside a cell one per line, a name/value pair as
  `name value`, a longer record as `k=v, ...`; a record: `k=v, ...`.
- Strings, ids included: as they are, never cut. A face escapes its own syntax (Markdown's
  `|`); Rich shows every string as literal text, never as markup.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any

NOTHING = "-"

_STORED_TIMESTAMP = re.compile(
    r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})"
)
"""A moment factory recorded (always with its zone, `...Z`); a dataset's own naive times
(`2012-01-01T00:00:00`) are data and read as they are."""


ID = re.compile(r"(?:r|p|ds|gate|drift|pit|newdata|al|b|n)-[0-9a-f]{12}|rq-[0-9a-f]{16}")
"""The ids a user pastes into the next command: runs, plans, snapshots, verdicts, alerts,
prediction batches, notes, requests. A face keeps them whole: never wrapped, never cut."""


def is_id(words: str) -> bool:
    return ID.fullmatch(words) is not None


def number(value: Any, digits: int = 4) -> str:
    """Metrics, scores, thresholds: `digits` fixed decimals; `-` when missing."""
    if value is None:
        return NOTHING
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if not math.isfinite(value):
            return str(value)
        if abs(value) >= 10_000:
            return f"{value:,.1f}"
        if digits and value and abs(value) < 10 ** (1 - digits):
            return f"{value:.{digits - 1}g}"
        return f"{value:.{digits}f}"
    return str(value)


def signed(value: Any, digits: int = 4) -> str:
    """A delta: `+0.0123`, `-0.0045`."""
    if isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value):
        return ("-" if value < 0 else "+") + number(abs(value), digits)
    return number(value, digits)


def interval(pair: Any, digits: int = 4) -> str:
    """A confidence interval of a delta: `[-0.0100, +0.0345]`; `-` when there is none."""
    if not isinstance(pair, (list, tuple)) or len(pair) != 2 or pair[0] is None:
        return NOTHING
    return f"[{signed(pair[0], digits)}, {signed(pair[1], digits)}]"


def percent(value: Any) -> str:
    """A share: `25%`."""
    if isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value):
        return f"{value:.0%}"
    return number(value)


def plural(count: Any, word: str) -> str:
    """`1 run`, `3 runs`, `2 processes`."""
    many = word + ("es" if word.endswith(("s", "x", "ch", "sh")) else "s")
    return f"{count} {word if count == 1 else many}"


def when(ts: Any) -> str:
    """`2026-11-26T18:55:37.123Z` -> `2026-11-26 18:55` (UTC, as stored)."""
    if not isinstance(ts, str) or len(ts) < 16:
        return NOTHING if ts is None else str(ts)
    return ts[:10] + " " + ts[11:16]


def clock(ts: Any) -> str:
    """`2026-11-26T18:55:37.123Z` -> `18:55` (UTC, as stored)."""
    return when(ts)[11:] if isinstance(ts, str) and len(ts) >= 16 else NOTHING


def span_utc(started: Any, ended: Any) -> str:
    """`2026-11-21 09:00-09:50 UTC`, both dates when the span crosses midnight."""
    if not isinstance(started, str) or not isinstance(ended, str) or not started or not ended:
        return NOTHING
    if started[:10] == ended[:10]:
        return f"{when(started)}-{ended[11:16]} UTC"
    return f"{when(started)} - {when(ended)} UTC"


def moment(ts: Any) -> datetime | None:
    """A stored timestamp in the reader's time zone."""
    if not isinstance(ts, str) or not ts:
        return None
    try:
        return datetime.fromisoformat(ts.replace("Z", "+00:00")).astimezone()
    except ValueError:
        return None


def local(ts: Any, fmt: str = "%a %Y-%m-%d %H:%M") -> str:
    """`Sat 2026-11-21 10:00` in the reader's time zone (`zone()` names it)."""
    at = moment(ts)
    return at.strftime(fmt) if at else NOTHING


def span(started: Any, ended: Any) -> str:
    """`Sat 2026-11-21 09:00-09:50` in the reader's zone, both dates across midnight."""
    start, end = moment(started), moment(ended)
    if not start or not end:
        return NOTHING
    if start.date() == end.date():
        return f"{start:%a %Y-%m-%d %H:%M}-{end:%H:%M}"
    return f"{start:%a %Y-%m-%d %H:%M} - {end:%a %Y-%m-%d %H:%M}"


def zone() -> str:
    """The reader's time zone, as `local()` shows times."""
    return datetime.now().astimezone().strftime("%Z") or "local"


def duration(seconds: Any) -> str:
    """`45s`, `12m`, `2h05m`."""
    if not isinstance(seconds, (int, float)) or isinstance(seconds, bool):
        return NOTHING
    minutes = round(seconds / 60)
    if minutes < 1:
        return f"{seconds:.0f}s"
    if minutes < 90:
        return f"{minutes}m"
    return f"{minutes // 60}h{minutes % 60:02d}m"


def components(comps: Mapping[str, Any], kinds: Iterable[str] | None = None) -> str:
    """`features/weather_v2 hparams/h1 ...` (every kind but metrics), or only `kinds`'
    versions: `weather_v2 h1 catboost_v1`."""
    if kinds is None:
        return " ".join(f"{k}/{version(v)}" for k, v in comps.items() if k != "metrics")
    return " ".join(version(comps[k]) for k in kinds if comps.get(k))


def version(component: Any) -> str:
    """A component as the report holds it (`{"version": ...}`) or as a summary does."""
    if isinstance(component, dict):
        return str(component.get("version", value(component)))
    return str(component)


def value(v: Any) -> str:
    """Any plain value (what `--json` carries) as the text of one cell."""
    if v is None or isinstance(v, (bool, int, float)):
        return number(v)
    if isinstance(v, str):
        return when(v) if _STORED_TIMESTAMP.fullmatch(v) else v
    if isinstance(v, (list, tuple)):
        if not v:
            return NOTHING
        if all(isinstance(x, dict) for x in v):
            return "\n".join(_record_in_cell(x) for x in v)
        return ", ".join(value(x) for x in v)
    if isinstance(v, dict):
        return ", ".join(f"{k}={value(x)}" for k, x in v.items()) if v else NOTHING
    return str(v)


def _record_in_cell(record: dict[str, Any]) -> str:
    """A record among others in one cell: `ts TIMESTAMP` for a name/value pair, else k=v."""
    if len(record) <= 2:
        return " ".join(value(x) for x in record.values())
    return value(record)
