"""Markdown renderings of `card`, `why`, `effects` and `demo`."""

from __future__ import annotations

from typing import Any

from core.render.markdown import RENDERERS


def _num(value: Any) -> str:
    if value is None:
        return "–"
    return f"{value:.4g}" if isinstance(value, float) else str(value)


def _interval(pair: list[Any] | None) -> str:
    if not pair or pair[0] is None:
        return "–"
    return f"[{_num(pair[0])}, {_num(pair[1])}]"


def effects_md(data: dict[str, Any]) -> str:
    out = [
        f"{data['model']}: {data['metric']} ({data['direction']}), {data['runs']} runs, "
        f"{data['pairs']} one-factor pairs.\n"
    ]
    if not data.get("effects"):
        return out[0] + "\nNo pair of runs differs in exactly one thing yet.\n"
    out.append("| factor | change | pairs | mean delta | 95% interval | verdict |")
    out.append("|---|---|---|---|---|---|")
    for e in data["effects"]:
        out.append(
            f"| {e['factor']} | {e['change']} | {e['pairs']} | {e['mean_delta']:+.4g} "
            f"| {_interval(e['interval'])} | {e['verdict']} |"
        )
    return "\n".join(out) + "\n"


def why_md(data: dict[str, Any]) -> str:
    out = [data["summary"], ""]
    if data.get("runs"):
        out.append(
            "| run | model | mean | baseline | differs in | delta | 95% interval | verdict |"
        )
        out.append("|---|---|---|---|---|---|---|---|")
        for run in data["runs"]:
            c = run.get("comparison") or {}
            out.append(
                f"| {run['run_id']} | {run['model']} | {_num(run.get('mean'))} "
                f"| {run.get('baseline_run_id') or '–'} ({run.get('baseline_version') or '–'}) "
                f"| {', '.join(run.get('differs_in') or []) or '–'} | {_num(c.get('mean_delta'))} "
                f"| {_interval(c.get('interval'))} | {run['verdict']} |"
            )
        out.append("")
    if data.get("notes"):
        out.append("Notes:\n")
        for n in data["notes"]:
            extra = f" (next: {n['next']})" if n.get("next") else ""
            out.append(f"- `{n.get('run_id')}` {n.get('text')}{extra}")
        out.append("")
    if data.get("plans"):
        out.append("Plans:\n")
        for p in data["plans"]:
            verdict = (p.get("verdict") or {}).get("reason") or p.get("status")
            out.append(
                f"- `{p['plan_id']}` {p['intent']} (expect: {p['expect'] or '–'}) -> {verdict}"
            )
        out.append("")
    if data.get("adrs"):
        out.append("ADRs:\n")
        for a in data["adrs"]:
            out.append(f"- {a['number']:04d} {a['title']}: {a['line']}")
    return "\n".join(out) + "\n"


def card_md(data: dict[str, Any]) -> str:
    return f"`{data['path']}`\n\n{(data.get('body') or '').strip()}\n"


def demo_md(data: dict[str, Any]) -> str:
    out = [
        f"Workspace `{data['workspace']}`, snapshot `{data['snapshot_id']}`, {data['seconds']} s.\n",
        "| model | run | features | hparams | metric | expectation |",
        "|---|---|---|---|---|---|",
    ]
    labels: dict[bool | None, str] = {True: "held", False: "did not hold"}
    for r in data["runs"]:
        e = r.get("expectation") or {}
        held = labels.get(e.get("held"), "needs a human")
        out.append(
            f"| {r['model']} | {r['run_id']} | {r['components'].get('features')} "
            f"| {r['components'].get('hparams')} | {r['metric']} {_num(r.get('mean'))} | {held} |"
        )
    out.append("\nweather_v2 against weather_v1:\n")
    for c in data["comparisons"]:
        out.append(
            f"- {c['model']}: {c['metric']} delta {_num(c['mean_delta'])} "
            f"{_interval(c['interval'])}, {c['wins']}/{c['folds']} folds better: {c['verdict']}"
        )
    out.append(f"\nADR: `{data['adr']}`")
    return "\n".join(out) + "\n"


RENDERERS["factory.effects/2"] = effects_md
RENDERERS["factory.why/2"] = why_md
RENDERERS["factory.card/1"] = card_md
RENDERERS["factory.demo/1"] = demo_md
