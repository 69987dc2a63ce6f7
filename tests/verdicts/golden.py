"""Comparing a result with the one expected: numbers to a relative 1e-9, everything else
exactly, nested dicts and lists included, and no key missing or extra."""

from __future__ import annotations

import dataclasses
import math
from typing import Any


def plain(value: Any) -> Any:
    """A dataclass as its fields (recursively), anything else as it is."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: plain(getattr(value, f.name)) for f in dataclasses.fields(value)}
    return value


def mismatches(actual: Any, expected: Any, path: str = "") -> list[str]:
    actual, expected = plain(actual), plain(expected)
    if isinstance(expected, dict):
        if not isinstance(actual, dict):
            return [f"{path}: expected a dict, got {actual!r}"]
        out = [f"{path}.{k}: missing" for k in expected if k not in actual]
        out += [f"{path}.{k}: unexpected" for k in actual if k not in expected]
        for key in expected:
            if key in actual:
                out += mismatches(actual[key], expected[key], f"{path}.{key}")
        return out
    if isinstance(expected, (list, tuple)):
        if not isinstance(actual, (list, tuple)) or len(actual) != len(expected):
            return [f"{path}: expected {expected!r}, got {actual!r}"]
        out = []
        for i, (a, e) in enumerate(zip(actual, expected, strict=True)):
            out += mismatches(a, e, f"{path}[{i}]")
        return out
    if isinstance(expected, float) and not isinstance(actual, bool):
        if not isinstance(actual, (int, float)):
            return [f"{path}: expected {expected!r}, got {actual!r}"]
        if math.isnan(expected) and math.isnan(actual):
            return []
        if not math.isclose(actual, expected, rel_tol=1e-9, abs_tol=1e-12):
            return [f"{path}: expected {expected!r}, got {actual!r}"]
        return []
    if type(actual) is not type(expected) or actual != expected:
        return [f"{path}: expected {expected!r}, got {actual!r}"]
    return []


def assert_matches(actual: Any, expected: Any) -> None:
    """`actual` equals `expected` field by field (see the module docstring)."""
    problems = mismatches(actual, expected)
    assert not problems, "\n".join(problems)
