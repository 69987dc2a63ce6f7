"""`factory data snapshot|list|show` and `factory validate`."""

from __future__ import annotations

from typing import Any

from core.cli.registry import Context, Reply, arg, command
from core.foundation.errors import ExitCode
from core.foundation.suggest import Next, factory, high, low

DATASET_ARG = arg("--dataset", help="dataset name from factory.toml (default: the only one)")


@command(
    "data snapshot",
    help="validate a dataset source and store an immutable snapshot (ds-<hash>)",
    schema="factory.data.snapshot/2",
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
    next_commands = [_use_snapshot(ctx, m, result.id) for m in models]
    next_commands.append(
        low(factory("data", "show", result.id), "its rows, columns, time range and schema")
    )
    return Reply(result, next=next_commands)


def _use_snapshot(ctx: Context, model: str, snapshot: str) -> Next:
    """A model with a best run on older data: does the new data alone help it? Else: train
    on the snapshot."""
    from core.experiments.index import best_run

    best = best_run(ctx.workspace, model)
    if best is not None and best.snapshot_id not in (None, snapshot):
        return Next(
            factory("check", "new-data", model, "--snapshot", snapshot),
            f"does {snapshot} alone help {model}? retrains {best.run_id}'s recipe on it and "
            "scores the newest window",
        )
    return Next(
        factory("train", model, "--snapshot", snapshot),
        f"a {model} run on {snapshot} with its factory.toml components",
    )


@command(
    "data list",
    help="list stored snapshots, newest last",
    schema="factory.data.list/2",
    args=[DATASET_ARG],
    mutating=False,
)
def data_list(ctx: Context) -> Reply:
    from core.data.snapshots import dataset_config, list_manifests

    name = ctx.args.dataset
    if name is not None:
        dataset_config(ctx.workspace, name)
    from core.data.manifests import SnapshotList

    listed = SnapshotList.of(list_manifests(ctx.workspace, name))
    rows = listed.snapshots
    next_commands = (
        [low(factory("data", "show", rows[-1]["snapshot_id"]), "the newest snapshot in full")]
        if rows
        else [
            high(
                factory("data", "snapshot", "--dataset", d),
                f"no snapshot of {d} yet: stores the immutable copy runs train on",
            )
            for d in ctx.workspace.config.datasets
            if name in (None, d)
        ]
    )
    return Reply(listed, next=next_commands)


@command(
    "data show",
    help="describe one snapshot: source, rows, columns, dtypes, time range, schema",
    schema="factory.data.show/2",
    args=[arg("id", help="snapshot id (ds-...)")],
    mutating=False,
)
def data_show(ctx: Context) -> Reply:
    from core.data.manifests import ManifestView
    from core.data.snapshots import get_manifest

    manifest: dict[str, Any] = get_manifest(ctx.workspace, ctx.args.id)
    return Reply(
        ManifestView(manifest),
        next=[low('factory query "SELECT * FROM snapshots"', "every snapshot as one SQL table")],
    )


@command(
    "validate",
    help="check a CSV or Parquet file against a dataset's schema, storing nothing",
    schema="factory.validate/1",
    args=[arg("source", help="CSV or Parquet file"), DATASET_ARG],
    mutating=False,
)
def validate(ctx: Context) -> Reply:
    from core.data.snapshots import validate_only

    report = validate_only(ctx.workspace, ctx.args.dataset, ctx.args.source)
    dataset = report.dataset
    if report.ok:
        return Reply(
            report,
            next=[
                Next(
                    factory("data", "snapshot", ctx.args.source, "--dataset", dataset),
                    "the file fits the schema: store it as an immutable snapshot",
                )
            ],
        )
    return Reply(
        report,
        next=[
            low(
                factory("validate", ctx.args.source, "--dataset", dataset),
                "once the rows and columns at fault are fixed: checks the file again",
            )
        ],
        exit_code=ExitCode.CHECK_FAILED,
    )


COMMANDS = (data_snapshot, data_list, data_show, validate)
