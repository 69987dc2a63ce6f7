"""`factory export tables|ddl`: the SQL views as Parquet files and the DDL that declares them
for Athena, Trino, Spark or DuckDB (adrs/0029-streaming-data.md)."""

from __future__ import annotations

from pathlib import Path

from core.cli.registry import Context, Reply, arg, command
from core.foundation.suggest import Next, factory, low

ENGINES = ("athena", "trino", "spark", "duckdb")


@command(
    "export tables",
    help="write the SQL views (events, inference, runs, params, metrics, folds, curves) as "
    "Parquet, the logs in Hive date partitions",
    schema="factory.export.tables/1",
    args=[
        arg(
            "folder",
            nargs="?",
            help="where to write (default .factory/export); an earlier export there is replaced",
        )
    ],
    mutating=True,
)
def export_tables(ctx: Context) -> Reply:
    from core.lens.export import export_tables as run

    folder = Path(ctx.args.folder) if ctx.args.folder else None
    result = run(ctx.workspace, folder)
    return Reply(
        result,
        next=[
            Next(
                factory("export", "ddl", "--engine", "athena", "--location", result.folder),
                "the table definitions over these files (copy the folder, then pass its URL)",
            )
        ],
    )


@command(
    "export ddl",
    help="print CREATE TABLE statements over `factory export tables` files for an engine",
    schema="factory.export.ddl/1",
    args=[
        arg("--engine", required=True, choices=ENGINES, help="the engine that reads the files"),
        arg(
            "--location",
            help="where the exported folder is (s3://bucket/prefix, a path; default "
            ".factory/export)",
        ),
        arg("--database", default="factory", help="database (schema) name (default factory)"),
    ],
    mutating=False,
)
def export_ddl(ctx: Context) -> Reply:
    from core.lens.export import export_ddl as run

    result = run(ctx.workspace, ctx.args.engine, ctx.args.location, ctx.args.database)
    return Reply(
        result,
        next=[low(factory("export", "tables"), "write (or refresh) the files these tables read")],
    )


COMMANDS = (export_tables, export_ddl)
