"""`factory components|train|runs|show|curves|compare|check features`."""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from core.cli.registry import Context, Reply, arg, command
from core.flows.refs import resolve_run
from core.foundation.errors import ExitCode
from core.foundation.suggest import Next, factory, low


@command(
    "components",
    help="list component versions (features, labels, hparams, arch, metrics, ...) with hashes",
    schema="factory.components/1",
    args=[arg("--kind", help="only this kind, e.g. features")],
    mutating=False,
)
def components(ctx: Context) -> Reply:
    from core.experiments.leaks import pit_state
    from core.experiments.queries import list_component_infos

    result = list_component_infos(ctx.workspace, ctx.args.kind)
    unchecked = [
        c
        for c in result.components
        if c.kind == "features" and pit_state(ctx.workspace, c.version, c.hash).state == "unchecked"
    ]
    next_commands = [
        Next(
            factory("check", "features", c.version),
            f"features/{c.version} has no point-in-time check at this source: does it read "
            "the future?",
        )
        for c in unchecked[:2]
    ]
    return Reply(
        result, next=[*next_commands, low(factory("runs"), "which runs used these versions")]
    )


def _against_best(ctx: Context, model: str, run_id: str) -> list[Next]:
    """After a run: compare it with the best run (the incumbent first), or, when it is the
    best and holds no tier, gate it for staging."""
    from core.experiments import index
    from core.operations.tier_state import read_tiers

    best = index.best_run(ctx.workspace, model)
    if best is None:
        return []
    if best.run_id == run_id:
        tiers = read_tiers(ctx.workspace, model)
        if run_id in (tiers.get("staging"), tiers.get("prod")):
            return []
        return [
            Next(
                factory("gate", run_id, "--to", "staging"),
                f"{run_id} is {model}'s best run and holds no tier: the staging gate says "
                "whether it may move up",
            )
        ]
    mine = next((s for s in index.read_summaries(ctx.workspace) if s["run_id"] == run_id), None)
    if mine is None or mine.get("cohort") != best.cohort:
        return []
    # The incumbent first: `compare A B` says how B does against A.
    return [
        Next(
            factory("compare", best.run_id, run_id),
            f"is {run_id} better than the best {best.run_id}? a paired test on the same rows",
        )
    ]


@contextmanager
def _progress(enabled: bool) -> Iterator[Callable[[str, dict[str, Any]], None] | None]:
    """A Rich progress bar per fold on stderr for people; plain lines when stderr is a file."""
    if not enabled:
        yield None
        return
    if not sys.stderr.isatty():

        def lines(event: str, info: dict[str, Any]) -> None:
            if event == "fold_end":
                scores = ", ".join(
                    f"{k}={v:.4f}" for k, v in info["metrics"].items() if isinstance(v, float)
                )
                label = "final model" if info["fold"] == "final" else f"fold {info['fold']}"
                print(f"factory: {label} done {scores}".rstrip(), file=sys.stderr, flush=True)

        yield lines
        return
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    bar = Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        TextColumn("{task.fields[scores]}"),
        console=Console(stderr=True),
        transient=False,
    )
    tasks: dict[Any, Any] = {}

    def update(event: str, info: dict[str, Any]) -> None:
        if event == "fold_start":
            tasks[info["fold"]] = bar.add_task(info["label"], total=info["iterations"], scores="")
        elif event == "iteration":
            bar.update(tasks[info["fold"]], completed=info["iteration"] + 1)
        elif event == "fold_end":
            task = tasks[info["fold"]]
            scores = "  ".join(
                f"{k} {v:.4f}" for k, v in info["metrics"].items() if isinstance(v, float)
            )
            bar.update(task, completed=bar.tasks[task].total, scores=scores)

    update.per_iteration = True  # type: ignore[attr-defined]
    with bar:
        yield update


