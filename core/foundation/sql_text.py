"""SQL text factory writes itself: a string literal, quoted once for every SQL it builds (the
lens's views, `perf`, the log archive). Plain Python, no engine: `status` imports it."""

from __future__ import annotations


def sql_string(text: str) -> str:
    """`text` as a SQL string literal."""
    return "'" + text.replace("'", "''") + "'"
