"""Where factory's source raises and compares error codes, read from its syntax tree.

The AST, not a grep: a call spread over lines, a code chosen by `a if b else c`, and the
fixed codes of `UsageError` and `DataInvalidError` are all found the same way.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from core.foundation.errors import ExitCode, FactoryError
from tests.conftest import REPO

SCANNED = ("core", "tui", "components")
"""The packages whose raise sites the table must cover (a workspace's own components are
the user's, but the repository's own workspace ships some)."""


@dataclass(frozen=True)
class Site:
    """One place that makes a `FactoryError` (or a subclass)."""

    path: str
    """Relative to the repository, with forward slashes."""
    line: int
    codes: tuple[str, ...]
    """The codes this call can carry; empty when the code is not a literal."""
    exit_code: ExitCode | None
    """The explicit `exit_code=`, when the call passes one."""
    explicit_exit_text: str | None
    """The source of an `exit_code=` that is not `ExitCode.NAME`."""

    @property
    def where(self) -> str:
        return f"{self.path}:{self.line}"


def _subclass_codes() -> dict[str, str]:
    """Each subclass of `FactoryError` with a fixed `CODE`, by class name."""
    found: dict[str, str] = {}
    pending = list(FactoryError.__subclasses__())
    while pending:
        cls = pending.pop()
        pending.extend(cls.__subclasses__())
        code = getattr(cls, "CODE", None)
        if isinstance(code, str):
            found[cls.__name__] = code
    return found


def _literal_codes(node: ast.expr | None) -> tuple[str, ...]:
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return (node.value,)
    if isinstance(node, ast.IfExp):
        body, other = _literal_codes(node.body), _literal_codes(node.orelse)
        return body + other if body and other else ()
    return ()


def _called_name(call: ast.Call) -> str | None:
    if isinstance(call.func, ast.Name):
        return call.func.id
    if isinstance(call.func, ast.Attribute):
        return call.func.attr
    return None


def _exit_code(call: ast.Call) -> tuple[ExitCode | None, str | None]:
    for keyword in call.keywords:
        if keyword.arg != "exit_code":
            continue
        value = keyword.value
        if (
            isinstance(value, ast.Attribute)
            and isinstance(value.value, ast.Name)
            and value.value.id == "ExitCode"
            and value.attr in ExitCode.__members__
        ):
            return ExitCode[value.attr], None
        return None, ast.unparse(value)
    return None, None


def python_files() -> list[Path]:
    files: list[Path] = []
    for top in SCANNED:
        folder = REPO / top
        if folder.is_dir():
            files += [p for p in sorted(folder.rglob("*.py")) if "__pycache__" not in p.parts]
    return files


@cache
def _trees() -> tuple[tuple[str, ast.Module], ...]:
    return tuple(
        (path.relative_to(REPO).as_posix(), ast.parse(path.read_text(encoding="utf-8")))
        for path in python_files()
    )


def raise_sites() -> list[Site]:
    """Every call of `FactoryError` or a subclass in the scanned packages."""
    fixed = _subclass_codes()
    sites: list[Site] = []
    for path, tree in _trees():
        if path == "core/foundation/errors.py":
            continue  # the class itself and its subclasses' `super().__init__(self.CODE, ...)`
        for node in ast.walk(tree):
            if not isinstance(node, ast.Call):
                continue
            name = _called_name(node)
            if name in fixed:
                codes: tuple[str, ...] = (fixed[name],)
            elif name == "FactoryError":
                given = node.args[0] if node.args else None
                for keyword in node.keywords:
                    if keyword.arg == "code":
                        given = keyword.value
                codes = _literal_codes(given)
            else:
                continue
            exit_code, text = _exit_code(node)
            sites.append(Site(path, node.lineno, codes, exit_code, text))
    return sites


def compared_codes() -> list[tuple[str, str]]:
    """(where, code) for each `<error>.code == "..."` (or `!=`, `in (...)`) in the source:
    a comparison with a code the table lacks never matches."""
    found: list[tuple[str, str]] = []
    for path, tree in _trees():
        for node in ast.walk(tree):
            if not isinstance(node, ast.Compare):
                continue
            sides = [node.left, *node.comparators]
            if not any(isinstance(s, ast.Attribute) and s.attr == "code" for s in sides):
                continue
            for side in sides:
                values = side.elts if isinstance(side, ast.Tuple | ast.List | ast.Set) else [side]
                for value in values:
                    if isinstance(value, ast.Constant) and isinstance(value.value, str):
                        found.append((f"{path}:{node.lineno}", value.value))
    return found
