"""The records family (`core/cli/commands/records.py`): card, why, effects and demo, the
verdict first and the numbers next; Markdown first, then Rich. Plan, note, cards, migrate
cards and the ADR commands read well in the generic layout."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from rich import box
from rich.console import Group, RenderableType
from rich.table import Table
from rich.text import Text

from core.render import markdown as md
from core.render import text
from core.render.rich_text import Fitted, Renderer, add_row, markdown, title

HELD: dict[bool | None, str] = {True: "held", False: "did not hold"}
"""An expectation's `held`; None (or no expectation) needs a human."""


def _held(expectation: dict[str, Any] | None) -> str:
    if not expectation:
        return text.NOTHING
    return HELD.get(expectation.get("held"), "needs a human")


def _baseline(run: dict[str, Any], kind: str) -> str:
    """`r-fda2196984ae (weather_v1)`; and what else differs when more than `kind` does."""
    baseline = run.get("baseline_run_id")
    if baseline and run.get("baseline_version"):
        baseline += f" ({run['baseline_version']})"
    also = [k for k in run.get("differs_in") or [] if k != kind]
    if also:
        baseline = f"{baseline or text.NOTHING}; also differs in {', '.join(also)}"
    return baseline or text.NOTHING


def _plan_line(plan: dict[str, Any], ident: Callable[[Any], str] = str) -> str:
    """`p-4d87316e91b4 intent (expect: beats best) -> verdict`; `ident` shows the id."""
    verdict = (plan.get("verdict") or {}).get("reason") or plan.get("status")
    expect = plan.get("expect") or text.NOTHING
    return f"{ident(plan['plan_id'])} {plan['intent']} (expect: {expect}) -> {verdict}"


def _pairs(effects: list[dict[str, Any]], ident: Callable[[Any], str] = str) -> list[str]:
    """`hparams h1 -> h2: r-a12733202dbd -> r-e9a671f159c7`: the runs behind each effect, the
    pairs `factory compare` takes."""
    return [
        f"{e['factor']} {e['change']}: "
        + ", ".join(f"{ident(a)} -> {ident(b)}" for a, b in e.get("runs") or [])
        for e in effects
        if e.get("runs")
    ]


def _adr_line(adr: dict[str, Any]) -> str:
    return f"{adr['number']:04d} {adr['title']}: {adr['line']}"


# --- Markdown -----------------------------------------------------------------------------


def effects_md(data: dict[str, Any]) -> str:
    head = (
        f"{data['model']}: {data['metric']} ({data['direction']}), "
        f"{text.plural(data['runs'], 'run')}, {data['pairs']} one-factor pairs.\n"
    )
    if not data.get("effects"):
        return head + "\nNo pair of runs differs in exactly one thing yet.\n"
    rows = [
        [
            e["factor"],
            e["change"],
            e["pairs"],
            text.signed(e["mean_delta"]),
            text.interval(e["interval"]),
            e["verdict"],
        ]
        for e in data["effects"]
    ]
    header = ["factor", "change", "pairs", "mean delta", "95% interval", "verdict"]
    return (
        head
        + "\n"
        + md.grid(header, rows)
        + "".join(f"\n- {line}" for line in _pairs(data["effects"], md.code))
    )


def why_md(data: dict[str, Any]) -> str:
    out = [data["summary"], ""]
    if data.get("runs"):
        rows = [
            [
                md.code(run["run_id"]),
                run["model"],
                text.number(run.get("mean")),
                _baseline(run, data["kind"]),
                text.signed((run.get("comparison") or {}).get("mean_delta")),
                text.interval((run.get("comparison") or {}).get("interval")),
                run["verdict"],
            ]
            for run in data["runs"]
        ]
        header = ["run", "model", "mean", "baseline", "delta", "95% interval", "verdict"]
        out.append(md.grid(header, rows))
    if data.get("notes"):
        out.append("Notes:\n")
        for n in data["notes"]:
            extra = f" (next: {n['next']})" if n.get("next") else ""
            out.append(f"- {md.code(n.get('run_id'))} {n.get('text')}{extra}")
        out.append("")
    if data.get("plans"):
        out.append("Plans:\n")
        out += [f"- {_plan_line(p, md.code)}" for p in data["plans"]]
        out.append("")
    if data.get("adrs"):
        out.append("ADRs:\n")
        out += [f"- {_adr_line(a)}" for a in data["adrs"]]
    return "\n".join(out) + "\n"


def card_md(data: dict[str, Any]) -> str:
    best = _best_line(data, md.code)
    facts = f"\n\n{best[0].upper()}{best[1:]}." if best else ""
    return f"{md.code(data['path'])}{facts}\n\n{(data.get('body') or '').strip()}\n"


