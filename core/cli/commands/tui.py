"""`factory tui`: the Textual dashboard (also bare `factory` in a terminal).

The dashboard is a face above core, so core never imports it: it is found through the
`factory.faces` entry point its package declares (`tui = "tui.app:run_app"` in
pyproject.toml), the standard way for a package to offer an optional part to another."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from core.cli.registry import Context, Reply, command
from core.foundation.errors import FactoryError

FACES_GROUP = "factory.faces"


def face(name: str) -> Callable[..., Any]:
    """The entry point `name` of the `factory.faces` group, loaded."""
    from importlib import metadata  # 50 ms: only for the command that opens a face

    for entry in metadata.entry_points(group=FACES_GROUP):
        if entry.name == name:
            loaded: Callable[..., Any] = entry.load()
            return loaded
    raise FactoryError(
        "face_missing",
        f"The {name!r} face of factory is not installed (no {FACES_GROUP} entry point)",
        hint="Reinstall the project: `pip install -e .` (or `make test`, which does it).",
        details={"face": name, "group": FACES_GROUP},
    )


@command(
    "tui",
    help="open the Textual dashboard",
    schema="factory.tui/1",
    mutating=False,
    interactive=True,
)
def tui(ctx: Context) -> Reply:
    face("tui")(ctx.workspace)
    return Reply({"closed": True})


COMMANDS = (tui,)
