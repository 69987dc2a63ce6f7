"""`factory serve|serve check|perf`: the live tiers over HTTP, and what serving them costs."""

from __future__ import annotations

from core.cli.registry import Context, Reply, arg, command
from core.foundation.errors import ExitCode
from core.foundation.suggest import Next, factory, high, low


@command(
    "serve",
    help="serve every model's staging and prod runs over HTTP (127.0.0.1 by default) until "
    "SIGINT or SIGTERM; each prediction logged",
    description="Serve every model's live tiers from one process: POST /v1/MODEL/predict "
    "(prod), POST /v1/MODEL/TIER/predict, GET /v1/MODEL/tiers, GET /v1/health. A promote or "
    "rollback is served within about a second, without a restart. Prints `serving on URL` "
    "on stderr once it listens; the JSON answer comes when it stops.",
    schema="factory.serve/1",
    args=[
        arg("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)"),
        arg("--port", type=int, default=8000, help="port (default 8000; 0 picks a free one)"),
        arg("--no-log", action="store_true", help="do not write inference log lines"),
        arg(
            "--allow-changed",
            action="store_true",
            help="serve runs whose features or arch code changed since they trained "
            "(recorded in the inference log)",
        ),
        arg(
            "--shadow-queue",
            type=int,
            default=64,
            metavar="N",
            help="shadow requests waiting at most (default 64; more are dropped and counted)",
        ),
    ],
    mutating=True,
    interactive=True,
)
def serve(ctx: Context) -> Reply:
    from core.serve.run import serve as run_server

    a = ctx.args
    result = run_server(
        ctx.workspace,
        host=a.host,
        port=a.port,
        log=not a.no_log,
        allow_changed=a.allow_changed,
        shadow_queue=a.shadow_queue,
    )
    steps = [
        Next(
            factory("perf", model),
            f"latency, errors and cost per run and tier of {model}, from the inference log",
        )
        for model, tiers in result.models.items()
        if any(tiers.values())
    ]
    return Reply(result, next=steps)


@command(
    "serve check",
    help="is what is served the run? library versions and component hashes against the run's "
    "report, online against batch on the last logged requests (exit 1 on a failure)",
    schema="factory.serve.check/1",
    args=[
        arg("model", help="model name"),
        arg(
            "--last",
            type=int,
            default=100,
            metavar="N",
            help="logged online requests to score again in batch (default 100)",
        ),
        arg(
            "--url",
            help="a running server (http://127.0.0.1:PORT): check the versions it reports; "
            "default: this installation's",
        ),
    ],
    mutating=False,
)
def serve_check(ctx: Context) -> Reply:
    from core.serve.check import check_serving

    a = ctx.args
    result = check_serving(ctx.workspace, a.model, last=a.last, url=a.url)
    if result.passed:
        return Reply(
            result,
            next=[
                low(
                    factory("perf", result.model),
                    "the served runs' latency, errors and cost from the same log",
                )
            ],
        )
    steps = [
        high(
            factory("trace", request_id),
            "an online prediction that batch scoring does not reproduce: its run and inputs",
        )
        for request_id in result.mismatched[:1]
    ]
    return Reply(result, next=steps, exit_code=ExitCode.CHECK_FAILED)


@command(
    "perf",
    help="latency p50/p95/p99, error rate, CPU and cost per 1,000 predictions per run and "
    "tier, from the inference log",
    schema="factory.perf/1",
    args=[
        arg("model", help="model name"),
        arg("--mode", choices=["online", "batch", "shadow"], help="only this mode"),
    ],
    mutating=False,
)
def perf(ctx: Context) -> Reply:
    from core.operations.perf import perf as do_perf

    result = do_perf(ctx.workspace, ctx.args.model, ctx.args.mode)
    return Reply(
        result,
        next=[
            low(
                factory("query", "SELECT * FROM perf ORDER BY model, tier, run_id, mode"),
                "the same numbers for every model, as a table to filter or join",
            )
        ],
    )


COMMANDS = (serve, serve_check, perf)
