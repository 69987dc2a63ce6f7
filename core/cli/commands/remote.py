"""`factory push|pull|rebuild`: artifacts and snapshots back in a fresh clone."""

from __future__ import annotations

from core.cli.registry import Context, Reply, arg, command
from core.flows.refs import resolve_run
from core.foundation.errors import ExitCode
from core.foundation.suggest import Next, factory, high, low

ITEMS_ARG = arg(
    "items",
    nargs="*",
    metavar="ITEM",
    help="runs (id, prefix, best, prod, MODEL:staging ...) or snapshot ids (ds-...)",
)
REMOTE_ARG = arg(
    "--remote", help="a folder or fsspec URL (default: FACTORY_REMOTE, else [remote] url)"
)


def _rebuild(ctx: Context, run_id: str, why: str) -> Next:
    """`factory rebuild RUN`, with the remote this call used when one was given."""
    remote = ["--remote", ctx.args.remote] if getattr(ctx.args, "remote", None) else []
    return high(factory("rebuild", run_id, *remote), why)


def _items(ctx: Context) -> list[tuple[str, str]]:
    return [
        ("snapshot", ref) if ref.startswith("ds-") else ("run", resolve_run(ctx.workspace, ref))
        for ref in ctx.args.items
    ]


@command(
    "push",
    help="copy run artifacts and snapshots to the remote (content-addressed, verified)",
    schema="factory.remote/1",
    args=[ITEMS_ARG, REMOTE_ARG],
    mutating=True,
    description="Without ITEM: every artifact and snapshot this workspace holds. Files the "
    "remote already has (same SHA-256) are not sent again.",
)
def push(ctx: Context) -> Reply:
    from core.operations import remote

    ws = ctx.workspace
    url = remote.remote_url(ws, ctx.args.remote)
    items = _items(ctx) or remote.local_items(ws)
    result = remote.push(ws, items, url)
    missing = [i.id for i in result.items if i.status == "missing_local"]
    code = ExitCode.CHECK_FAILED if missing else ExitCode.OK
    nxt = [
        _rebuild(ctx, i, f"{i}'s artifact is not here to push: retrains it from its report")
        for i in missing
        if i.startswith("r-")
    ][:3]
    return Reply(result, next=nxt, exit_code=code)


@command(
    "pull",
    help="bring run artifacts and snapshots from the remote, each file checked by SHA-256",
    schema="factory.remote/1",
    args=[
        ITEMS_ARG,
        REMOTE_ARG,
        arg(
            "--all",
            action="store_true",
            help="every run with a report and its snapshot (default: the staging and prod runs)",
        ),
    ],
    mutating=True,
    description="A local copy that differs from the remote's is kept and reported as a "
    "conflict, never overwritten.",
)
def pull(ctx: Context) -> Reply:
    from core.operations import remote

    ws = ctx.workspace
    url = remote.remote_url(ws, ctx.args.remote)
    items = _items(ctx) or remote.referenced_items(ws, live_only=not ctx.args.all)
    result = remote.pull(ws, items, url)
    bad = [i for i in result.items if i.status in ("missing_remote", "conflict")]
    nxt: list[Next] = [
        _rebuild(ctx, i.id, f"{i.id} could not be pulled ({i.status}): retrains it from its report")
        for i in bad
        if i.kind == "run"
    ][:3]
    nxt += (
        [
            low(factory("tiers", m), f"who holds {m}'s tiers (their artifacts are here now)")
            for m in list(ws.config.models)[:2]
        ]
        if not bad
        else []
    )
    return Reply(result, next=nxt, exit_code=ExitCode.CHECK_FAILED if bad else ExitCode.OK)


@command(
    "rebuild",
    help="retrain a run's artifact from its report and install it only if it reproduces the report",
    schema="factory.rebuild/1",
    args=[
        arg("run", help="run id, prefix, best, prod or MODEL:staging"),
        REMOTE_ARG,
    ],
    mutating=True,
    background=True,
    description="Uses the pinned snapshot (from here, the remote, or the dataset's source when it "
    "still hashes to the same id). Reports, cards and committed files are never rewritten.",
)
def rebuild(ctx: Context) -> Reply:
    from core.operations.rebuild import rebuild as rebuild_run

    ws = ctx.workspace
    result = rebuild_run(ws, resolve_run(ws, ctx.args.run), remote=ctx.args.remote)
    if result.status == "mismatch":
        return Reply(
            result,
            next=[
                Next(
                    factory("show", result.run_id),
                    "the report the retrain did not reproduce: its inputs and metrics",
                ),
                Next(
                    factory("pull", result.run_id),
                    "the artifact as trained, from the remote, instead of a retrain",
                ),
            ],
            exit_code=ExitCode.CHECK_FAILED,
        )
    return Reply(
        result,
        next=[low(factory("tiers", result.model), f"which tiers of {result.model} it serves")],
    )


COMMANDS = (push, pull, rebuild)
