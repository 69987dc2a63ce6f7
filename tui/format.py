"""How values read on screen: one place, so tests can format the `--json` numbers the same way."""

from __future__ import annotations

from typing import Any


def number(value: Any, digits: int = 4) -> str:
    """Metrics and deltas: fixed decimals so columns line up; `-` for missing."""
    if value is None:
        return "-"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if abs(value) >= 10_000:
            return f"{value:,.1f}"
        return f"{value:.{digits}f}"
    return str(value)


def signed(value: Any, digits: int = 4) -> str:
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return f"{value:+.{digits}f}"
    return number(value, digits)


def when(ts: Any) -> str:
    """`2026-11-26T18:55:37.123Z` -> `2026-11-26 18:55` (UTC, as stored)."""
    if not isinstance(ts, str) or len(ts) < 16:
        return "-" if ts is None else str(ts)
    return ts[:10] + " " + ts[11:16]


def value(v: Any) -> str:
    """Any plain value, short: lists joined, dicts as k=v."""
    if isinstance(v, float) or v is None or isinstance(v, bool):
        return number(v)
    if isinstance(v, list):
        return ", ".join(value(x) for x in v) if v else "-"
    if isinstance(v, dict):
        return ", ".join(f"{k}={value(x)}" for k, x in v.items()) if v else "-"
    return str(v)
