"""`factory rollout plan|start|status|pause|resume|abort|tick MODEL`."""

from __future__ import annotations

from typing import Any

from core.cli.registry import Context, Reply, arg, command
from core.flows.refs import resolve_run
from core.foundation.errors import ExitCode
from core.foundation.suggest import Next, factory, high, low

MODEL = arg("model", help="model name from factory.toml")
MODE = arg(
    "--mode",
    default="canary",
    choices=["shadow", "canary", "ab"],
    help="shadow (the challenger scores every request, never answers), canary (traffic "
    "in steps, then promote) or ab (one split until it decides); default canary",
)


def _next(view: Any) -> list[Next]:
    model, status, rid = view.model, view.status, view.rollout_id
    if status in ("running", "paused"):
        out = [
            Next(
                factory("rollout", "tick", model, "--now"),
                f"analyse {rid} now instead of at {view.next_analysis_at}: every criterion's "
                "value, threshold and verdict, then advance, promote or abort",
            ),
            low(factory("rollout", "status", model), f"where {rid} stands, read only"),
        ]
        if status == "paused":
            out.insert(
                0,
                high(
                    factory("rollout", "resume", model),
                    f"{rid} is paused: {view.paused_reason}; resume lets it advance and promote",
                ),
            )
        else:
            out.append(
                low(
                    factory("rollout", "pause", model, "--reason", "hold for review"),
                    "hold the traffic where it is (a failing criterion still aborts)",
                )
            )
        out.append(
            low(
                factory("rollout", "abort", model, "--reason", "stopped by hand"),
                f"send all of prod's traffic back to {view.stable} now",
            )
        )
        return out
    if status in ("aborting", "promoting"):
        return [
            high(
                factory("rollout", "tick", model),
                f"{rid} was interrupted while {status}: a tick completes it",
            )
        ]
    if status == "passed":
        return [
            Next(
                factory("rollout", "start", model, "--run", view.challenger, "--mode", "canary"),
                "the shadow passed: serve the challenger a share of real traffic, in steps",
            )
        ]
    if status == "aborted":
        return [
            high(factory("alerts"), f"the abort of {rid} raised an alert to acknowledge"),
            Next(factory("tiers", model), f"{view.stable} serves prod again"),
            low(
                factory("show", view.challenger), f"what {view.challenger} is, to fix or replace it"
            ),
        ]
    return [
        Next(factory("tiers", model), f"who serves {model} now"),
        low(factory("card", model), f"{model}'s card records the rollout"),
    ]


@command(
    "rollout plan",
    help="how many requests and how long until a rollout can decide; can quality be decided online?",
    schema="factory.rollout-plan/1",
    args=[
        MODEL,
        arg("--run", required=True, help="the challenger (id, prefix, best, staging, ...)"),
        MODE,
    ],
    mutating=False,
)
def rollout_plan(ctx: Context) -> Reply:
    from core.operations.rollouts.plan import plan_rollout

    a = ctx.args
    result = plan_rollout(
        ctx.workspace, a.model, resolve_run(ctx.workspace, a.run, model=a.model), mode=a.mode
    )
    if result.stable is None:
        return Reply(result, next=[Next(
            factory("gate", result.challenger, "--to", "staging"),
            f"nothing serves {a.model}'s prod: gate the run for staging, then promote it",
        )])  # fmt: skip
    start = factory(
        "rollout", "start", a.model, "--run", result.challenger, "--mode", result.recommended_mode
    )
    return Reply(result, next=[Next(start, result.recommendation)])


