"""`factory drift|gate|promote|rollback|tiers|predict|trace|check new-data|alerts`."""

from __future__ import annotations

from typing import Any

from core.cli.registry import Context, Reply, arg, command
from core.flows.refs import resolve_run
from core.foundation.errors import ExitCode
from core.foundation.suggest import Next, factory, high, low


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
        return Reply(result, next=_after_drift(result), exit_code=ExitCode.CHECK_FAILED)
    return Reply(
        result,
        next=[
            low(
                factory("status"),
                f"no drift in {result.drifted_count} of {result.column_count} columns: what "
                "else is pending",
            )
        ],
    )


def _after_drift(result: Any) -> list[Next]:
    """Drift found: does retraining on the drifted data help (when it is a newer snapshot
    than the reference's), and the alert it raised."""
    steps: list[Next] = []
    current = str((result.current or {}).get("id") or "")
    trained_on = (result.reference or {}).get("snapshot_id")
    if (
        result.reference.get("kind") == "run"
        and current.startswith("ds-")
        and current != trained_on
    ):
        steps.append(
            high(
                factory("check", "new-data", result.model, "--snapshot", current),
                f"the data moved: does {result.reference.get('id')}'s recipe retrained on "
                f"{current} score better on the newest window?",
            )
        )
    steps.append(
        Next(
            factory("alerts", "--model", result.model),
            f"drift raised an alert for {result.model}: what is open and how to look into it",
        )
    )
    return steps


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
    background=True,
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
        return Reply(
            result,
            next=[
                high(
                    factory("promote", result.run_id, "--to", result.tier),
                    f"gate {result.gate_id} passed and is current: moves {result.run_id} "
                    f"into {result.tier}",
                )
            ],
        )
    following: list[Next]
    if result.incumbent == result.run_id:
        # It already holds the tier: there is nothing to compare it with.
        following = [
            Next(factory("tiers", result.model), f"{result.run_id} already holds {result.tier}"),
            low(factory("runs", result.model), f"{result.model}'s runs, to pick another one"),
        ]
    elif result.incumbent:
        # The incumbent first: `compare A B` says how B (the challenger) does against A.
        following = [
            Next(
                factory("compare", result.incumbent, result.run_id),
                f"how {result.run_id} does against {result.tier}'s {result.incumbent}, fold "
                "by fold and row by row",
            )
        ]
    else:
        following = [
            Next(
                factory("show", result.run_id),
                f"{result.run_id}'s metrics and baselines behind the failed criteria",
            )
        ]
    return Reply(result, next=following, exit_code=ExitCode.CHECK_FAILED)


