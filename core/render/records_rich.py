"""Rich renderings of `card`, `why`, `effects` and `demo`: the verdict first, numbers next."""

from __future__ import annotations

from typing import Any

from rich import box
from rich.console import Group, RenderableType
from rich.markdown import Markdown
from rich.table import Table
from rich.text import Text

from core.render.rich_text import RENDERERS, cell

VERDICT_STYLE = {
    "better": "green",
    "helps": "green",
    "held": "green",
    "worse": "red",
    "hurts": "red",
    "did not hold": "red",
}


def _verdict(text: str | None) -> Text:
    value = text or "-"
    return Text(value, style=VERDICT_STYLE.get(value, "yellow"))


def _interval(pair: list[Any] | None) -> str:
    if not pair or pair[0] is None:
        return "-"
    return f"[{cell(pair[0])}, {cell(pair[1])}]"


def _held(expectation: dict[str, Any] | None) -> Text:
    if not expectation:
        return Text("-")
    held = expectation.get("held")
    label = "held" if held is True else "did not hold" if held is False else "needs a human"
    return _verdict(label)


def effects_view(data: dict[str, Any]) -> RenderableType:
    head = Text()
    head.append(f"{data['model']}", style="bold")
    head.append(
        f"  {data['metric']} ({data['direction']}), {data['runs']} runs, "
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
        table.add_row(
            effect["factor"],
            effect["change"],
            str(effect["pairs"]),
            f"{effect['mean_delta']:+.4g}",
            _interval(effect["interval"]),
            _verdict(effect["verdict"]),
        )
    return Group(head, table)


def why_view(data: dict[str, Any]) -> RenderableType:
    parts: list[RenderableType] = [Text(data["summary"], style="bold")]
    if data.get("runs"):
        table = Table(title="Runs", title_justify="left", box=box.SIMPLE_HEAD)
        for column in ("run", "model", "mean", "baseline", "delta", "95% interval", "verdict"):
            table.add_column(column, overflow="fold")
        for run in data["runs"]:
            comparison = run.get("comparison") or {}
            baseline = run.get("baseline_run_id")
            if baseline and run.get("baseline_version"):
                baseline += f" ({run['baseline_version']})"
            if len(run.get("differs_in") or []) > 1:
                baseline = f"{baseline}; also differs in " + ", ".join(
                    k for k in run["differs_in"] if k != data["kind"]
                )
            table.add_row(
                run["run_id"],
                run["model"],
                cell(run.get("mean")),
                cell(baseline),
                cell(comparison.get("mean_delta")),
                _interval(comparison.get("interval")),
                _verdict(run["verdict"]),
            )
        parts.append(table)
    for note in data.get("notes") or []:
        line = Text(f"note {note.get('run_id')}: ", style="dim")
        line.append(str(note.get("text")))
        if note.get("next"):
            line.append(f"  (next: {note['next']})", style="cyan")
        parts.append(line)
    for plan in data.get("plans") or []:
        verdict = (plan.get("verdict") or {}).get("reason") or plan.get("status")
        parts.append(Text(f"plan {plan['plan_id']}: {plan['intent']} -> {verdict}", style="dim"))
    for adr in data.get("adrs") or []:
        parts.append(Text(f"ADR {adr['number']:04d} {adr['title']}: {adr['line']}", style="dim"))
    return Group(*parts)


def card_view(data: dict[str, Any]) -> RenderableType:
    head = Text()
    head.append(f"{data['model']}", style="bold")
    head.append(f"  {data['path']}", style="dim")
    if not data.get("exists"):
        head.append("  (no card yet: plan or train to create it)", style="italic")
    return Group(head, Markdown(data.get("body") or ""))


def demo_view(data: dict[str, Any]) -> RenderableType:
    head = Text()
    head.append("Demo workspace ", style="bold")
    head.append(f"{data['workspace']}  (snapshot {data['snapshot_id']}, {data['seconds']} s)")
    runs = Table(title="Runs", title_justify="left", box=box.SIMPLE_HEAD)
    for column in ("model", "run", "features", "hparams", "metric", "expectation"):
        runs.add_column(column, overflow="fold")
    for run in data["runs"]:
        runs.add_row(
            run["model"],
            run["run_id"] + (" (reused)" if run.get("reused") else ""),
            run["components"].get("features", "-"),
            run["components"].get("hparams", "-"),
            f"{run['metric']} {cell(run.get('mean'))}",
            _held(run.get("expectation")),
        )
    compare = Table(title="weather_v2 vs weather_v1", title_justify="left", box=box.SIMPLE_HEAD)
    for column in ("model", "delta", "95% interval", "folds better", "verdict"):
        compare.add_column(column)
    for c in data["comparisons"]:
        compare.add_row(
            c["model"],
            cell(c["mean_delta"]),
            _interval(c["interval"]),
            f"{c['wins']}/{c['folds']}",
            _verdict(c["verdict"]),
        )
    return Group(head, runs, compare, Text(f"ADR: {data['adr']}", style="dim"))


RENDERERS["factory.effects/2"] = effects_view
RENDERERS["factory.why/2"] = why_view
RENDERERS["factory.card/1"] = card_view
RENDERERS["factory.demo/1"] = demo_view