@command(
    "rollout start",
    help="roll a challenger out against prod: shadow, canary or A/B, decided every interval",
    schema="factory.rollout/1",
    args=[
        MODEL,
        arg("--run", required=True, help="the challenger; needs a current passing staging gate"),
        MODE,
        arg("--steps", help="canary traffic shares, e.g. 5,25,50 (percent); A/B: one, e.g. 50"),
        arg("--interval", help="time between analyses: 30s, 5m (default), 1h"),
        arg("--min-requests", type=int, help="requests per arm before any verdict (default 100)"),
        arg("--failure-limit", type=int, help="failed analyses tolerated before abort (default 0)"),
        arg(
            "--inconclusive-limit",
            type=int,
            help="inconclusive analyses tolerated before pause and alert (default 24)",
        ),
        arg(
            "--consecutive-error-limit",
            type=int,
            help="analyses in a row that cannot be computed before abort (default 4)",
        ),
        arg(
            "--alpha", type=float, help="chance of a wrong decision over the rollout (default 0.05)"
        ),
        arg(
            "--quality",
            choices=["off", "on", "required"],
            help="analyse quality once outcomes join (on), and require it to pass (required); "
            "default: on when outcomes of the model have joined, else off",
        ),
        arg(
            "--latency-ratio-max",
            type=float,
            help="the challenger's p95 latency at most this times the stable run's (default: "
            "the prod gate's, 1.10)",
        ),
        arg(
            "--error-rate-margin",
            type=float,
            help="the challenger's error rate above the stable run's by less than this "
            "(default 0.01)",
        ),
        arg(
            "--cost-ratio-max",
            type=float,
            help="the challenger's CPU cost per request at most this times the stable run's "
            "(default 1.10)",
        ),
        arg("--again", action="store_true", help="a new attempt of a spec whose rollout ended"),
    ],
    mutating=True,
)
def rollout_start(ctx: Context) -> Reply:
    from core.operations.rollouts.actions import start
    from core.operations.rollouts.spec import parse_steps

    a = ctx.args
    view = start(
        ctx.workspace,
        a.model,
        resolve_run(ctx.workspace, a.run, model=a.model),
        mode=a.mode,
        steps=parse_steps(a.steps) if a.steps else None,
        interval=a.interval,
        again=a.again,
        min_requests=a.min_requests,
        failure_limit=a.failure_limit,
        inconclusive_limit=a.inconclusive_limit,
        consecutive_error_limit=a.consecutive_error_limit,
        alpha=a.alpha,
        quality=a.quality,
        latency_ratio_max=a.latency_ratio_max,
        error_rate_margin=a.error_rate_margin,
        cost_ratio_max=a.cost_ratio_max,
    )
    return Reply(view, next=_next(view))


@command(
    "rollout status",
    help="a model's rollout: state, share, every criterion's value / threshold / verdict, next step",
    schema="factory.rollout/1",
    args=[MODEL, arg("--id", dest="rollout_id", help="another rollout than the newest")],
    mutating=False,
)
def rollout_status(ctx: Context) -> Reply:
    from core.operations.rollouts.actions import status

    view = status(ctx.workspace, ctx.args.model, ctx.args.rollout_id)
    return Reply(view, next=_next(view))


@command(
    "rollout list",
    help="every rollout of a model, oldest first",
    schema="factory.rollouts/1",
    args=[MODEL],
    mutating=False,
)
def rollout_list(ctx: Context) -> Reply:
    from core.operations.rollouts.actions import list_rollouts

    model = ctx.args.model
    return Reply(
        list_rollouts(ctx.workspace, model),
        next=[low(factory("rollout", "status", model), f"{model}'s newest rollout in full")],
    )


@command(
    "rollout pause",
    help="hold a rollout's traffic where it is (analyses go on; a failure still aborts)",
    schema="factory.rollout/1",
    args=[MODEL, arg("--reason", default="paused by hand", help="why (recorded in the event)")],
    mutating=True,
)
def rollout_pause(ctx: Context) -> Reply:
    from core.operations.rollouts.actions import pause

    view = pause(ctx.workspace, ctx.args.model, ctx.args.reason)
    return Reply(view, next=_next(view))


@command(
    "rollout resume",
    help="let a paused rollout advance and promote again",
    schema="factory.rollout/1",
    args=[MODEL],
    mutating=True,
)
def rollout_resume(ctx: Context) -> Reply:
    from core.operations.rollouts.actions import resume

    view = resume(ctx.workspace, ctx.args.model)
    return Reply(view, next=_next(view))


@command(
    "rollout abort",
    help="end a rollout now: prod's traffic back to the stable run, one alert, the verdict",
    schema="factory.rollout/1",
    args=[
        MODEL,
        arg("--reason", required=True, help="why (in the card, the events and the alert)"),
    ],
    mutating=True,
)
def rollout_abort(ctx: Context) -> Reply:
    from core.operations.rollouts.actions import abort

    view = abort(ctx.workspace, ctx.args.model, ctx.args.reason)
    return Reply(view, next=_next(view))


@command(
    "rollout tick",
    help="analyse a rollout if its interval has passed, then advance, pause, promote or abort",
    schema="factory.rollout/1",
    args=[MODEL, arg("--now", action="store_true", help="analyse now, even before the interval")],
    mutating=True,
)
def rollout_tick(ctx: Context) -> Reply:
    from core.operations.rollouts.actions import tick

    view = tick(ctx.workspace, ctx.args.model, force=ctx.args.now)
    code = ExitCode.CHECK_FAILED if view.changed and view.status == "aborted" else ExitCode.OK
    return Reply(view, next=_next(view), exit_code=code)


COMMANDS = (
    rollout_plan,
    rollout_start,
    rollout_status,
    rollout_list,
    rollout_pause,
    rollout_resume,
    rollout_abort,
    rollout_tick,
)
