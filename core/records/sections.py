"""The generated parts of a card's body, rendered from its frontmatter."""

from __future__ import annotations

from typing import Any


def initial_body(model: str) -> str:
    return f"""# Model card: {model}

<!-- factory:begin summary -->
<!-- factory:end summary -->

## About this model

_Write here what this model is for, who relies on it and its known limits. factory never
edits text outside the `factory:begin` / `factory:end` markers._

## Plans and expectations

<!-- factory:begin plans -->
<!-- factory:end plans -->

## Runs

<!-- factory:begin runs -->
<!-- factory:end runs -->

## Findings and next ideas

<!-- factory:begin notes -->
<!-- factory:end notes -->
"""


def _fmt(value: Any, digits: int = 4) -> str:
    if isinstance(value, float):
        return f"{value:.{digits}f}"
    return "–" if value is None else str(value)


def _cell(text: Any) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ")


def verdict_text(expectation: dict[str, Any] | None) -> str:
    if not expectation:
        return "–"
    held = expectation.get("held")
    if held is True:
        return "held"
    if held is False:
        return "did not hold"
    return str(expectation.get("reason") or "needs a human verdict")


def render(meta: dict[str, Any]) -> dict[str, str]:
    return {
        "summary": _summary(meta),
        "plans": _plans(meta),
        "runs": _runs(meta),
        "notes": _notes(meta),
    }


def _runs_on_card(meta: dict[str, Any]) -> list[dict[str, Any]]:
    return [e for e in meta.get("runs") or [] if isinstance(e, dict)]


def _run_count(meta: dict[str, Any], runs: list[dict[str, Any]]) -> int:
    count = meta.get("run_count")
    return count if isinstance(count, int) and count >= len(runs) else len(runs)


def _summary(meta: dict[str, Any]) -> str:
    runs = _runs_on_card(meta)
    count = _run_count(meta, runs)
    lines = [
        f"- task: {meta.get('task')}; primary metric: {meta.get('primary_metric')} "
        f"({meta.get('direction')})",
        f"- runs: {count}",
    ]
    best = next((e for e in runs if e.get("run_id") == meta.get("best_run")), None)
    if best:
        metric = best.get("metric") or {}
        lines.append(
            f"- best run: `{best['run_id']}` {metric.get('name')} {_fmt(metric.get('mean'))}"
            f" ± {_fmt(metric.get('std'))}{_skill_words(best.get('baseline'))}"
        )
    tiers = meta.get("tiers") or {}
    if isinstance(tiers, dict) and tiers:
        held = [f"{tier}: `{run}`" for tier, run in tiers.items() if run and isinstance(run, str)]
        lines.append("- tiers: " + (", ".join(held) if held else "none (all runs in dev)"))
    lines += _serving(meta.get("serving"))
    return "\n".join(lines)


def _serving(figures: Any) -> list[str]:
    """The served runs' live figures, as `factory serve` recorded them when it stopped."""
    if not isinstance(figures, dict) or not isinstance(figures.get("runs"), list):
        return []
    lines = [f"- served (as of {figures.get('as_of')}; `{figures.get('source')}` for now):"]
    for row in figures["runs"]:
        if not isinstance(row, dict):
            continue
        rate = row.get("error_rate")
        errors = f"{rate:.2%}" if isinstance(rate, float | int) else "–"
        lines.append(
            f"  - `{row.get('run_id')}` {row.get('tier')} {row.get('mode')}: p50/p95/p99 "
            f"{_fmt(row.get('p50_ms'), 2)}/{_fmt(row.get('p95_ms'), 2)}/"
            f"{_fmt(row.get('p99_ms'), 2)} ms, errors {errors}, CPU {_fmt(row.get('cpu_ms'), 2)} "
            f"ms, {_fmt(row.get('cost_per_1000'), 6)} {row.get('currency') or ''} per 1,000 "
            f"(n={row.get('n')})"
        )
    return lines


def _skill_words(baseline: Any) -> str:
    """`; skill 0.31 over persistence (better)`, or nothing without baselines."""
    if not isinstance(baseline, dict) or not baseline.get("best"):
        return ""
    return (
        f"; skill {_fmt(baseline.get('skill'), 3)} over {baseline.get('best')} "
        f"({baseline.get('verdict') or 'no verdict'})"
    )


def _plans(meta: dict[str, Any]) -> str:
    plans = [p for p in meta.get("plans") or [] if isinstance(p, dict)]
    if not plans:
        return "_No plans yet: `factory plan MODEL --intent ... --expect ...`._"
    rows = [
        "| plan | components | intent | expect | status | verdict |",
        "|---|---|---|---|---|---|",
    ]
    for plan in reversed(plans):
        components = ", ".join(f"{k}/{v}" for k, v in (plan.get("components") or {}).items())
        status = plan.get("status", "planned")
        if plan.get("run_id"):
            status += f" (`{plan['run_id']}`)"
        rows.append(
            f"| `{plan.get('plan_id')}` | {_cell(components)} | {_cell(plan.get('intent', ''))} "
            f"| {_cell(plan.get('expect', ''))} | {status} | "
            f"{_cell(verdict_text(plan.get('verdict')))} |"
        )
    return "\n".join(rows)


def _runs(meta: dict[str, Any]) -> str:
    runs = _runs_on_card(meta)
    if not runs:
        return "_No runs yet: `factory train MODEL`._"
    rows = [
        "| run | created | components | metric | vs naive baseline | expectation | kept for |",
        "|---|---|---|---|---|---|---|",
    ]
    for entry in reversed(runs):
        metric = entry.get("metric") or {}
        components = ", ".join(f"{k}/{v}" for k, v in (entry.get("components") or {}).items())
        kept = ", ".join(str(k) for k in entry.get("kept_for") or []) or "–"
        changed = ", ".join(entry.get("component_changed") or [])
        if changed:
            kept += f"; changed: {changed}"
        if entry.get("leaky"):
            kept = "LEAKY; " + kept
        baseline = entry.get("baseline") or {}
        versus = (
            f"{_fmt(baseline.get('skill'), 3)} over {baseline.get('best')}: "
            f"{baseline.get('verdict') or '–'}"
            if baseline.get("best")
            else "–"
        )
        rows.append(
            f"| `{entry.get('run_id')}` | {_cell(str(entry.get('created_at', ''))[:16])} "
            f"| {_cell(components)} | {metric.get('name')} {_fmt(metric.get('mean'))} ± "
            f"{_fmt(metric.get('std'))} | {_cell(versus)} "
            f"| {_cell(verdict_text(entry.get('expectation')))} | {_cell(kept)} |"
        )
    others = _run_count(meta, runs) - len(runs)
    if others > 0:
        rows.append(
            f"\n_{others} other runs are in `factory runs` and their reports in `reports/`._"
        )
    return "\n".join(rows)


def _notes(meta: dict[str, Any]) -> str:
    notes = [n for n in meta.get("notes") or [] if isinstance(n, dict)]
    if not notes:
        return '_No findings yet: `factory note RUN "what you learned" --next "idea"`._'
    lines = []
    for note in reversed(notes):
        lines.append(
            f"- {str(note.get('created_at', ''))[:10]} `{note.get('run_id')}`: {note.get('text')}"
        )
        if note.get("next"):
            lines.append(f"  - next: {note['next']}")
    return "\n".join(lines)
