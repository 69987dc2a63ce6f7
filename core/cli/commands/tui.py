"""`factory tui`: the Textual dashboard (also bare `factory` in a terminal)."""

from __future__ import annotations

from core.cli.registry import Context, Reply, command


@command("tui", help="open the Textual dashboard", schema="factory.tui/1")
def tui(ctx: Context) -> Reply:
    from tui.app import run_app

    run_app(ctx.workspace)
    return Reply({"closed": True})