@command(
    "promote",
    help="move a run into staging or prod (needs a passing, current gate verdict)",
    schema="factory.promote/2",
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
    next_commands = [
        low(factory("tiers", result.model), f"who holds each tier of {result.model} now")
    ]
    if result.tier == "staging" and result.run_id:
        next_commands.insert(
            0,
            Next(
                factory("gate", result.run_id, "--to", "prod"),
                f"{result.run_id} holds staging: the prod gate says whether it may replace prod",
            ),
        )
    elif result.tier == "prod":
        next_commands += _score_with(ctx, result.model, "prod")
    return Reply(result, next=next_commands)


def _score_with(ctx: Context, model: str, tier: str) -> list[Next]:
    """A `predict` that runs as written: the tier scores the newest snapshot of the model's
    data (a file on disk); none when no snapshot is here (a fresh clone before `pull`)."""
    from core.operations.common import model_config, newest_snapshot_id

    ws = ctx.workspace
    snapshot = newest_snapshot_id(ws, model_config(ws, model).dataset)
    data = ws.snapshots_dir / snapshot / "data.parquet" if snapshot else None
    if data is None or not data.is_file():
        return []
    return [
        Next(
            factory("predict", model, "--input", str(data), "--tier", tier),
            f"{tier} scores the newest snapshot {snapshot}: each prediction logged and traceable",
        )
    ]


@command(
    "rollback",
    help="put the previous champion of a tier back",
    schema="factory.rollback/2",
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
    return Reply(
        result,
        next=[
            Next(
                factory("tiers", result.model),
                f"{result.tier} holds {result.run_id} again: the tiers and their history",
            ),
            low(
                factory("alerts", "--model", result.model),
                "the rollback raised an alert: what is open for this model",
            ),
        ],
    )


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
    mutating=False,
)
def tiers(ctx: Context) -> Reply:
    from core.operations.tier_state import tiers_at

    result = tiers_at(ctx.workspace, ctx.args.model, ctx.args.at)
    return Reply(
        result,
        next=_score_with(ctx, result.model, "prod")
        if result.tiers.get("prod") and not ctx.args.at
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
        arg(
            "--engine",
            choices=["local", "dask", "ray"],
            help="where the model scores, in row partitions (default: [compute] engine)",
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
        engine=a.engine,
    )
    next_commands = (
        [
            Next(
                factory("trace", result.first_request_id),
                f"where prediction {result.first_request_id} came from: run, components, "
                "snapshot, card entry",
            )
        ]
        if result.first_request_id and result.log_file
        else []
    )
    next_commands.append(
        low(
            'factory query "SELECT tier, run_id, count(*) FROM inference GROUP BY ALL"',
            "how many logged predictions each tier and run made",
        )
    )
    return Reply(result, next=next_commands)


@command(
    "trace",
    help="from a prediction back to its run, components, snapshot and card entry",
    schema="factory.trace/1",
    args=[
        arg("request_id", help="request id (rq-...) from a predictions file or the inference log")
    ],
    mutating=False,
)
def trace(ctx: Context) -> Reply:
    from core.operations.predict import trace as do_trace

    result = do_trace(ctx.workspace, ctx.args.request_id)
    run_id = result.run["run_id"]
    return Reply(
        result,
        next=[Next(factory("show", run_id), f"the report of {run_id}, which made this prediction")],
    )


@command(
    "check new-data",
    help="does new data alone help? retrain the champion's recipe and compare on the newest window",
    schema="factory.check.new_data/2",
    args=[
        arg("model", help="model name"),
        arg("--snapshot", required=True, help="the newer snapshot id (ds-...)"),
    ],
    mutating=True,
    background=True,
)
def check_new_data(ctx: Context) -> Reply:
    from core.operations.newdata import check_new_data as do_check

    result = do_check(ctx.workspace, ctx.args.model, ctx.args.snapshot)
    if result.verdict == "helps":
        return Reply(
            result,
            next=[
                high(
                    factory("train", result.model, "--snapshot", result.new_snapshot),
                    f"new data helps {result.champion}'s recipe: a run on {result.new_snapshot} "
                    "to gate against it",
                )
            ],
        )
    if result.verdict == "does_not_help":
        steps = [
            Next(
                factory("effects", result.model),
                f"more data does not help {result.model}: which component changes did move "
                f"{result.metric}",
            ),
            low(factory("components", "--kind", "features"), "the features versions to plan with"),
        ]
    else:
        steps = [
            Next(
                factory("data", "list"),
                "inconclusive: the snapshots and how far each reaches (a verdict needs more "
                "new days)",
            ),
            low(factory("runs", result.model), f"{result.model}'s runs"),
        ]
    return Reply(result, next=steps, exit_code=ExitCode.CHECK_FAILED)


@command(
    "alerts",
    help="open alerts (drift, failed gates, rollbacks, new data that does not help)",
    schema="factory.alerts/1",
    args=[
        arg("--all", dest="include_acked", action="store_true", help="include acknowledged alerts"),
        arg("--model", help="only this model's alerts"),
    ],
    mutating=False,
)
def alerts(ctx: Context) -> Reply:
    from core.operations.alerts import list_alerts
    from core.overview.operations_section import alert_steps

    result = list_alerts(ctx.workspace, include_acked=ctx.args.include_acked, model=ctx.args.model)
    steps: list[Next] = []
    for found in [a for a in result.alerts if a.state == "open"][:3]:
        # What the alert is about first; acknowledging it only after, and never urgent.
        steps += alert_steps(found)
        steps.append(
            low(
                factory("alerts", "ack", found.alert_id),
                f"once {found.alert_id} is looked into: mark it acknowledged",
            )
        )
    return Reply(result, next=steps)


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
    return Reply(result, next=[low(factory("alerts"), "the alerts still open")])


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
