"""`factory status`."""

from __future__ import annotations

from core.cli.registry import Context, Reply, command


@command(
    "status",
    help="where are we, and what should we do next?",
    schema="factory.status/1",
)
def status(ctx: Context) -> Reply:
    from core.overview.status import workspace_status

    result = workspace_status(ctx.workspace)
    return Reply(result, next=result.next)


COMMANDS = (status,)
