"""`factory status`."""

from __future__ import annotations

from core.cli.registry import Context, Reply, arg, command


@command(
    "status",
    help="where are we, and what should we do next?",
    schema="factory.status/2",
    args=[
        arg(
            "--since",
            metavar="WHEN",
            help="also say what happened since WHEN (2026-11-20, yesterday, 3w, ...)",
        )
    ],
    mutating=False,
)
def status(ctx: Context) -> Reply:
    from core.foundation import clock
    from core.overview.status import workspace_status

    moment = None
    if ctx.args.since:
        from core.foundation.timeparse import parse_when

        moment = clock.iso(parse_when(ctx.args.since, flag="--since"))
    result = workspace_status(ctx.workspace, since=moment)
    return Reply(result, next=result.next)


COMMANDS = (status,)
