"""Which workspace modules only some component files import: static analysis with `ast`.

A component version may import helper modules of the workspace (`components/features/
_shared.py`, a package `mylib/` beside factory.toml). When its versions go, a helper goes
with them only if nothing that stays imports it, directly or through other helpers. The
modules are parsed, never imported (importing runs code). An import resolves against the
importing file's folder, the components folder and the workspace root, the places a
component's imports can reach; factory's own package and anything outside the workspace
are never workspace modules.
"""

from __future__ import annotations

import ast
import os
from pathlib import Path

SKIP_DIRS = frozenset(
    {
        "logs", "data", "artifacts", "archive", "node_modules", "venv", "env", "build", "dist",
        "site-packages", "__pycache__", "cards", "reports", "adrs", "predictions",
    }
)  # fmt: skip
"""Folders that hold no module a component imports."""


def python_files(root: Path) -> list[Path]:
    """Every `.py` file of the workspace outside hidden, state and data folders."""
    found: list[Path] = []
    for base, dirs, files in os.walk(root):
        dirs[:] = sorted(
            d
            for d in dirs
            if not d.startswith(".") and d not in SKIP_DIRS and not d.endswith(".egg-info")
        )
        found.extend(Path(base) / name for name in sorted(files) if name.endswith(".py"))
    return found


def _candidates(base: Path, parts: list[str]) -> list[Path]:
    """Files an import of `parts` under `base` loads (the module and its packages'
    `__init__.py`), or none when `base` does not hold that module."""
    if not parts:
        init = base / "__init__.py"
        return [init] if init.is_file() else []
    found: list[Path] = []
    folder = base
    for part in parts[:-1]:
        folder = folder / part
        if not folder.is_dir():
            return []
        init = folder / "__init__.py"
        if init.is_file():
            found.append(init)
    module = folder / f"{parts[-1]}.py"
    package = folder / parts[-1] / "__init__.py"
    if module.is_file():
        return [*found, module]
    if package.is_file():
        return [*found, package]
    return []


def imported_files(path: Path, roots: list[Path], excluded: list[Path]) -> set[Path]:
    """The workspace files `path` imports (unreadable or unparsable files import nothing
    known: they are reported by the caller as kept, never guessed at)."""
    try:
        tree = ast.parse(path.read_bytes(), filename=str(path))
    except (OSError, SyntaxError, ValueError):
        return set()
    found: set[Path] = set()
    here = path.parent
    for node in ast.walk(tree):
        targets: list[tuple[list[Path], list[str]]] = []
        if isinstance(node, ast.Import):
            for alias in node.names:
                targets.append(([here, *roots], alias.name.split(".")))
        elif isinstance(node, ast.ImportFrom):
            base_parts = (node.module or "").split(".") if node.module else []
            if node.level:
                base = here
                for _ in range(node.level - 1):
                    base = base.parent
                bases = [base]
            else:
                bases = [here, *roots]
            for alias in node.names:
                # `from a import b`: b is a module of package a, or a name inside module a.
                targets.append((bases, [*base_parts, alias.name]))
                targets.append((bases, base_parts))
        for bases, parts in targets:
            for base in bases:
                hits = _candidates(base, [p for p in parts if p])
                if hits:
                    found.update(hits)
                    break
    resolved = set()
    for hit in found:
        real = hit.resolve()
        if real == path.resolve() or any(real.is_relative_to(e) for e in excluded):
            continue
        resolved.add(real)
    return resolved


def only_imported_by(
    removed: list[Path], universe: list[Path], roots: list[Path], excluded: list[Path]
) -> tuple[list[Path], dict[Path, list[Path]]]:
    """(helpers reached only from `removed`, helper -> the staying files that import it).

    A helper is any workspace file `removed` reaches through imports; it is removable when
    no other file of `universe` reaches it. Files that cannot mention a helper's name are
    not parsed (a substring test first), which keeps this fast in a large workspace."""
    gone = {p.resolve() for p in removed}
    reached: set[Path] = set()
    frontier = list(gone)
    while frontier:
        current = frontier.pop()
        for hit in imported_files(current, roots, excluded):
            if hit not in reached and hit not in gone:
                reached.add(hit)
                frontier.append(hit)
    if not reached:
        return [], {}
    stems = {p.stem if p.name != "__init__.py" else p.parent.name for p in reached}
    staying = [p.resolve() for p in universe if p.resolve() not in gone | reached]
    importers: dict[Path, list[Path]] = {}
    kept: set[Path] = set()
    frontier2: list[Path] = []
    for path in staying:
        try:
            text = path.read_text(encoding="utf-8", errors="replace")
        except OSError:
            continue
        if not any(stem in text for stem in stems):
            continue
        for hit in imported_files(path, roots, excluded) & reached:
            importers.setdefault(hit, []).append(path)
            if hit not in kept:
                kept.add(hit)
                frontier2.append(hit)
    while frontier2:
        current = frontier2.pop()
        for hit in imported_files(current, roots, excluded) & reached:
            importers.setdefault(hit, []).append(current)
            if hit not in kept:
                kept.add(hit)
                frontier2.append(hit)
    return sorted(reached - kept), importers