@command(
    "train",
    help="train a model walk-forward (or return the existing run with the same inputs)",
    schema="factory.train/3",
    args=[
        arg("model", help="model name from factory.toml"),
        arg("--plan", dest="plan_id", help="carry out a recorded plan (its components)"),
        arg("--features", help="features version (default: the model's in factory.toml)"),
        arg("--labels", help="labels version"),
        arg("--hparams", help="hyperparameters version"),
        arg("--arch", help="architecture version"),
        arg("--snapshot", help="snapshot id (default: the newest of the model's dataset)"),
        arg(
            "--force",
            action="store_true",
            help="retrain even if this run exists (identical results change nothing)",
        ),
        arg(
            "--allow-leaky",
            metavar="REASON",
            help="train on a features version that failed the point-in-time check; the run is "
            "marked leaky and never called best",
        ),
        arg("--threads", type=int, help="CatBoost threads (default: all cores)"),
        arg(
            "--engine",
            choices=["local", "dask", "ray"],
            help="where the folds' fits run, one per task (default: [compute] engine)",
        ),
        arg("--quiet", action="store_true", help="no progress on stderr"),
    ],
    mutating=True,
    background=True,
)
def train(ctx: Context) -> Reply:
    from core.flows.training import train_run

    a = ctx.args
    with _progress(not a.quiet) as progress:
        result = train_run(
            ctx.workspace,
            a.model,
            features=a.features,
            labels=a.labels,
            hparams=a.hparams,
            arch=a.arch,
            snapshot=a.snapshot,
            plan_id=a.plan_id,
            force=a.force,
            allow_leaky=a.allow_leaky,
            progress=progress,
            thread_count=a.threads,
            engine=a.engine,
        )
    if result.reused and not a.quiet:
        print(
            f"factory: {result.run_id} already exists with these inputs; not retrained "
            "(use --force to retrain)",
            file=sys.stderr,
        )
    return Reply(
        result,
        next=[
            *_against_best(ctx, result.model, result.run_id),
            Next(
                factory("show", result.run_id),
                "its metrics per fold, against the naive baselines",
            ),
            low(
                factory("curves", result.run_id, "--summary"),
                "where each fold's validation loss bottomed out and began to overfit",
            ),
        ],
    )


@command(
    "runs",
    help="run history with components and the primary metric",
    schema="factory.runs/2",
    args=[
        arg("model", nargs="?", help="only this model's runs"),
        arg("--limit", type=int, default=1000, help="show the newest N runs (default 1000)"),
        arg("--all", dest="all_runs", action="store_true", help="show every run"),
    ],
    mutating=False,
)
def runs(ctx: Context) -> Reply:
    from core.experiments.queries import runs_table
    from core.foundation.errors import UsageError

    if ctx.args.limit < 1:
        raise UsageError("--limit must be at least 1")
    limit = None if ctx.args.all_runs else ctx.args.limit
    result = runs_table(ctx.workspace, ctx.args.model, limit)
    next_commands: list[Next] = []
    if result.runs:
        newest = result.runs[-1]
        best_id = result.best.get(str(newest.get("model")))
        best = next((r for r in result.runs if r["run_id"] == best_id), None)
        if (
            best is not None
            and best_id != newest["run_id"]
            and best.get("cohort") == newest.get("cohort")
        ):
            # The incumbent first: `compare A B` says how B does against A.
            next_commands.append(
                Next(
                    factory("compare", str(best_id), newest["run_id"]),
                    f"is the newest run {newest['run_id']} better than the best {best_id}? "
                    "a paired test on the same rows",
                )
            )
        next_commands.append(
            low(factory("show", newest["run_id"]), "the newest run's metrics and baselines")
        )
    if result.truncated:
        words = ["runs", "--all", *([result.model] if result.model else [])]
        next_commands.append(
            low(factory(*words), f"every run; only the newest {result.shown} shown")
        )
    elif not result.runs:
        next_commands += [
            Next(factory("train", m), f"{m} has no run yet: trains its factory.toml components")
            for m in ctx.workspace.config.models
            if result.model in (None, m)
        ][:2]
    return Reply(result, next=next_commands)


@command(
    "show",
    help="a run's report without its bulk (curves and predictions summarised), or a verdict",
    schema="factory.show/3",
    args=[
        arg(
            "run",
            help="run (id, prefix, best, prod, staging, MODEL:best) or a verdict id "
            "(gate-..., drift-..., pit-..., newdata-...)",
        ),
        arg(
            "--full",
            action="store_true",
            help="the whole report, with every curve value and out-of-fold prediction",
        ),
    ],
    mutating=False,
)
def show(ctx: Context) -> Reply:
    from core.experiments.queries import show_run, show_summary, show_verdict
    from core.experiments.report import REPORT_SCHEMA

    ref = ctx.args.run
    if ref.startswith(("gate-", "drift-", "pit-", "newdata-")):
        verdict, schema = show_verdict(ctx.workspace, ref)
        return Reply(
            verdict,
            next=[low(factory("status"), "what the workspace has pending, verdicts included")],
            schema=schema,
        )
    run_id = resolve_run(ctx.workspace, ref)
    curves_summary = Next(
        factory("curves", run_id, "--summary"),
        "per fold: best iteration, lowest validation loss, where it began to overfit",
    )
    if ctx.args.full:
        report = show_run(ctx.workspace, run_id)
        return Reply(report, next=[curves_summary], schema=REPORT_SCHEMA)
    summary = show_summary(ctx.workspace, run_id)
    model = str(summary.report.get("model"))
    return Reply(
        summary,
        next=[curves_summary, low(factory("runs", model), f"{model}'s other runs")],
    )


