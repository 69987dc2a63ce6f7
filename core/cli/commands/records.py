"""`factory plan|note|card|cards|why|effects|adr ...|demo`: the written memory of the work."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from core.cli.registry import Context, Reply, arg, command
from core.foundation.errors import UsageError

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
    return Reply(
        result,
        next=[
            f"factory train {result.model} --plan {result.plan_id}",
            f"factory card {result.model}",
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
    return Reply(result, next=[f"factory card {result.model}", "factory status"])


@dataclass(frozen=True)
class CardList:
    cards: list[Any]

    def to_dict(self) -> dict[str, Any]:
        return {"cards": [c.to_dict() for c in self.cards]}


@command(
    "cards", help="list the model cards with runs, open plans and tiers", schema="factory.cards/1"
)
def cards(ctx: Context) -> Reply:
    from core.records.summary import list_cards

    result = CardList(list_cards(ctx.workspace))
    return Reply(result, next=[f"factory card {c.model}" for c in result.cards if c.exists])


@command(
    "card",
    help="show a model card: frontmatter summary and body",
    schema="factory.card/1",
    args=[MODEL_ARG],
)
def card(ctx: Context) -> Reply:
    from core.records.card_store import read_card

    result = read_card(ctx.workspace, ctx.args.model)
    next_commands = [f"factory effects {result.model}", f"factory runs {result.model}"]
    next_commands += [
        f"factory train {result.model} --plan {p.plan_id}"
        for p in result.plans
        if p.status == "planned"
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
    return Reply(result, next=[f"factory card {c.model}" for c in result.cards])


@command(
    "why",
    help="every run that used a component, how it did against its baseline, and the "
    "notes and ADRs that mention it",
    schema="factory.why/2",
    args=[arg("component", help="KIND/VERSION, e.g. features/weather_v2")],
)
def why(ctx: Context) -> Reply:
    from core.insights.why import why_component

    result = why_component(ctx.workspace, ctx.args.component)
    # The baseline first: `compare A B` says how B (the run) does against A.
    next_commands = [
        f"factory compare {r.baseline_run_id} {r.run_id}"
        for r in result.runs[-3:]
        if r.baseline_run_id and r.verdict != "not comparable"
    ]
    return Reply(result, next=next_commands)


@command(
    "effects",
    help="which component or hyperparameter changes moved the primary metric (one-factor pairs)",
    schema="factory.effects/2",
    args=[MODEL_ARG],
)
def effects(ctx: Context) -> Reply:
    from core.insights.effects import component_effects

    result = component_effects(ctx.workspace, ctx.args.model)
    next_commands = (
        []
        if result.pairs
        else [
            f"factory plan {result.model} --hparams h2 --intent 'one change at a time' --expect 'beats best'"
        ]
    )
    return Reply(result, next=next_commands)


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
    schema="factory.adr/1",
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
    return Reply(AdrDetail(result), next=[f"$EDITOR {result.path}", "factory adr list"])


def _link(ctx: Context, link: str) -> str:
    """A run named any way becomes its id (`rain:best` -> `r-...`); anything else is kept."""
    from core.flows.refs import NAMED, resolve_run

    if link.startswith("r-") or link in NAMED or link.split(":", 1)[-1] in NAMED:
        return resolve_run(ctx.workspace, link)
    return link


@command("adr list", help="list ADRs with status, date and links", schema="factory.adr.list/1")
def adr_list(ctx: Context) -> Reply:
    from core.records.adrs import list_adrs

    return Reply(list_adrs(ctx.workspace))


@command(
    "adr show", help="show one ADR", schema="factory.adr/1", args=[arg("number", help="ADR number")]
)
def adr_show(ctx: Context) -> Reply:
    from core.records.adrs import AdrDetail, get_adr

    return Reply(AdrDetail(get_adr(ctx.workspace, _adr_number(ctx.args.number))))


@dataclass(frozen=True)
class Superseded:
    new: Any
    old: Any

    def to_dict(self) -> dict[str, Any]:
        return {"new": self.new.to_dict(), "old": self.old.to_dict()}


@command(
    "adr supersede",
    help="write a new ADR that supersedes ADR N (N becomes 'superseded')",
    schema="factory.adr.supersede/1",
    args=[
        arg("number", help="the ADR being replaced"),
        arg("title", help="the new decision"),
        arg("--context", help="the context and problem statement"),
    ],
    mutating=True,
)
def adr_supersede(ctx: Context) -> Reply:
    from core.records.adrs import supersede_adr

    new, old = supersede_adr(
        ctx.workspace, _adr_number(ctx.args.number), ctx.args.title, context=ctx.args.context
    )
    return Reply(Superseded(new, old), next=[f"$EDITOR {new.path}", "factory adr list"])


@command(
    "demo",
    help="build a fresh workspace and run the whole story: snapshot, plan, train, compare, note",
    schema="factory.demo/1",
    args=[arg("dir", nargs="?", default=None, help="folder to create (default: ./factory-demo)")],
    mutating=True,
    needs_workspace=False,
)
def demo(ctx: Context) -> Reply:
    import sys

    from core.flows.demo import run_demo

    def say(text: str) -> None:
        # Narration for people goes to stderr; stdout stays the result.
        print(f"demo: {text}", file=sys.stderr, flush=True)

    result = run_demo(ctx.args.dir, say=say)
    # The demo's own command event goes to the demo workspace, not to the folder it ran in.
    from core.foundation.workspace import Workspace

    ctx.__dict__["workspace"] = Workspace(Path(result.workspace))
    return Reply(result, next=result.next)


COMMANDS = (
    plan, note, cards, card, migrate_cards, why, effects, adr_new, adr_list, adr_show,
    adr_supersede, demo,
)  # fmt: skip