def demo_md(data: dict[str, Any]) -> str:
    head = (
        f"Workspace {md.code(data['workspace'])}, snapshot {md.code(data['snapshot_id'])}, "
        f"{text.number(data['seconds'], 1)} s.\n\n"
    )
    runs = [
        [
            r["model"],
            md.code(r["run_id"]),
            md.code(r.get("plan_id")),
            r["components"].get("features"),
            r["components"].get("hparams"),
            f"{r['metric']} {text.number(r.get('mean'))}",
            _held(r.get("expectation")),
        ]
        for r in data["runs"]
    ]
    header = ["model", "run", "plan", "features", "hparams", "metric", "expectation"]
    out = [head + md.grid(header, runs)]
    out.append("weather_v2 against weather_v1:\n")
    for c in data["comparisons"]:
        out.append(
            f"- {c['model']}: {c['metric']} delta {text.signed(c['mean_delta'])} "
            f"{text.interval(c['interval'])}, {c['wins']}/{c['folds']} folds better: {c['verdict']}"
        )
    out.append(f"\nADR: {md.code(data['adr'])}")
    story = data.get("story") or []
    if story:
        out.append("\nThe loop on rain:\n")
        out.append(md.grid(
            ["step", "verdict", "found", "command"],
            [
                [
                    s["step"] + (" (staged)" if s.get("staged") else ""),
                    s.get("verdict") or text.NOTHING,
                    s["found"] + (" (reused)" if s.get("reused") else ""),
                    "; ".join(md.code(c) for c in [s["command"], *(s.get("more") or [])]),
                ]
                for s in story
            ],
        ))  # fmt: skip
        out.append(f"Staged for the loop to find: {data.get('staged')}.")
    if data.get("story_stopped"):
        out.append(f"\nThe loop stopped: {data['story_stopped']}.")
    if data.get("story_adr"):
        out.append(f"\nLoop ADR: {md.code(data['story_adr'])}")
    return "\n".join(out) + "\n"


MARKDOWN: dict[str, md.Renderer] = {
    "factory.effects/2": effects_md,
    "factory.why/2": why_md,
    "factory.card/1": card_md,
    "factory.demo/2": demo_md,
}

# --- Rich ---------------------------------------------------------------------------------

VERDICT_STYLE = {
    "better": "green",
    "helps": "green",
    "held": "green",
    "worse": "red",
    "hurts": "red",
    "did not hold": "red",
    "passed": "green",
    "promoted": "green",
    "not_degrading": "green",
    "failed": "red",
    "aborted": "red",
    "degrading": "red",
    "drift": "red",
}


def _verdict(words: str | None) -> Text:
    shown = words or text.NOTHING
    return Text(shown, style=VERDICT_STYLE.get(shown, "yellow"))


def effects_view(data: dict[str, Any]) -> RenderableType:
    head = Text()
    head.append(f"{data['model']}", style="bold")
    head.append(
        f"  {data['metric']} ({data['direction']}), {text.plural(data['runs'], 'run')}, "
        f"{data['pairs']} one-factor pairs",
        style="dim",
    )
    if not data.get("effects"):
        return Group(
            head, Text("No pair of runs differs in exactly one thing yet.", style="italic")
        )
    table = Table(box=box.SIMPLE_HEAD)
    for column in ("factor", "change", "pairs", "delta", "95% interval", "verdict"):
        table.add_column(column, overflow="fold")
    for effect in data["effects"]:
        add_row(
            table,
            effect["factor"],
            effect["change"],
            effect["pairs"],
            text.signed(effect["mean_delta"]),
            text.interval(effect["interval"]),
            _verdict(effect["verdict"]),
        )
    pairs = [Text(line, style="dim") for line in _pairs(data["effects"])]
    return Group(head, Fitted(table), *pairs)


def why_view(data: dict[str, Any]) -> RenderableType:
    parts: list[RenderableType] = [Text(data["summary"], style="bold")]
    if data.get("runs"):
        table = Table(title=title("Runs"), title_justify="left", box=box.SIMPLE_HEAD)
        table.add_column("run", no_wrap=True)
        for column in ("model", "mean", "baseline", "delta", "95% interval", "verdict"):
            table.add_column(column, overflow="fold")
        for run in data["runs"]:
            comparison = run.get("comparison") or {}
            add_row(
                table,
                run["run_id"],
                run["model"],
                text.number(run.get("mean")),
                _baseline(run, data["kind"]),
                text.signed(comparison.get("mean_delta")),
                text.interval(comparison.get("interval")),
                _verdict(run["verdict"]),
            )
        parts.append(Fitted(table))
    for note in data.get("notes") or []:
        line = Text(f"note {note.get('run_id')}: ", style="dim")
        line.append(str(note.get("text")))
        if note.get("next"):
            line.append(f"  (next: {note['next']})", style="cyan")
        parts.append(line)
    parts += [Text(f"plan {_plan_line(plan)}", style="dim") for plan in data.get("plans") or []]
    parts += [Text(f"ADR {_adr_line(adr)}", style="dim") for adr in data.get("adrs") or []]
    return Group(*parts)


