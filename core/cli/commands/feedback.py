"""`factory feedback join|ingest`, `factory live`, `factory check degrading`: closing the loop
from logged predictions to what happened (issue 13)."""

from __future__ import annotations

from typing import Any

from core.cli.registry import Context, Reply, arg, command
from core.flows.refs import resolve_run
from core.foundation.errors import ExitCode
from core.foundation.suggest import Next, factory, high, low

MODEL = arg("model", help="model name from factory.toml")


def _after_join(model: str, joined: int, pending: int) -> list[Next]:
    if joined:
        return [
            Next(
                factory("live", model),
                f"{joined} outcomes joined: the realised metric beside the backtest's range",
            ),
            Next(
                factory("check", "degrading", model),
                "is the serving run's live loss worse than its backtest, on the labels so far",
            ),
        ]
    steps = [low(factory("live", model), "nothing new joined: where live performance stands")]
    if pending:
        steps.insert(
            0,
            low(
                factory("data", "list"),
                f"{pending} predictions wait for labels: snapshot newer data, then join again",
            ),
        )
    return steps


@command(
    "feedback join",
    help="join what happened (the model's own labels on a newer snapshot) to logged predictions",
    schema="factory.feedback.join/1",
    args=[
        MODEL,
        arg("--snapshot", help="the snapshot to take labels from (default: the newest)"),
    ],
    mutating=True,
)
def feedback_join(ctx: Context) -> Reply:
    from core.operations.feedback.join import join_outcomes

    result = join_outcomes(ctx.workspace, ctx.args.model, ctx.args.snapshot)
    return Reply(result, next=_after_join(result.model, result.joined, result.pending))


@command(
    "feedback ingest",
    help="take outcomes from a file (CSV, Parquet, JSON lines) keyed by request id or time",
    schema="factory.feedback.ingest/1",
    args=[
        arg("file", help="the outcomes file"),
        arg(
            "--key",
            default="request_id",
            choices=["request_id", "time"],
            help="request_id (default) or time (the dataset's time and entity columns; needs --model)",
        ),
        arg("--label", default="label", help="the label column (default label)"),
        arg("--model", help="only this model's predictions"),
    ],
    mutating=True,
)
def feedback_ingest(ctx: Context) -> Reply:
    from core.operations.feedback.join import ingest_outcomes

    a = ctx.args
    results = ingest_outcomes(ctx.workspace, a.file, key=a.key, label=a.label, model=a.model)
    steps: list[Next] = []
    for result in results:
        steps += _after_join(result.model, result.joined, 0)
    return Reply(_Ingested(results), next=steps)


class _Ingested:
    """The per-model results of one ingest."""

    def __init__(self, results: list[Any]) -> None:
        self.results = results

    def to_dict(self) -> dict[str, Any]:
        return {
            "models": [r.to_dict() for r in self.results],
            "joined": sum(r.joined for r in self.results),
            "already": sum(r.already for r in self.results),
        }


@command(
    "live",
    help="live metric per run and tier, beside its backtest range",
    schema="factory.live/1",
    args=[MODEL],
    mutating=False,
)
def live(ctx: Context) -> Reply:
    from core.operations.feedback.live import live as do_live

    result = do_live(ctx.workspace, ctx.args.model)
    steps: list[Next] = []
    if not result.runs:
        steps.append(
            Next(factory("tiers", result.model), f"who serves {result.model}: predict with it")
        )
    elif not any(r.labelled for r in result.runs):
        steps.append(
            Next(
                factory("feedback", "join", result.model),
                "no outcome joined yet: take the labels from the newest snapshot",
            )
        )
    else:
        steps.append(
            Next(
                factory("check", "degrading", result.model),
                "decide whether the serving run is worse than its backtest (valid at every look)",
            )
        )
        steps.append(
            low(factory("sunset", "candidates", result.model), "runs that should leave service")
        )
    return Reply(result, next=steps)


@command(
    "check degrading",
    help="is the serving run's live loss worse than its backtest? (exit 1 on yes)",
    schema="factory.check.degrading/1",
    args=[
        MODEL,
        arg("--run", help="the run to check (default: prod, else staging)"),
    ],
    mutating=True,
)
def check_degrading(ctx: Context) -> Reply:
    from core.operations.feedback.degrading import check_degrading as do_check

    a = ctx.args
    run = resolve_run(ctx.workspace, a.run, model=a.model) if a.run else None
    result = do_check(ctx.workspace, a.model, run)
    if result.degrading:
        steps = [
            high(
                factory("live", result.model),
                f"{result.run_id} is degrading: the realised metric beside its backtest range",
            ),
        ]
        snapshot = _newer_snapshot(ctx, result.model, result.run_id)
        if snapshot:
            steps.append(
                high(
                    factory("check", "new-data", result.model, "--snapshot", snapshot),
                    "does retraining on newer data alone help, or do the features need work",
                )
            )
        steps.append(
            Next(
                factory("alerts", "--model", result.model),
                "the degradation raised an alert (once per run and window)",
            )
        )
        return Reply(result, next=steps, exit_code=ExitCode.CHECK_FAILED)
    if result.verdict == "insufficient":
        return Reply(
            result,
            next=[
                Next(
                    factory("feedback", "join", result.model),
                    f"{result.labelled} labelled of {result.min_labelled} needed: join newer "
                    "outcomes first",
                )
            ],
        )
    return Reply(
        result,
        next=[low(factory("live", result.model), "live figures of every run and tier")],
    )


def _newer_snapshot(ctx: Context, model: str, run_id: str) -> str | None:
    """The model's newest snapshot when it is newer than the one `run_id` trained on."""
    from core.operations.common import model_config, newest_snapshot_id, read_json

    ws = ctx.workspace
    newest = newest_snapshot_id(ws, model_config(ws, model).dataset)
    report = read_json(ws.reports_dir / f"{run_id}.json")
    trained = report.get("snapshot_id") if isinstance(report, dict) else None
    return newest if newest and newest != trained else None


COMMANDS = (feedback_join, feedback_ingest, live, check_degrading)
