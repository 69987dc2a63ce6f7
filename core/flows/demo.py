"""`factory demo [DIR]`: the whole story on the embedded Seattle weather data.

Builds a fresh workspace, snapshots the data, then for both models writes down plans
(intent and expectation) and trains them: a feature change, a hyperparameter set change and
a one-value hyperparameter change, so that `compare`, `effects` and `why` have something to
say. Adds notes, writes an ADR, then tells the rest of the loop on rain (`core.flows.story`:
gate, promote, serve, shadow, canary, newer data, outcomes, degrading, retrain, new-data,
retire) and returns a summary with what to run next. Every step goes through the same core
functions as the commands, so running it twice reuses what exists.

The first snapshot ends on 2015-06-30 (`story.OLD_SOURCE`, a user CSV source of the
workspace): the newer data that arrives later is the rest of 2015, from a staged feed.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NotRequired, TypedDict

from core.flows.story import ServingFactory, StoryStep
from core.foundation.config import CONFIG_NAME
from core.foundation.errors import ExitCode, FactoryError
from core.foundation.suggest import Next, factory, low
from core.foundation.workspace import Workspace

DEFAULT_DIR = "factory-demo"
# One hyperparameter changed from h1: a clean one-factor pair for `factory effects`.
FAST_HPARAMS = """\
# h1 with a doubled learning rate: the demo's one-value hyperparameter change.
iterations = 300
learning_rate = 0.1
depth = 6
l2_leaf_reg = 3.0
"""


@dataclass(frozen=True)
class DemoStep:
    model: str
    plan_id: str
    run_id: str
    components: dict[str, str]
    intent: str
    expect: str
    metric: str
    mean: float | None
    expectation: dict[str, Any] | None
    reused: bool
    seconds: float
    baseline: dict[str, Any] | None = None
    """The run against its best naive baseline: `{best, skill, verdict}`."""


class DemoData(TypedDict):
    """`factory demo DIR`: the workspace it built and what each step found."""

    workspace: str
    snapshot_id: str
    runs: list[DemoStep]
    """Each planned run, in the order trained."""
    comparisons: list[dict[str, Any]]
    effects: dict[str, list[dict[str, Any]]]
    """Model -> one-factor effects (`factory effects`)."""
    adr: str
    seconds: float
    # Added to factory.demo/2 (adrs/0003: added keys are not a new version), so answers of
    # demos from before the loop, without them, still match the shape.
    story: NotRequired[list[StoryStep]]
    """The loop after training, step by step: command, verdict, what it found."""
    story_adr: NotRequired[str | None]
    """The ADR recording the loop and its staged cause (None when the loop stopped early)."""
    story_stopped: NotRequired[str | None]
    """Why the loop stopped before its end (None: it ran to the end)."""
    staged: NotRequired[str]
    """What the demo staged for the loop to find (said in the output and the ADR)."""


@dataclass(frozen=True)
class DemoResult:
    workspace: str
    snapshot_id: str
    steps: list[DemoStep]
    comparisons: list[dict[str, Any]]
    effects: dict[str, list[dict[str, Any]]]
    adr: str
    seconds: float
    story: list[StoryStep] = field(default_factory=list)
    story_adr: str | None = None
    story_stopped: str | None = None
    staged: str = ""
    next: list[Next] = field(default_factory=list)
    """What to look at in the demo workspace (the envelope's `next`, not part of `data`)."""

    def to_dict(self) -> DemoData:
        from core.foundation.plain import to_plain

        return {
            "workspace": self.workspace,
            "snapshot_id": self.snapshot_id,
            "runs": to_plain(self.steps),
            "comparisons": self.comparisons,
            "effects": self.effects,
            "adr": self.adr,
            "seconds": round(self.seconds, 1),
            "story": to_plain(self.story),
            "story_adr": self.story_adr,
            "story_stopped": self.story_stopped,
            "staged": self.staged,
        }


PLANS: list[tuple[str, dict[str, str], str, str]] = [
    ("rain", {"features": "weather_v1", "hparams": "h1"},
     "Baseline: same-day weather only.", "auc >= 0.6"),
    ("rain", {"features": "weather_v2", "hparams": "h1"},
     "Lags, rolling windows and season should carry tomorrow's rain.", "beats best"),
    ("rain", {"features": "weather_v2", "hparams": "h2"},
     "Shallower, slower trees with more L2 may generalise better.", "beats best"),
    ("rain", {"features": "weather_v2", "hparams": "h1_lr10"},
     "Does a higher learning rate alone change anything?",
     "the curves should converge earlier; the metric should not move much"),
    ("temp", {"features": "weather_v1", "hparams": "h1"},
     "Baseline: today's values predict tomorrow's maximum.", "mae < 5"),
    ("temp", {"features": "weather_v2", "hparams": "h1"},
     "Lags and season should cut the error.", "beats best"),
    ("temp", {"features": "weather_v2", "hparams": "h2"},
     "Shallower trees for a smooth target.", "beats best"),
]  # fmt: skip


def _prepare(target: Path) -> Workspace:
    from core.foundation.workspace_init import init_workspace

    if target.exists() and not target.is_dir():
        raise FactoryError(
            "not_a_directory", f"{target}: exists and is not a folder",
            hint="Pass a new folder: `factory demo ./my-demo`.",
        )  # fmt: skip
    is_workspace = (target / CONFIG_NAME).is_file()
    if target.is_dir() and any(target.iterdir()) and not is_workspace:
        raise FactoryError(
            "demo_target_not_empty",
            f"{target}: folder is not empty and is not a factory workspace",
            hint="The demo writes a whole workspace: pass a new or empty folder, "
            "e.g. `factory demo ./factory-demo-2`.",
            details={"path": str(target)},
            exit_code=ExitCode.INPUT,
        )
    init_workspace(target)
    ws = Workspace(target)
    hparams = ws.components_dir / "hparams" / "h1_lr10.toml"
    if not hparams.exists():
        from core.foundation.atomic import write_text

        write_text(hparams, FAST_HPARAMS)
    return ws


def _field(result: Any, name: str) -> Any:
    if isinstance(result, dict):
        return result.get(name)
    return getattr(result, name, None)


def run_demo(
    directory: str | None = None,
    *,
    say: Callable[[str], None] | None = None,
    serving: ServingFactory | None = None,
    story: bool = True,
) -> DemoResult:
    """Build (or reuse) a demo workspace and run the story; `say` narrates to a person;
    `serving` makes the server's engine for the serving steps (the CLI passes it); without
    `story`, it stops after training, comparing and noting."""
    from core.data.snapshots import create_snapshot
    from core.experiments.readers import load_report, primary
    from core.experiments.report import RunReport
    from core.flows.story import STAGED_CAUSE, prepare_story, run_story
    from core.flows.training import train_run
    from core.insights.effects import component_effects
    from core.records.card_store import read_card
    from core.records.notes import add_note
    from core.records.plans import record_plan
    from core.records.runs import run_entry
    from core.verdicts.pairs import compare_reports

    narrate = say or (lambda _text: None)
    started = time.perf_counter()
    target = Path(directory or DEFAULT_DIR).expanduser().resolve()
    ws = _prepare(target)
    narrate(f"workspace {target}")
    if story:
        # The story's first snapshot ends where its "newer data" begins.
        old_source, _ = prepare_story(ws)
        snapshot = create_snapshot(ws, "weather", str(old_source))
    else:  # train, compare and note on the embedded data whole, as before the story
        snapshot = create_snapshot(ws, "weather")
    snapshot_id = str(_field(snapshot, "id"))
    narrate(f"snapshot {snapshot_id}")

    steps: list[DemoStep] = []
    for model, components, intent, expect in PLANS:
        plan = record_plan(ws, model, components, intent, expect)
        narrate(f"{model}: plan {plan.plan_id} ({intent})")
        t0 = time.perf_counter()
        pins = plan.components
        result = train_run(
            ws,
            model,
            features=pins.get("features"),
            labels=pins.get("labels"),
            hparams=pins.get("hparams"),
            arch=pins.get("arch"),
            snapshot=snapshot_id,
            plan_id=plan.plan_id,
        )
        run_id = str(_field(result, "run_id"))
        report = load_report(ws, run_id) or {}
        info = primary(report)
        entry = run_entry(ws, read_card(ws, model), run_id) or {}
        steps.append(
            DemoStep(
                model=model,
                plan_id=plan.plan_id,
                run_id=run_id,
                components=plan.components,
                intent=intent,
                expect=expect,
                metric=str(info.get("name")),
                mean=info.get("mean"),
                expectation=entry.get("expectation"),
                reused=bool(_field(result, "reused")),
                seconds=round(time.perf_counter() - t0, 2),
                baseline=entry.get("baseline"),
            )
        )
        base = entry.get("baseline") or {}
        narrate(
            f"{model}: {run_id} {info.get('name')} {info.get('mean'):.4f}; against "
            f"{base.get('best')}: {base.get('verdict')} (skill {base.get('skill')})"
        )

    comparisons = []
    for model in ("rain", "temp"):
        own = [s for s in steps if s.model == model]
        base, lagged = own[0], own[1]
        config = ws.config.models[model]
        comparison = compare_reports(
            RunReport.from_dict(load_report(ws, base.run_id) or {}),
            RunReport.from_dict(load_report(ws, lagged.run_id) or {}),
        )
        decision: dict[str, Any] = dict(comparison.decision or {})
        comparisons.append(
            {
                "model": model,
                "challenger": lagged.run_id,
                "baseline": base.run_id,
                "metric": config.primary_metric,
                "mean_delta": decision.get("estimate"),
                "interval": decision.get("interval"),
                "method": decision.get("method"),
                "wins": comparison.wins_b,
                "folds": len(comparison.folds),
                "verdict": comparison.verdict,
                "reason": decision.get("reason") or comparison.why_not,
            }
        )
        estimate = decision.get("estimate")
        add_note(
            ws,
            lagged.run_id,
            f"weather_v2 against weather_v1: {comparison.verdict} ({config.primary_metric} "
            f"delta {estimate if estimate is not None else float('nan'):+.4f}, "
            f"{decision.get('method', 'no test')}).",
            next_idea="try weather_v3 with humidity-like interactions (temp range x wind)",
        )
    effects = {
        model: [e.to_dict() for e in component_effects(ws, model).effects]
        for model in ("rain", "temp")
    }
    adr = _demo_adr(ws, comparisons)
    rain_best = max(
        (s for s in steps if s.model == "rain" and s.mean is not None),
        key=lambda s: s.mean or 0.0,
    )
    here = ("--workspace", str(target))
    steps_after: list[StoryStep] = []
    facts: dict[str, Any] = {"stopped": "not asked for (--no-story)"}
    if story:
        steps_after, facts = run_story(ws, snapshot_id, serving=serving, say=narrate, here=here)
    story_adr = _story_adr(ws, steps_after, facts) if "stopped" not in facts else None
    next_commands = [
        Next(
            factory(*here, "status"),
            "the demo workspace: models, best runs, tiers and what to do there next",
        ),
        Next(
            # The baseline first: `compare A B` says how B (weather_v2) does against A.
            factory(*here, "compare", steps[0].run_id, steps[1].run_id),
            "rain on weather_v2 against weather_v1: the paired test the demo ran",
        ),
        Next(factory(*here, "effects", "rain"), "which of the demo's changes moved rain's AUC"),
        low(
            factory(*here, "why", "features/weather_v2"),
            "every run with weather_v2, against its baseline, and the ADR about it",
        ),
        low(
            factory(*here, "curves", rain_best.run_id, "--summary"),
            f"how rain's best run {rain_best.run_id} trained, fold by fold",
        ),
        low(factory(*here, "card", "rain"), "rain's card: plans, findings, runs"),
        low(factory(*here, "adr", "list"), "the ADRs the demo wrote"),
    ]
    if facts.get("canary"):
        next_commands.insert(1, Next(
            factory(*here, "rollout", "status", "rain", facts["canary"]),
            "the canary that moved rain's prod: every look and criterion",
        ))  # fmt: skip
    if facts.get("degrading"):
        next_commands.insert(2, Next(
            factory(*here, "live", "rain"),
            f"rain's live performance against its backtest (the check said {facts['degrading']})",
        ))  # fmt: skip
    if facts.get("incumbent") and "stopped" not in facts:
        next_commands.insert(3, low(
            factory(*here, "sunset", "removal-list", "rain"),
            f"what only the retired run {facts['incumbent']} used (a dry run)",
        ))  # fmt: skip
    return DemoResult(
        workspace=str(target),
        snapshot_id=snapshot_id,
        steps=steps,
        comparisons=comparisons,
        effects=effects,
        adr=adr,
        seconds=time.perf_counter() - started,
        story=steps_after,
        story_adr=story_adr,
        story_stopped=facts.get("stopped"),
        staged=STAGED_CAUSE,
        next=next_commands,
    )


def _demo_adr(ws: Workspace, comparisons: list[dict[str, Any]]) -> str:
    from core.records.adrs import list_adrs, new_adr

    title = "Lagged weather features (features/weather_v2) by default"
    for adr in list_adrs(ws).adrs:
        if adr.title == title:
            return adr.path
    evidence = "; ".join(
        f"{c['model']}: {c['challenger']} vs {c['baseline']} {c['metric']} delta "
        f"{c['mean_delta']} (95% interval {c['interval']}, {c['method']}), "
        f"{c['wins']}/{c['folds']} folds better, verdict {c['verdict']}"
        for c in comparisons
    )
    verdicts = {c["model"]: c["verdict"] for c in comparisons}
    adopted = [m for m, v in verdicts.items() if v == "better"]
    open_models = [m for m, v in verdicts.items() if v != "better"]
    decision = (
        f"Chosen: **weather_v2 as the default features for {', '.join(adopted) or 'no model'}**, "
        "because the paired walk-forward comparison says it is better there."
    )
    if open_models:
        decision += (
            f" For {', '.join(open_models)} the comparison is "
            f"{', '.join(verdicts[m] for m in open_models)}: keep weather_v2 for one feature "
            "pipeline, and revisit with more folds or a weather_v3."
        )
    return new_adr(
        ws,
        title,
        status="accepted",
        context="The demo compared same-day features (weather_v1) with lags, rolling windows "
        f"and seasonality (weather_v2) on the same walk-forward test windows. {evidence}.",
        options=[
            "weather_v1: same-day values only (simple, no history needed at inference)",
            "weather_v2: lags, rolling windows and seasonality",
        ],
        decision=decision,
    ).path


def _story_adr(ws: Workspace, story: list[StoryStep], facts: dict[str, Any]) -> str:
    """Once per workspace: the loop the demo ran, what each check answered, and that the
    newer data's fault was staged."""
    from core.flows.story import FEED_SOURCE, STAGED_CAUSE
    from core.records.adrs import list_adrs, new_adr

    title = "The demo's loop: canary into prod, a feed in new units, a retirement"
    for adr in list_adrs(ws).adrs:
        if adr.title == title:
            return adr.path
    said = {s.step: s for s in story}
    degrading = said.get("degrading")
    evidence = " ".join(f"{s.step}: {s.found}." for s in story)
    return new_adr(
        ws,
        title,
        status="accepted",
        context=(
            f"Prod held {facts.get('incumbent')} (in a fresh demo: a day-one placeholder); "
            f"the demo challenged it with {facts.get('challenger')}. Staged for the loop to find: "
            f"{STAGED_CAUSE}. It is the file {FEED_SOURCE} of this workspace, not what "
            f"Seattle's weather did. What each step answered: {evidence}"
        ),
        options=[
            f"keep {facts.get('incumbent')} in prod and the challenger in staging",
            f"{facts.get('challenger')} to prod through a shadow and a canary, then retire "
            f"{facts.get('incumbent')}",
        ],
        decision=(
            f"Chosen: **{facts.get('challenger')} in prod** by its canary "
            f"{facts.get('canary')}, and {facts.get('incumbent')} retired with it as the "
            f"successor. On the staged feed `check degrading` said "
            f"{degrading.verdict if degrading else 'nothing'}; the retrain on that feed "
            f"({facts.get('retrained')}) stays out of prod unless its gate passes"
            + (
                ": convert the feed's units back first."
                if degrading and degrading.verdict == "degrading"
                else "."
            )
        ),
    ).path
