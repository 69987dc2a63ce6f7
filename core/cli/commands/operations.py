"""`factory drift|gate|promote|rollback|tiers|predict|trace|check new-data|alerts`."""

from __future__ import annotations

from typing import Any

from core.cli.registry import Context, Reply, arg, command
from core.flows.refs import resolve_run
from core.foundation.errors import ExitCode


@command(
    "drift",
    help="is the data still like the training data? per-column tests with effect sizes",
    schema="factory.drift/2",
    args=[
        arg("model", help="model name from factory.toml"),
        arg(
            "--reference",
            help="snapshot id (ds-...) or run (id, prefix, best, prod, staging): its training "
            "data (default: the prod run, else staging, else the best)",
        ),
        arg(
            "--current",
            help="snapshot id or a CSV/Parquet file (default with --last: the newest snapshot)",
        ),
        arg(
            "--last",
            metavar="WINDOW",
            help="only the newest rows of the current data, e.g. 90d or 12w",
        ),
        arg("--features", help="features version (default: the run's, else the model's)"),
    ],
    mutating=True,
)
def drift(ctx: Context) -> Reply:
    from core.operations.drift import check_drift

    a = ctx.args
    reference = a.reference
    if reference is None:
        reference = _serving(ctx.workspace, a.model)
    elif not reference.startswith("ds-"):
        reference = resolve_run(ctx.workspace, reference, model=a.model)
    result = check_drift(
        ctx.workspace,
        a.model,
        reference,
        current=a.current,
        last=a.last,
        features_version=a.features,
    )
    if result.drift_detected:
        return Reply(
            result,
            next=[
                f"open {result.html_path}",
                "factory alerts",
                f"factory train {a.model} --snapshot NEW_SNAPSHOT",
            ],
            exit_code=ExitCode.CHECK_FAILED,
        )
    return Reply(result, next=[f"open {result.html_path}", "factory status"])


def _serving(ws: Any, model: str) -> str:
    """The run whose training data a drift check compares with by default."""
    from core.foundation.errors import FactoryError

    for name in ("prod", "staging", "best"):
        try:
            return resolve_run(ws, name, model=model)
        except FactoryError:
            continue
    raise FactoryError(
        "no_run",
        f"{model} has no run to compare with: nothing in prod or staging, and no run yet",
        hint=f"Train one with `factory train {model}`, or pass --reference ds-... .",
    )


@command(
    "gate",
    help="may this run move to staging or prod? each criterion with value, threshold, pass",
    schema="factory.gate/2",
    args=[
        arg("run", help="run id (or a unique prefix)"),
        arg("--to", dest="tier", required=True, choices=["staging", "prod"], help="target tier"),
        arg(
            "--no-retrain",
            action="store_true",
            help="do not retrain to check reproducibility when no check is recorded (the criterion fails)",
        ),
    ],
    mutating=True,
)
def gate(ctx: Context) -> Reply:
    from core.operations.gates import evaluate_gate

    result = evaluate_gate(
        ctx.workspace,
        resolve_run(ctx.workspace, ctx.args.run),
        ctx.args.tier,
        retrain=not ctx.args.no_retrain,
    )
    if result.passed:
        return Reply(result, next=[f"factory promote {result.run_id} --to {result.tier}"])
    if result.incumbent == result.run_id:
        # It already holds the tier: there is nothing to compare it with.
        following = [f"factory tiers {result.model}", f"factory runs {result.model}"]
    elif result.incumbent:
        following = [f"factory compare {result.incumbent} {result.run_id}"]
    else:
        following = [f"factory show {result.run_id}"]
    return Reply(result, next=following, exit_code=ExitCode.CHECK_FAILED)


@command(
    "promote",
    help="move a run into staging or prod (needs a passing, current gate verdict)",
    schema="factory.promote/1",
    args=[
        arg("run", help="run id (or a unique prefix)"),
        arg("--to", dest="tier", required=True, choices=["staging", "prod"], help="target tier"),
        arg(
            "--override",
            metavar="REASON",
            help="promote without a passing gate; the reason goes in the card, events and an ADR",
        ),
    ],
    mutating=True,
)
def promote(ctx: Context) -> Reply:
    from core.operations.tiers import promote as do_promote

    result = do_promote(
        ctx.workspace,
        resolve_run(ctx.workspace, ctx.args.run),
        ctx.args.tier,
        override=ctx.args.override,
    )
    next_commands = [f"factory tiers {result.model}"]
    if result.tier == "staging":
        next_commands.insert(0, f"factory gate {result.run_id} --to prod")
    else:
        next_commands.insert(0, f"factory predict {result.model} --input FILE --tier prod")
    return Reply(result, next=next_commands)


@command(
    "rollback",
    help="put the previous champion of a tier back",
    schema="factory.rollback/1",
    args=[
        arg("model", help="model name"),
        arg("--reason", required=True, help="why (recorded in the card, the events and an alert)"),
        arg(
            "--tier",
            default="prod",
            choices=["staging", "prod"],
            help="tier to roll back (default prod)",
        ),
    ],
    mutating=True,
)
def rollback(ctx: Context) -> Reply:
    from core.operations.tiers import rollback as do_rollback

    result = do_rollback(ctx.workspace, ctx.args.model, ctx.args.reason, ctx.args.tier)
    return Reply(result, next=[f"factory tiers {result.model}", "factory alerts"])


