"""`factory history`: what did I do last Saturday?"""

from __future__ import annotations

from core.cli.registry import Context, Reply, arg, command
from core.foundation.errors import UsageError
from core.foundation.suggest import Next, factory, low

DEFAULT_SINCE = "7d"


@command(
    "history",
    help="what happened when: events in a time range, grouped by session, newest first",
    description="Events in a time range grouped into sessions, newest first. A session is a "
    "FACTORY_SESSION name, or commands typed less than 30 minutes apart (a work session). "
    "WHEN is read in local time: 2026-11-21, 2026-11-21T14:30, today, yesterday, saturday "
    "(the most recent one before today), or relative: 30m, 12h, 7d, 2w. Read-only commands "
    "(status, query, history) are hidden unless --all.",
    schema="factory.history/1",
    args=[
        arg("--since", metavar="WHEN", help=f"from this time (default: {DEFAULT_SINCE})"),
        arg("--until", metavar="WHEN", help="up to this time (a whole day counts to its end)"),
        arg("--on", metavar="DAY", help="exactly this day, e.g. --on saturday, --on 2026-11-21"),
        arg("--session", metavar="ID", help="only this session (named, w-... or p-... id)"),
        arg("--all", action="store_true", help="also show read-only commands"),
        arg("--limit", type=int, default=5, help="at most N sessions (default 5; 0 = all)"),
        arg(
            "--lines",
            type=int,
            default=40,
            help="at most N lines per session, the newest (default 40; 0 = up to 200); "
            "--session shows 200",
        ),
    ],
    mutating=False,
)
def history(ctx: Context) -> Reply:
    from core.foundation.timeparse import resolve_range
    from core.overview.history import history as read_history

    args = ctx.args
    if args.limit < 0 or args.lines < 0:
        raise UsageError("--limit and --lines must be 0 or more", hint="factory history --limit 5")
    lines = args.lines or None
    if args.session and args.lines == 40:
        lines = None  # one session asked for by name: show it whole
    default = None if args.session else DEFAULT_SINCE
    time_range = resolve_range(args.since, args.until, args.on, default_since=default)
    result = read_history(
        ctx.workspace,
        time_range,
        session=args.session,
        include_read_only=args.all,
        limit=args.limit or None,
        lines=lines,
    )
    follow: list[Next] = []
    if result.sessions and not args.session:
        newest = result.sessions[0].session_id
        follow.append(
            Next(
                factory("history", "--session", newest),
                f"the newest session {newest} whole, every line",
            )
        )
    if not args.all and result.hidden:
        follow.append(
            low(
                factory("history", "--all"),
                f"also the {result.hidden} read-only commands hidden here",
            )
        )
    follow.append(
        low(
            'factory query "SELECT event, count(*) AS n FROM events GROUP BY event"',
            "how often each kind of event happened, as SQL",
        )
    )
    return Reply(result, next=follow)


COMMANDS = (history,)
