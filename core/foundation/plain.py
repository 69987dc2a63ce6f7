"""Plain data: what a typed result becomes at the boundary (JSON-able values only).

Every result defines `to_dict()`; this turns it (and anything nested) into dicts, lists and
scalars, NaN into None, dates into ISO text. Foundation, not presentation: domain modules use
it to build their `to_dict()`, faces to print."""

from __future__ import annotations

import dataclasses
from typing import Any


def to_plain(value: Any) -> Any:
    """Turn a result (dataclass with `to_dict`, dataclass, dict, list, scalar) into plain
    JSON-able data. Results define `to_dict()` at the boundary; this is the fallback."""
    if hasattr(value, "to_dict") and callable(value.to_dict):
        return to_plain(value.to_dict())
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: to_plain(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, dict):
        return {str(k): to_plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, set, frozenset)):
        return [to_plain(v) for v in value]
    if isinstance(value, float) and value != value:  # NaN is not JSON
        return None
    if value is None or isinstance(value, (str, int, float, bool)):
        return value
    if hasattr(value, "isoformat"):
        return value.isoformat()
    if hasattr(value, "item"):  # numpy scalars
        return to_plain(value.item())
    return str(value)
