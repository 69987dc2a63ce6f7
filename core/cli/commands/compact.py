"""`factory compact`: columnar compaction behind the SQL views (adrs/0028)."""

from __future__ import annotations

from core.cli.registry import Context, Reply, arg, command
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
        )
    ],
    mutating=True,
)
def compact(ctx: Context) -> Reply:
    from core.lens.compaction.compact import compact as run

    result = run(ctx.workspace, prune=ctx.args.prune)
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
