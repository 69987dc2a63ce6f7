"""`factory sunset candidates|retire|removal-list`: a way out of prod (issue 13)."""

from __future__ import annotations

from core.cli.registry import Context, Reply, arg, command
from core.flows.refs import resolve_run
from core.foundation.suggest import Next, factory, high, low


@command(
    "sunset candidates",
    help="runs that should leave service, and the rule each fails",
    schema="factory.sunset.candidates/1",
    args=[arg("model", nargs="?", help="default: every model")],
    mutating=False,
)
def sunset_candidates(ctx: Context) -> Reply:
    from core.operations.sunset.candidates import sunset_candidates as find

    result = find(ctx.workspace, ctx.args.model)
    steps: list[Next] = []
    for run in result.runs:
        if not run.candidate:
            continue
        steps.append(
            Next(
                factory("tiers", run.model),
                f"{run.run_id} is a sunset candidate ({', '.join(run.reasons)}): who serves "
                f"{run.model}, and which run could succeed it after a rollout",
            )
        )
    if not steps:
        steps.append(low(factory("status"), "no sunset candidate: what else is pending"))
    return Reply(result, next=steps)


@command(
    "sunset retire",
    help="retire a run for good: archive it with hashes; needs a successor that passed a rollout",
    schema="factory.sunset.retire/1",
    args=[
        arg("run", help="the run to retire (id, prefix, MODEL:best, ...)"),
        arg("--successor", help="the run that replaces it (must have passed a rollout)"),
        arg("--reason", required=True, help="why it retires (recorded in the card and archive)"),
        arg(
            "--override",
            metavar="REASON",
            help="retire without a successor that passed a rollout; the reason goes in an ADR",
        ),
    ],
    mutating=True,
)
def sunset_retire(ctx: Context) -> Reply:
    from core.operations.sunset.retire import retire

    a = ctx.args
    ws = ctx.workspace
    run = resolve_run(ws, a.run)
    successor = resolve_run(ws, a.successor) if a.successor else None
    result = retire(ws, run, successor=successor, reason=a.reason, override=a.override)
    return Reply(
        result,
        next=[
            Next(
                factory("sunset", "removal-list", result.model),
                f"{result.run_id} retired: what only it used (components, modules, logs), "
                "listed as a dry run",
            ),
            low(factory("card", result.model), f"{result.model}'s card records the retirement"),
        ],
    )


@command(
    "sunset removal-list",
    help="everything only a model's retired runs use, with sizes; --apply moves it to archive/",
    schema="factory.sunset.removal_list/1",
    args=[
        arg("model", help="model name"),
        arg("--apply", action="store_true", help="act: move every listed item into archive/"),
    ],
    mutating=True,
)
def sunset_removal_list(ctx: Context) -> Reply:
    from core.operations.sunset.removal import removal_list

    result = removal_list(ctx.workspace, ctx.args.model, apply=ctx.args.apply)
    if result.applied:
        steps = [
            Next(factory("status"), "the workspace after the removal: every model still answers"),
            low(
                factory("sunset", "removal-list", result.model),
                "a second look lists nothing left to remove",
            ),
        ]
    elif result.remove:
        steps = [
            high(
                factory("sunset", "removal-list", result.model, "--apply"),
                f"move the {len(result.remove)} listed items ({result.bytes} bytes) into "
                "archive/ with a manifest of hashes",
            )
        ]
    else:
        steps = [low(factory("status"), "nothing only the retired runs use: what else is pending")]
    return Reply(result, next=steps)


COMMANDS = (sunset_candidates, sunset_retire, sunset_removal_list)
