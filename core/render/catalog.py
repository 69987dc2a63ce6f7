"""Every schema's own renderers, by explicit import: one place lists the family modules, and
each module lists its renderers per face (`MARKDOWN`, `RICH`: schema -> function), the way
`core.cli.catalog` lists the command modules and each lists its `COMMANDS`.

The families are the CLI's (`core/cli/commands/<family>.py` -> `core/render/families/
<family>.py`), so the renderer of `factory compare` (`factory.compare/2`, declared in
`core/cli/commands/experiments.py`) is in `core/render/families/experiments.py`. The
`workspace`, `data` and `tui` families have no module: the generic layout of each face
reads their data well. A schema without an entry here gets that generic layout.

Only the Markdown and Rich faces import this module, inside `render()`: `--json` never
loads a renderer (nor Rich).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from functools import cache
from typing import TypeVar

from core.render import markdown as markdown_face
from core.render import rich_text as rich_face
from core.render.families import experiments, history, operations, query, records, status

MODULES = (experiments, history, operations, query, records, status)

R = TypeVar("R")


def _merged(face: str, tables: Iterable[tuple[str, Mapping[str, R]]]) -> dict[str, R]:
    found: dict[str, R] = {}
    for module, renderers in tables:
        for schema, renderer in renderers.items():
            if schema in found:
                raise RuntimeError(f"{schema} has a second {face} renderer in {module}")
            found[schema] = renderer
    return found


@cache
def markdown() -> dict[str, markdown_face.Renderer]:
    """Schema -> its Markdown renderer; a schema listed twice is a bug found here."""
    return _merged("Markdown", ((m.__name__, m.MARKDOWN) for m in MODULES))


@cache
def rich() -> dict[str, rich_face.Renderer]:
    """Schema -> its Rich renderer; a schema listed twice is a bug found here."""
    return _merged("Rich", ((m.__name__, m.RICH) for m in MODULES))
