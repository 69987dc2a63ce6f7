"""`factory query`: read-only SQL over the workspace views."""

from __future__ import annotations

from core.cli.registry import Context, Reply, arg, command
from core.foundation.errors import UsageError
from core.foundation.suggest import low


@command(
    "query",
    help="run read-only SQL over the workspace views (events, snapshots, runs, ...)",
    schema="factory.query/1",
    args=[
        arg("sql", nargs="?", help="a SELECT statement; see --tables for views and columns"),
        arg("--tables", action="store_true", help="list the views and their columns"),
        arg("--limit", type=int, default=200, help="at most this many rows (default 200; 0 = all)"),
    ],
    mutating=False,
)
def query(ctx: Context) -> Reply:
    from core.lens.store import list_tables, run_query

    if ctx.args.tables:
        return Reply(
            list_tables(ctx.workspace),
            next=[
                low('factory query "SELECT * FROM events LIMIT 10"', "ten events, to see the shape")
            ],
        )
    if not ctx.args.sql:
        raise UsageError(
            "give a SQL statement or --tables", hint='factory query "SELECT count(*) FROM events"'
        )
    if ctx.args.limit < 0:
        raise UsageError("--limit must be 0 or more")
    result = run_query(ctx.workspace, ctx.args.sql, limit=ctx.args.limit or None)
    return Reply(result)


COMMANDS = (query,)
