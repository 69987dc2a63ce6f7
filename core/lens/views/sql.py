"""What every view module shares: the view's declaration and the SQL helpers that name files
inside the workspace only (never a glob that could reach further, never a missing file)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from core.foundation.sql_text import sql_string
from core.foundation.workspace import Workspace

if TYPE_CHECKING:
    from core.lens.compaction.door import Attachment


@dataclass(frozen=True)
class ViewSpec:
    name: str
    description: str
    sql: Callable[[Workspace], str] | None = None
    """SQL of the view's SELECT for this workspace, loaded into a memory table before the
    connection locks; must work when no files exist yet."""
    lazy: Callable[[Workspace, Attachment], str] | None = None
    """Instead of `sql`: the SELECT of a view read lazily, over compacted Parquet served by
    the attachment's read-only door and small tables it loads before the lock."""


def sql_path(path: Path) -> str:
    """A path as a SQL string literal."""
    return sql_string(str(path))


def workspace_files(workspace: Workspace, folder: Path, pattern: str) -> list[Path]:
    """The regular files under `folder` matching `pattern` whose real location is inside the
    workspace, sorted: a symlink planted in a log folder that points elsewhere (at
    `/etc/passwd`, `/proc/self/environ`) is never read by a view."""
    if not folder.is_dir():
        return []
    root = workspace.root.resolve()
    found = []
    for path in sorted(folder.glob(pattern)):
        try:
            real = path.resolve(strict=True)
        except (OSError, RuntimeError):
            continue
        if real.is_file() and real.is_relative_to(root):
            found.append(real)
    return found


def sql_paths(paths: list[Path]) -> str:
    """A list of paths as a SQL list literal, for `read_json([...])`: views name the files
    they read, never a glob that could reach further."""
    return "[" + ", ".join(sql_path(p) for p in paths) + "]"


def has_files(folder: Path, pattern: str) -> bool:
    """Whether `pattern` matches anything: an empty glob is an error in DuckDB, not zero
    rows, so views fall back to an empty typed SELECT."""
    return folder.is_dir() and next(folder.glob(pattern), None) is not None


def empty_select(columns: dict[str, str]) -> str:
    """A SELECT with the given typed columns and no rows, for a view with no files yet."""
    cols = ", ".join(f'CAST(NULL AS {t}) AS "{name}"' for name, t in columns.items())
    return f"SELECT {cols} WHERE false"