def card_view(data: dict[str, Any]) -> RenderableType:
    head = Text()
    head.append(f"{data['model']}", style="bold")
    head.append(f"  {data['path']}", style="dim")
    if not data.get("exists"):
        head.append("  (no card yet: plan or train to create it)", style="italic")
    best = _best_line(data)
    facts = [Text(best, style="green")] if best else []
    return Group(head, *facts, markdown(data.get("body") or ""))


def _best_line(data: dict[str, Any], ident: Callable[[Any], str] = str) -> str:
    """`best r-e9a671f159c7: auc 0.6911 ± 0.0415 on ds-b08231b62481`, above the body that
    says it in prose; empty before the first run."""
    best = data.get("best") or {}
    if not best.get("run_id"):
        return ""
    metric = best.get("metric") or {}
    return (
        f"best {ident(best['run_id'])}: {metric.get('name')} {text.number(metric.get('mean'))}"
        f" ± {text.number(metric.get('std'))} on {ident(best.get('snapshot_id'))}"
    )


def demo_view(data: dict[str, Any]) -> RenderableType:
    head = Text()
    head.append("Demo workspace ", style="bold")
    head.append(
        f"{data['workspace']}  (snapshot {data['snapshot_id']}, "
        f"{text.number(data['seconds'], 1)} s)"
    )
    runs = Table(title=title("Runs"), title_justify="left", box=box.SIMPLE_HEAD)
    runs.add_column("model", overflow="fold")
    runs.add_column("run", no_wrap=True)
    for column in ("features", "hparams", "metric", "expectation"):
        runs.add_column(column, overflow="fold")
    for run in data["runs"]:
        ran = Text(run["run_id"])
        if run.get("plan_id"):
            ran.append(f"\n{run['plan_id']}", style="dim")
        if run.get("reused"):
            ran.append("\n(reused)", style="dim")
        add_row(
            runs,
            run["model"],
            ran,
            run["components"].get("features", text.NOTHING),
            run["components"].get("hparams", text.NOTHING),
            f"{run['metric']} {text.number(run.get('mean'))}",
            _verdict(_held(run.get("expectation"))),
        )
    compare = Table(
        title=title("weather_v2 vs weather_v1"), title_justify="left", box=box.SIMPLE_HEAD
    )
    for column in ("model", "delta", "95% interval", "folds better", "verdict"):
        compare.add_column(column, overflow="fold")
    for c in data["comparisons"]:
        add_row(
            compare,
            c["model"],
            text.signed(c["mean_delta"]),
            text.interval(c["interval"]),
            f"{c['wins']}/{c['folds']}",
            _verdict(c["verdict"]),
        )
    parts: list[RenderableType] = [
        head, Fitted(runs), Fitted(compare), Text(f"ADR: {data['adr']}", style="dim"),
    ]  # fmt: skip
    story = data.get("story") or []
    if story:
        loop = Table(title=title("The loop on rain"), title_justify="left", box=box.SIMPLE_HEAD)
        loop.add_column("step", overflow="fold")
        loop.add_column("verdict", overflow="fold")
        loop.add_column("found", overflow="fold", ratio=3)
        for s in story:
            found = Text(s["found"])
            if s.get("reused"):
                found.append(" (reused)", style="dim")
            for command in [s["command"], *(s.get("more") or [])]:
                found.append(f"\n{command}", style="dim")
            step = Text(s["step"])
            if s.get("staged"):
                step.append("\n(staged)", style="yellow")
            add_row(loop, step, _verdict(s.get("verdict")), found)
        staged = f"Staged for the loop to find: {data.get('staged')}."
        parts += [Fitted(loop), Text(staged, style="yellow")]
    if data.get("story_stopped"):
        parts.append(Text(f"The loop stopped: {data['story_stopped']}.", style="red"))
    if data.get("story_adr"):
        parts.append(Text(f"Loop ADR: {data['story_adr']}", style="dim"))
    return Group(*parts)


RICH: dict[str, Renderer] = {
    "factory.effects/2": effects_view,
    "factory.why/2": why_view,
    "factory.card/1": card_view,
    "factory.demo/2": demo_view,
}