@command(
    "curves",
    help="loss curves per iteration and fold (learn and validation)",
    schema="factory.curves/1",
    args=[
        arg("run", help="run (id, prefix, best, prod, staging, MODEL:best)"),
        arg(
            "--summary",
            action="store_true",
            help="per fold: best iteration, lowest and final validation loss, final gap, "
            "where it began to overfit",
        ),
        arg("--full", action="store_true", help="every tree (default: about 50 points a curve)"),
    ],
    mutating=False,
)
def curves(ctx: Context) -> Reply:
    from core.experiments.queries import run_curves

    result = run_curves(
        ctx.workspace,
        resolve_run(ctx.workspace, ctx.args.run),
        summary=ctx.args.summary,
        full=ctx.args.full,
    )
    lowest = (
        "SELECT fold, split, min(value) AS lowest, arg_min(iteration, value) AS at, "
        f"count(*) AS trees FROM curves WHERE run_id = '{result.run_id}' GROUP BY ALL ORDER BY ALL"
    )
    return Reply(
        result,
        schema="factory.curves.summary/1" if ctx.args.summary else None,
        next=[
            Next(factory("show", result.run_id), "the run's metrics and baselines"),
            low(f'factory query "{lowest}"', "the lowest loss per fold and split, as SQL"),
        ],
    )


@command(
    "compare",
    help="paired per-fold comparison of RUN_B against RUN_A on the primary metric",
    schema="factory.compare/3",
    args=[arg("run_a", help="baseline run"), arg("run_b", help="challenger run")],
    mutating=False,
)
def compare(ctx: Context) -> Reply:
    from core.flows.refs import resolve_pair
    from core.verdicts.compare import compare_runs

    run_a, run_b = resolve_pair(ctx.workspace, ctx.args.run_a, ctx.args.run_b)
    result = compare_runs(ctx.workspace, run_a, run_b)
    steps: list[Next] = []
    if result.verdict == "better":
        same = factory("compare", result.run_a, result.run_b)
        steps += [s for s in _against_best(ctx, result.model, result.run_b) if s.command != same]
    steps.append(
        low(
            factory("curves", result.run_b, "--summary"),
            f"how {result.run_b} trained: best iteration and overfitting per fold",
        )
    )
    if result.verdict != "better":
        steps.append(low(factory("effects", result.model), "which changes moved the metric so far"))
    return Reply(result, next=steps)


@command(
    "check features",
    help="point-in-time check: recompute features on history cut at many dates (recorded)",
    schema="factory.check.features/2",
    args=[
        arg("version", help="features version, e.g. weather_v2"),
        arg("--model", help="model whose dataset to use (default: one using these features)"),
        arg("--snapshot", help="snapshot id (default: the newest of the dataset)"),
        arg(
            "--budget",
            type=float,
            default=20.0,
            metavar="SECONDS",
            help="time to spend on cuts (default 20); the answer says how much it covered",
        ),
        arg("--seed", type=int, default=0, help="seed of the random cut dates (default 0)"),
    ],
    mutating=True,
    background=True,
)
def check_features(ctx: Context) -> Reply:
    from core.experiments.leaks import record_check
    from core.experiments.pit import FeatureCheck, check_point_in_time

    a = ctx.args
    result = check_point_in_time(
        ctx.workspace, a.version, a.model, a.snapshot, budget_s=a.budget, seed=a.seed
    )
    answer = FeatureCheck.of(result, record_check(ctx.workspace, result))
    if result.ok:
        return Reply(
            answer,
            next=[
                Next(
                    factory("train", result.model, "--features", a.version),
                    f"features/{a.version} reads no future: a {result.model} run with it",
                )
            ],
        )
    return Reply(
        answer,
        next=[
            Next(
                factory("why", f"features/{a.version}"),
                f"features/{a.version} reads the future: the runs that used it and the notes "
                "about it",
            ),
            low(
                factory("components", "--kind", "features"),
                "the features versions (a fix is a new version, not an edit)",
            ),
        ],
        exit_code=ExitCode.CHECK_FAILED,
    )


COMMANDS = (components, train, runs, show, curves, compare, check_features)
