"""Paths as answers show them (docs/vocabulary.md): a file inside the workspace relative to
its root, in POSIX form (`reports/r-....json`, `adrs/0003-....md`), so an answer reads the same
on every machine and in every clone; a file outside it (an input the user named, a built-in
component, the remote) absolute. The workspace root itself is the one absolute `workspace`."""

from __future__ import annotations

import os
from pathlib import Path


def shown(path: str | os.PathLike[str], root: str | os.PathLike[str]) -> str:
    """`path` relative to `root` when it lies inside it, else absolute."""
    target = Path(path)
    base = Path(root)
    if not target.is_absolute():
        return target.as_posix()
    for left, right in ((target, base), (target.resolve(), base.resolve())):
        try:
            return left.relative_to(right).as_posix()
        except ValueError:
            continue
    return str(target)