@command(
    "tiers",
    help="which run holds each tier, now or at a past moment (history replay)",
    schema="factory.tiers/1",
    args=[
        arg("model", help="model name"),
        arg(
            "--at",
            metavar="WHEN",
            help="a past moment: 2026-11-20, yesterday, 3d, 2026-11-20T14:00Z",
        ),
    ],
)
def tiers(ctx: Context) -> Reply:
    from core.operations.tier_state import tiers_at

    result = tiers_at(ctx.workspace, ctx.args.model, ctx.args.at)
    return Reply(
        result,
        next=[f"factory predict {result.model} --input FILE --tier prod"]
        if result.tiers.get("prod")
        else [],
    )


@command(
    "predict",
    help="score a CSV/Parquet file with a tier's model; one inference log line per prediction",
    schema="factory.predict/1",
    args=[
        arg("model", help="model name"),
        arg(
            "--input",
            required=True,
            help="CSV or Parquet file with the dataset's columns (and history rows)",
        ),
        arg(
            "--tier",
            default="prod",
            choices=["prod", "staging", "dev"],
            help="tier whose run scores (default prod)",
        ),
        arg("--run", help="with --tier dev: the run to score with"),
        arg(
            "--output",
            dest="output_path",
            help="where to write predictions (.csv or .parquet; default predictions/...)",
        ),
        arg(
            "--from",
            dest="start",
            metavar="DATE",
            help="score rows on or after DATE; earlier rows are history only",
        ),
        arg("--no-log", action="store_true", help="do not write inference log lines"),
        arg(
            "--allow-changed",
            action="store_true",
            help="score even though the run's features or arch code changed since it trained "
            "(recorded in the inference log)",
        ),
    ],
    mutating=True,
)
def predict(ctx: Context) -> Reply:
    from core.operations.predict import predict_file

    a = ctx.args
    result = predict_file(
        ctx.workspace,
        a.model,
        a.input,
        tier=a.tier,
        run=resolve_run(ctx.workspace, a.run, model=a.model) if a.run else None,
        output=a.output_path,
        start=a.start,
        log=not a.no_log,
        allow_changed=a.allow_changed,
    )
    next_commands = (
        [f"factory trace {result.first_request_id}"]
        if result.first_request_id and result.log_file
        else []
    )
    next_commands.append(
        'factory query "SELECT tier, run_id, count(*) FROM inference GROUP BY ALL"'
    )
    return Reply(result, next=next_commands)


@command(
    "trace",
    help="from a prediction back to its run, components, snapshot and card entry",
    schema="factory.trace/1",
    args=[
        arg("request_id", help="request id (rq-...) from a predictions file or the inference log")
    ],
)
def trace(ctx: Context) -> Reply:
    from core.operations.predict import trace as do_trace

    result = do_trace(ctx.workspace, ctx.args.request_id)
    return Reply(result, next=[f"factory show {result.run['run_id']}"])


@command(
    "check new-data",
    help="does new data alone help? retrain the champion's recipe and compare on the newest window",
    schema="factory.check.new_data/1",
    args=[
        arg("model", help="model name"),
        arg("--snapshot", required=True, help="the newer snapshot id (ds-...)"),
    ],
    mutating=True,
)
def check_new_data(ctx: Context) -> Reply:
    from core.operations.newdata import check_new_data as do_check

    result = do_check(ctx.workspace, ctx.args.model, ctx.args.snapshot)
    if result.verdict == "helps":
        return Reply(
            result, next=[f"factory train {result.model} --snapshot {result.new_snapshot}"]
        )
    return Reply(result, next=result.next, exit_code=ExitCode.CHECK_FAILED)


@command(
    "alerts",
    help="open alerts (drift, failed gates, rollbacks, new data that does not help)",
    schema="factory.alerts/1",
    args=[
        arg("--all", dest="include_acked", action="store_true", help="include acknowledged alerts"),
        arg("--model", help="only this model's alerts"),
    ],
)
def alerts(ctx: Context) -> Reply:
    from core.operations.alerts import list_alerts

    result = list_alerts(ctx.workspace, include_acked=ctx.args.include_acked, model=ctx.args.model)
    return Reply(
        result,
        next=[f"factory alerts ack {a.alert_id}" for a in result.alerts if a.state == "open"][:3],
    )


@command(
    "alerts ack",
    help="acknowledge an alert",
    schema="factory.alerts.ack/1",
    args=[arg("alert_id", help="alert id (al-...)")],
    mutating=True,
)
def alerts_ack(ctx: Context) -> Reply:
    from core.operations.alerts import ack_alert

    result = ack_alert(ctx.workspace, ctx.args.alert_id)
    return Reply(result, next=["factory alerts"])


COMMANDS = (
    drift,
    gate,
    promote,
    rollback,
    tiers,
    predict,
    trace,
    check_new_data,
    alerts,
    alerts_ack,
)
