"""`--fields a,b.c`: keep only the named keys of a JSON answer's `data`.

A path names a key of `data`; a dot descends into the object under it, and a list on the way
is descended element by element, so `runs.run_id,runs.primary_metric.mean` keeps, for every
run, its id and its mean. Keys keep the order `data` has them in (not the order asked), and
a key asked for twice, or under a key also asked whole, is kept once. A path that names a key
found nowhere on its way is a usage error that lists the keys there are, so a typo never
reads as an empty answer.
"""

from __future__ import annotations

from typing import Any

from core.foundation.errors import UsageError

Tree = dict[str, "Tree"]
"""The paths asked, as nested keys; an empty tree below a key keeps it whole."""


def parse(text: str) -> list[str]:
    """`"a, b.c"` -> `["a", "b.c"]`; refuses an empty list or an empty part of a path."""
    paths = [p.strip() for p in text.split(",") if p.strip()]
    if not paths:
        raise UsageError(
            "--fields needs at least one key", hint="e.g. `--fields run_count,best_run.run_id`"
        )
    for path in paths:
        if any(not part for part in path.split(".")):
            raise UsageError(
                f"--fields: {path!r} has an empty key", hint="Separate keys with single dots."
            )
    return paths


def tree(paths: list[str]) -> Tree:
    """The paths as nested keys: `["a", "b.c", "b.d"]` -> `{a: {}, b: {c: {}, d: {}}}`."""
    out: Tree = {}
    for path in paths:
        here = out
        parts = path.split(".")
        for depth, part in enumerate(parts):
            if part in here and not here[part]:
                break  # already kept whole
            if depth == len(parts) - 1:
                here[part] = {}
            else:
                here = here.setdefault(part, {})
    return out


def pick(data: Any, paths: list[str]) -> Any:
    """`data` with only the keys `paths` name (see the module's docstring)."""
    wanted = tree(paths)
    missing: list[tuple[str, list[str]]] = []
    picked = _pick(data, wanted, "", missing)
    if missing:
        path, there = missing[0]
        shown = ", ".join(there[:30]) if there else "none (not an object)"
        raise UsageError(
            f"--fields: no key {path!r} in this answer; the keys there are: {shown}",
            hint="Name keys as the JSON has them; a dot goes one level down (`best_run.run_id`).",
        )
    return picked


def _pick(value: Any, wanted: Tree, prefix: str, missing: list[tuple[str, list[str]]]) -> Any:
    if not wanted:
        return value
    if isinstance(value, list):
        objects = [v for v in value if isinstance(v, dict)]
        there = sorted({k for v in objects for k in v})
        for key in wanted:  # in a list, a key is missing only when no element holds it
            if objects and not any(key in v for v in objects):
                missing.append((prefix + key, there))
        return [_keep(v, wanted, prefix, missing) if isinstance(v, dict) else v for v in value]
    if isinstance(value, dict):
        missing.extend((prefix + key, list(value)) for key in wanted if key not in value)
        return _keep(value, wanted, prefix, missing)
    if value is not None:  # a number or a string has no keys to pick
        missing.append((prefix + next(iter(wanted)), []))
    return value


def _keep(
    value: dict[str, Any], wanted: Tree, prefix: str, missing: list[tuple[str, list[str]]]
) -> dict[str, Any]:
    return {
        key: _pick(item, wanted[key], f"{prefix}{key}.", missing)
        for key, item in value.items()
        if key in wanted
    }
