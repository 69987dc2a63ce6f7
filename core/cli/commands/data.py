"""`factory data snapshot|list|show` and `factory validate`."""

from __future__ import annotations

from typing import Any

from core.cli.registry import Context, Reply, arg, command
from core.foundation.errors import ExitCode

DATASET_ARG = arg("--dataset", help="dataset name from factory.toml (default: the only one)")


@command(
    "data snapshot",
    help="validate a dataset source and store an immutable snapshot (ds-<hash>)",
    schema="factory.data.snapshot/1",
    args=[
        arg(
            "source",
            nargs="?",
            help="CSV or Parquet file (default: the dataset's source in factory.toml)",
        ),
        DATASET_ARG,
    ],
    mutating=True,
)
def data_snapshot(ctx: Context) -> Reply:
    from core.data.snapshots import create_snapshot

    result = create_snapshot(ctx.workspace, ctx.args.dataset, ctx.args.source)
    dataset = result.manifest["dataset"]
    models = [m.name for m in ctx.workspace.config.models.values() if m.dataset == dataset]
    next_commands = [f"factory data show {result.id}"]
    next_commands += [f"factory train {m} --snapshot {result.id}" for m in models]
    return Reply(result, next=next_commands)


@command(
    "data list",
    help="list stored snapshots, newest last",
    schema="factory.data.list/1",
    args=[DATASET_ARG],
)
def data_list(ctx: Context) -> Reply:
    from core.data.snapshots import dataset_config, list_manifests

    name = ctx.args.dataset
    if name is not None:
        dataset_config(ctx.workspace, name)
    rows = [
        {
            "id": m["id"],
            "dataset": m["dataset"],
            "rows": m["rows"],
            "time_range": m["time_range"],
            "schema_version": m.get("schema_version"),
            "source": m.get("source"),
            "created_at": m.get("created_at"),
        }
        for m in list_manifests(ctx.workspace, name)
    ]
    next_commands = (
        [f"factory data show {rows[-1]['id']}"]
        if rows
        else [f"factory data snapshot --dataset {d}" for d in ctx.workspace.config.datasets]
    )
    return Reply({"snapshots": rows, "count": len(rows)}, next=next_commands)


@command(
    "data show",
    help="describe one snapshot: source, rows, columns, dtypes, time range, schema",
    schema="factory.data.show/1",
    args=[arg("id", help="snapshot id (ds-...)")],
)
def data_show(ctx: Context) -> Reply:
    from core.data.snapshots import get_manifest

    manifest: dict[str, Any] = get_manifest(ctx.workspace, ctx.args.id)
    return Reply(manifest, next=['factory query "SELECT * FROM snapshots"'])


@command(
    "validate",
    help="check a CSV or Parquet file against a dataset's schema, storing nothing",
    schema="factory.validate/1",
    args=[arg("source", help="CSV or Parquet file"), DATASET_ARG],
)
def validate(ctx: Context) -> Reply:
    from core.data.snapshots import validate_only

    report = validate_only(ctx.workspace, ctx.args.dataset, ctx.args.source)
    dataset = report.dataset
    if report.ok:
        return Reply(report, next=[f"factory data snapshot {ctx.args.source} --dataset {dataset}"])
    return Reply(
        report,
        next=[f"factory validate {ctx.args.source} --dataset {dataset}"],
        exit_code=ExitCode.CHECK_FAILED,
    )


COMMANDS = (data_snapshot, data_list, data_show, validate)
