"""`factory plan|note|card|cards|why|effects|adr ...|demo`: the written memory of the work."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from core.cli.registry import Context, Reply, arg, command
from core.foundation.errors import UsageError
from core.foundation.suggest import Next, factory, low

MODEL_ARG = arg("model", help="model name from factory.toml")


@command(
    "plan",
    help="write down an experiment (components, intent, expectation) before training it",
    schema="factory.plan/1",
    args=[
        MODEL_ARG,
        arg("--features", help="features version (default: the model's in factory.toml)"),
        arg("--labels", help="labels version (default: the model's)"),
        arg("--hparams", help="hyperparameters version (default: the model's)"),
        arg("--arch", help="architecture version (default: the model's)"),
        arg("--intent", required=True, help="why: what you want to learn"),
        arg(
            "--defaults",
            action="store_true",
            help="plan the model's own components from factory.toml (a plan pinning nothing "
            "is refused otherwise)",
        ),
        arg(
            "--expect",
            default="",
            help="what you expect, e.g. 'auc >= 0.72', 'mae < 2.5', 'beats best', "
            "'beats r-abc123', or free text",
        ),
    ],
    mutating=True,
)
def plan(ctx: Context) -> Reply:
    from core.records.plans import record_plan

    a = ctx.args
    components = {
        k: v
        for k, v in {
            "features": a.features,
            "labels": a.labels,
            "hparams": a.hparams,
            "arch": a.arch,
        }.items()
        if v
    }
    result = record_plan(
        ctx.workspace, a.model, components, a.intent, a.expect, defaults=a.defaults
    )
    expect = f" and checks {result.expect!r}" if result.expect else ""
    return Reply(
        result,
        next=[
            Next(
                factory("train", result.model, "--plan", result.plan_id),
                f"carries out plan {result.plan_id}: trains its components{expect}",
            ),
            low(factory("card", result.model), "the plan beside the model's other plans and runs"),
        ],
    )


@command(
    "note",
    help="add a finding about a run (and a next idea) to its model card",
    schema="factory.note/1",
    args=[
        arg("run", help="run id (r-...)"),
        arg("text", help="the finding, in your words"),
        arg("--next", dest="next_idea", help="what to try next because of it"),
    ],
    mutating=True,
)
def note(ctx: Context) -> Reply:
    from core.flows.refs import resolve_run
    from core.records.notes import add_note

    run_id = resolve_run(ctx.workspace, ctx.args.run)
    result = add_note(ctx.workspace, run_id, ctx.args.text, ctx.args.next_idea)
    return Reply(
        result,
        next=[low(factory("card", result.model), f"the note among {result.model}'s findings")],
    )


@dataclass(frozen=True)
class CardList:
    cards: list[Any]

    def to_dict(self) -> dict[str, Any]:
        return {"cards": [c.to_dict() for c in self.cards]}


@command(
    "cards",
    help="list the model cards with runs, open plans and tiers",
    schema="factory.cards/1",
    mutating=False,
)
def cards(ctx: Context) -> Reply:
    from core.records.summary import list_cards

    result = CardList(list_cards(ctx.workspace))
    return Reply(
        result,
        next=[
            low(factory("card", c.model), f"{c.model}'s tiers, plans and findings")
            for c in result.cards
            if c.exists
        ],
    )


@command(
    "card",
    help="show a model card: frontmatter summary and body",
    schema="factory.card/1",
    args=[MODEL_ARG],
    mutating=False,
)
def card(ctx: Context) -> Reply:
    from core.records.card_store import read_card

    result = read_card(ctx.workspace, ctx.args.model)
    next_commands = [
        Next(
            factory("train", result.model, "--plan", p.plan_id),
            f"plan {p.plan_id} is written but not trained: trains its components",
        )
        for p in result.plans
        if p.status == "planned"
    ]
    next_commands += [
        low(factory("effects", result.model), "which component changes moved the metric"),
        low(factory("runs", result.model), f"every run of {result.model}"),
    ]
    return Reply(result, next=next_commands)


@command(
    "migrate cards",
    help="rewrite model cards in the current layout now (the best, recent and named runs; "
    "human text kept byte for byte)",
    description="Rewrite model cards in the current layout (adrs/0023): a card keeps its best "
    "run, its newest runs and every run a plan, tier, note or ADR names; every other run stays "
    "in reports/ and `factory runs`. An old card is also rewritten on its next write; this does "
    "it now. Running it again changes nothing.",
    schema="factory.migrate.cards/1",
    args=[arg("model", nargs="?", default=None, help="one model (default: every card)")],
    mutating=True,
)
def migrate_cards(ctx: Context) -> Reply:
    from core.records.migration import migrate_cards as migrate

    result = migrate(ctx.workspace, ctx.args.model)
    return Reply(
        result,
        next=[
            low(factory("card", c.model), f"{c.model}'s card as rewritten") for c in result.cards
        ],
    )


@command(
    "why",
    help="every run that used a component, how it did against its baseline, and the "
    "notes and ADRs that mention it",
    schema="factory.why/2",
    args=[arg("component", help="KIND/VERSION, e.g. features/weather_v2")],
    mutating=False,
)
def why(ctx: Context) -> Reply:
    from core.insights.why import why_component

    result = why_component(ctx.workspace, ctx.args.component)
    # The baseline first: `compare A B` says how B (the run) does against A.
    next_commands = [
        Next(
            factory("compare", r.baseline_run_id, r.run_id),
            f"{r.run_id} against {r.baseline_run_id}, which differs only in "
            f"{', '.join(r.differs_in) or 'this component'}: the paired test in full",
        )
        for r in result.runs[-3:]
        if r.baseline_run_id and r.verdict != "not comparable"
    ]
    return Reply(result, next=next_commands)


@command(
    "effects",
    help="which component or hyperparameter changes moved the primary metric (one-factor pairs)",
    schema="factory.effects/2",
    args=[MODEL_ARG],
    mutating=False,
)
def effects(ctx: Context) -> Reply:
    from core.insights.effects import component_effects

    result = component_effects(ctx.workspace, ctx.args.model)
    return Reply(result, next=[] if result.pairs else _one_change(ctx, result.model))


def _one_change(ctx: Context, model: str) -> list[Next]:
    """No one-factor pair yet: a plan that changes only the hyperparameters, with a version
    that exists and that no run or open plan already holds (so it is not refused)."""
    from core.components.registry import list_components
    from core.records.plans import plannable

    ws = ctx.workspace
    own = ws.config.models[model].hparams
    for info in list_components(ws, "hparams"):
        if info.version != own and plannable(ws, model, {"hparams": info.version}):
            intent = f"one change at a time: hparams {info.version} instead of {own}"
            words = ["--hparams", info.version, "--intent", intent, "--expect", "beats best"]
            return [
                Next(
                    factory("plan", model, *words),
                    "no one-factor pair yet: a plan that changes only the hyperparameters "
                    "gives effects one to measure",
                )
            ]
    return []


def _adr_number(value: str) -> int:
    try:
        return int(value.lstrip("0") or "0")
    except ValueError:
        raise UsageError(
            f"ADR number must be an integer, not {value!r}", hint="e.g. 3 or 0003"
        ) from None


@command(
    "adr new",
    help="write the next numbered ADR (MADR template) in adrs/",
    schema="factory.adr/2",
    args=[
        arg("title", help="the decision, e.g. 'Use calendar-day folds'"),
        arg(
            "--status",
            default="proposed",
            choices=["proposed", "accepted", "rejected", "deprecated"],
        ),
        arg("--context", help="the context and problem statement"),
        arg("--option", action="append", help="a considered option (repeat for each)"),
        arg("--decision", help="the decision outcome and why"),
        arg(
            "--link",
            action="append",
            help="what it is about: a run (id, prefix, MODEL:best), a model, a component "
            "(features/weather_v2), a file or `adr N` (repeat for each)",
        ),
    ],
    mutating=True,
)
def adr_new(ctx: Context) -> Reply:
    from core.records.adrs import AdrDetail, new_adr

    result = new_adr(
        ctx.workspace,
        ctx.args.title,
        status=ctx.args.status,
        context=ctx.args.context,
        options=ctx.args.option,
        decision=ctx.args.decision,
        links=[_link(ctx, link) for link in ctx.args.link or []],
    )
    return Reply(
        AdrDetail(result),
        next=[
            Next(
                factory("adr", "show", str(result.number)),
                f"ADR {result.number:04d} as written, to fill in or check (file {result.path})",
            ),
            low(factory("adr", "list"), "every ADR with its status and links"),
        ],
    )


def _link(ctx: Context, link: str) -> str:
    """A run named any way becomes its id (`rain:best` -> `r-...`); anything else is kept."""
    from core.flows.refs import NAMED, resolve_run

    if link.startswith("r-") or link in NAMED or link.split(":", 1)[-1] in NAMED:
        return resolve_run(ctx.workspace, link)
    return link


@command(
    "adr list",
    help="list ADRs with status, date and links",
    schema="factory.adr.list/2",
    mutating=False,
)
def adr_list(ctx: Context) -> Reply:
    from core.records.adrs import list_adrs

    return Reply(list_adrs(ctx.workspace))


@command(
    "adr show",
    help="show one ADR",
    schema="factory.adr/2",
    args=[arg("number", help="ADR number")],
    mutating=False,
)
def adr_show(ctx: Context) -> Reply:
    from core.records.adrs import AdrDetail, get_adr

    return Reply(AdrDetail(get_adr(ctx.workspace, _adr_number(ctx.args.number))))


@command(
    "adr supersede",
    help="write a new ADR that supersedes ADR N (N becomes 'superseded')",
    schema="factory.adr.supersede/2",
    args=[
        arg("number", help="the ADR being replaced"),
        arg("title", help="the new decision"),
        arg("--context", help="the context and problem statement"),
    ],
    mutating=True,
)
def adr_supersede(ctx: Context) -> Reply:
    from core.records.adrs import Superseded, supersede_adr

    new, old = supersede_adr(
        ctx.workspace, _adr_number(ctx.args.number), ctx.args.title, context=ctx.args.context
    )
    return Reply(
        Superseded(new, old),
        next=[
            Next(
                factory("adr", "show", str(new.number)),
                f"ADR {new.number:04d}, which replaces {old.number:04d}: fill in its decision "
                f"(file {new.path})",
            ),
            low(factory("adr", "list"), "every ADR with its status and links"),
        ],
    )


@command(
    "demo",
    help="build a fresh workspace and run the whole story: train, compare, gate, serve, roll out, "
    "find degradation, retrain, retire",
    schema="factory.demo/2",
    args=[
        arg("dir", nargs="?", default=None, help="folder to create (default: ./factory-demo)"),
        arg(
            "--no-story",
            action="store_true",
            help="train, compare and note only, on the embedded data whole: skip the loop "
            "after training (gate, serve, rollouts, outcomes, degrading, retrain, retire)",
        ),
    ],
    mutating=True,
    needs_workspace=False,
)
def demo(ctx: Context) -> Reply:
    import sys

    from core.flows.demo import run_demo
    from core.foundation.workspace import Workspace
    from core.serve.engine import Engine

    def say(text: str) -> None:
        # Narration for people goes to stderr; stdout stays the result.
        print(f"demo: {text}", file=sys.stderr, flush=True)

    def serving(ws: Workspace) -> Engine:
        # The server's own engine, in this process: the demo's requests are served and
        # logged exactly as `factory serve` serves them, without a socket.
        return Engine(ws, rollout_ticks=False)

    result = run_demo(ctx.args.dir, say=say, serving=serving, story=not ctx.args.no_story)
    # The demo's own command event goes to the demo workspace, not to the folder it ran in.
    ctx.__dict__["workspace"] = Workspace(Path(result.workspace))
    return Reply(result, next=result.next)


COMMANDS = (
    plan, note, cards, card, migrate_cards, why, effects, adr_new, adr_list, adr_show,
    adr_supersede, demo,
)  # fmt: skip
