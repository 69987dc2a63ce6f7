"""`factory compact`: columnar compaction behind the SQL views (adrs/0028)."""

from __future__ import annotations

from core.cli.registry import Context, Reply, arg, command
from core.foundation.errors import UsageError
from core.foundation.log_archive import PRUNE_KEEP_DAYS
from core.foundation.suggest import Next


@command(
    "compact",
    help="compact run tables and closed log partitions into Parquet for fast queries",
    schema="factory.compact/1",
    args=[
        arg(
            "--prune",
            action="store_true",
            help="then delete the JSONL log files whose lines the published Parquet holds",
        ),
        arg(
            "--keep-days",
            type=int,
            default=PRUNE_KEEP_DAYS,
            metavar="N",
            help=f"with --prune, keep the JSONL of the newest N days (default {PRUNE_KEEP_DAYS})",
        ),
    ],
    mutating=True,
)
def compact(ctx: Context) -> Reply:
    from core.lens.compaction.compact import compact as run

    if ctx.args.keep_days < 0:
        raise UsageError(
            f"--keep-days must be 0 or more, not {ctx.args.keep_days}",
            hint="Pass how many of the newest days of logs to keep as JSONL, e.g. --keep-days 14.",
        )
    result = run(ctx.workspace, prune=ctx.args.prune, keep_days=ctx.args.keep_days)
    return Reply(
        result,
        next=[
            Next(
                'factory query "SELECT model, count(*) AS runs FROM runs GROUP BY model"',
                "the views now read the compacted Parquet: count the runs per model",
            )
        ],
    )


COMMANDS = (compact,)
