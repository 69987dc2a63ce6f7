"""Live: each model online. Which run serves each tier and how fast (`factory tiers`,
`factory perf`), the rollout in progress with every criterion as value / threshold / verdict
(`factory rollout status`), how the serving runs do on real outcomes beside their backtest
(`factory live`), the newest degrading verdict per run (what `factory check degrading`
recorded) and the sunset verdicts (`factory sunset candidates`).

Every number is in the commands' `--json` (`tui.data.live_board`); an empty part says which
command fills it. Rollout ticks, joins and checks emit events, so the screen reloads when
they happen; the inference log itself is not watched (a busy server writes it every
request): `ctrl+r` reloads the serving figures at once.
"""

from __future__ import annotations

from typing import Any, ClassVar

from rich.console import RenderableType
from rich.text import Text
from textual.app import ComposeResult
from textual.containers import VerticalScroll
from textual.widgets import Static

from tui import data
from tui import format as fmt
from tui.screens.base import Banner, FactoryScreen
from tui.widgets.render import heading, rows_table, stack

VERDICT_STYLE = {
    "pass": "green",
    "fail": "bold red",
    "inconclusive": "yellow",
    "degrading": "bold red",
    "not_degrading": "green",
    "insufficient": "yellow",
    "candidate": "bold red",
    "n/a": "dim",
}


POSITION_STYLE = {"below_range": "bold red", "within_range": "green", "above_range": "green"}


def verdict(word: Any) -> Text:
    text = fmt.value(word)
    return Text(text, style=VERDICT_STYLE.get(text, ""))


def bounds(pair: Any, digits: int = 4) -> str:
    """An always-valid interval whose ends may be unbounded (None)."""
    if not isinstance(pair, (list, tuple)) or len(pair) != 2 or list(pair) == [None, None]:
        return fmt.NOTHING
    low = fmt.number(pair[0], digits) if pair[0] is not None else "-inf"
    high = fmt.number(pair[1], digits) if pair[1] is not None else "inf"
    return f"[{low}, {high}]"


def hint(text: str) -> Text:
    return Text(f"  {text}", style="italic")


def _error(part: Any) -> str | None:
    return str(part["error"]) if isinstance(part, dict) and "error" in part else None


def tiers_part(model: dict[str, Any]) -> list[RenderableType]:
    """One line: which run holds prod and staging, and the challenger's share in a rollout."""
    name, tiers = model["name"], model.get("tiers") or {}
    title = f"Tiers (factory tiers {name})"
    if (problem := _error(tiers)) is not None:
        return [heading(title), hint(problem)]
    held = tiers.get("tiers") or {}
    if not held.get("prod") and not held.get("staging"):
        return [
            heading(title),
            hint(f"nothing serves yet: factory runs {name}, then factory promote RUN --to staging"),
        ]
    line = Text("  ")
    for tier in ("prod", "staging"):
        line.append(f"{tier} ", style="bold")
        line.append(f"{held.get(tier) or fmt.NOTHING}   ")
    rollout = model.get("rollout")
    if isinstance(rollout, dict) and rollout.get("status") in ("running", "paused", "promoting"):
        share = (
            "scores every prod request as a shadow"
            if rollout.get("mode") == "shadow"
            else f"answers {fmt.percent(rollout.get('share'))} of prod"
        )
        line.append(f"challenger {rollout.get('challenger')} {share}", style="italic")
    return [heading(title), line]


def perf_part(model: dict[str, Any]) -> list[RenderableType]:
    name, perf = model["name"], model.get("perf") or {}
    title = f"Serving (factory perf {name})"
    if (problem := _error(perf)) is not None:
        return [heading(title), hint(problem)]
    rows = perf.get("rows") or []
    if not rows:
        return [
            heading(title),
            hint(f"no request logged: factory serve, or factory predict {name} --input FILE"),
        ]
    cost = f"{perf.get('currency') or ''}/1k"
    return [
        rows_table(
            f"{title}: latency in ms, cost per 1,000 predictions",
            ["run", "served", "n", "p50", "p95", "p99", "errors", cost],
            [
                [
                    r["run_id"],
                    f"{r.get('tier') or fmt.NOTHING} {r['mode']}",
                    r["n"],
                    fmt.number(r.get("p50_ms"), 1),
                    fmt.number(r.get("p95_ms"), 1),
                    fmt.number(r.get("p99_ms"), 1),
                    fmt.percent(r.get("error_rate")),
                    fmt.number(r.get("cost_per_1000"), 3),
                ]
                for r in rows
            ],
            numeric=["n", "p50", "p95", "p99", "errors", cost],
            whole=["run", "served"],
        )
    ]


def rollout_part(model: dict[str, Any]) -> list[RenderableType]:
    name, rollout = model["name"], model.get("rollout")
    title = f"Rollout (factory rollout status {name})"
    if rollout is None:
        staging = ((model.get("tiers") or {}).get("tiers") or {}).get("staging")
        prod = ((model.get("tiers") or {}).get("tiers") or {}).get("prod")
        run = staging if staging and staging != prod else "RUN"
        return [heading(title), hint(f"no rollout: factory rollout plan {name} --run {run}")]
    if (problem := _error(rollout)) is not None:
        return [heading(title), hint(problem)]
    steps = rollout.get("steps") or []
    where = (
        f"step {rollout['step'] + 1} of {len(steps)}, {fmt.percent(rollout.get('share'))} of prod"
        if steps
        else "shadow: every request, never answered"
    )
    lines: list[RenderableType] = [
        heading(title),
        Text.assemble(
            (f"{rollout['rollout_id']}  ", "bold"),
            f"{rollout['mode']} ",
            verdict(rollout["status"]),
            f"  {rollout['challenger']} against {rollout['stable']}",
        ),
        Text(
            f"  {where}; look {rollout.get('looks', 0)}; requests {rollout.get('n_stable', 0)}"
            f" stable, {rollout.get('n_challenger', 0)} challenger (min "
            f"{rollout.get('min_requests')} each); failures {rollout.get('failures', 0)} "
            f"(limit {rollout.get('failure_limit')}), inconclusive "
            f"{rollout.get('inconclusive', 0)} (limit {rollout.get('inconclusive_limit')})"
        ),
    ]
    criteria = rollout.get("criteria") or []
    if criteria:
        lines.append(
            rows_table(
                None,
                ["criterion", "value", "threshold", "interval", "verdict"],
                [
                    [
                        c["name"],
                        fmt.number(c.get("value"), 3),
                        fmt.number(c.get("threshold"), 3),
                        bounds(c.get("interval"), 3),
                        verdict(c.get("verdict")),
                    ]
                    for c in criteria
                ],
                numeric=["value", "threshold"],
                whole=["criterion", "verdict"],
            )
        )
    else:
        lines.append(hint(f"no analysis yet: factory rollout tick {name} --now"))
    if rollout.get("status") in ("running", "paused"):
        lines.append(hint(f"next: {rollout.get('next_step')}"))
    elif rollout.get("reason"):
        lines.append(hint(f"{rollout.get('decision') or rollout['status']}: {rollout['reason']}"))
    return lines


def live_part(model: dict[str, Any]) -> list[RenderableType]:
    """One line per run and tier: the realised metric beside its backtest range."""
    name, found = model["name"], model.get("live") or {}
    parts: list[RenderableType] = [heading(f"Live performance (factory live {name})")]
    if (problem := _error(found)) is not None:
        return [*parts, hint(problem)]
    runs = found.get("runs") or []
    if not runs:
        notes = found.get("notes") or [f"no logged prediction of {name} yet"]
        return [*parts, *(hint(n) for n in notes)]
    for r in runs:
        backtest = r.get("backtest") or {}
        line = Text("  ")
        line.append(str(r["run_id"]), style="bold")
        line.append(f" {r['tier']} ({', '.join(r.get('modes') or [])}): ")
        line.append(f"{r.get('metric')} {fmt.number(r.get('value'))}")
        if r.get("value") is not None:
            line.append(f" {bounds(r.get('interval'))}")
        line.append(
            f" on {r['labelled']} labelled of {r['logged']} ({fmt.percent(r.get('coverage'))}); "
            f"backtest {bounds([backtest.get('min'), backtest.get('max')])} over "
            f"{backtest.get('folds')} folds: "
        )
        line.append(
            fmt.value(r.get("position")).replace("_", " "),
            style=POSITION_STYLE.get(str(r.get("position")), ""),
        )
        if r.get("pending"):
            estimate = r.get("estimate") or {}
            value = estimate.get("value")
            line.append(
                f"; {r['pending']} pending"
                + (f" (estimate {fmt.number(value)}, {estimate.get('method')})" if value else "")
            )
        parts.append(line)
    if not any(r.get("labelled") for r in runs):
        parts.append(
            hint(f"no outcomes yet: factory feedback join {name} (once newer data arrives)")
        )
    return parts


def degrading_part(model: dict[str, Any]) -> list[RenderableType]:
    """The newest recorded verdict of each run, newest first."""
    name, verdicts = model["name"], model.get("degrading") or {}
    parts: list[RenderableType] = [heading(f"Degrading (factory check degrading {name})")]
    if (problem := _error(verdicts)) is not None:
        return [*parts, hint(problem)]
    if not verdicts:
        runs = (model.get("live") or {}).get("runs") or []
        labelled = any(r.get("labelled") for r in runs)
        return [
            *parts,
            hint(
                f"not checked yet: factory check degrading {name}"
                if labelled
                else f"needs outcomes first: factory feedback join {name}"
            ),
        ]
    for v in sorted(verdicts.values(), key=lambda v: str(v.get("checked_at")), reverse=True):
        loss = v.get("loss_metric") or "loss"
        line = Text("  ")
        line.append(str(v.get("run_id")), style="bold")
        line.append(f" {v.get('tier') or fmt.NOTHING}: ")
        line.append_text(verdict(v.get("verdict")))
        line.append(
            f" on {v.get('labelled')} labelled: live {loss} {fmt.number(v.get('live_mean_loss'))}"
            f" against the backtest's {fmt.number(v.get('backtest_mean_loss'))}, difference "
            f"{bounds(v.get('interval'))} (checked {fmt.when(v.get('checked_at'))})"
        )
        parts.append(line)
    return parts


def _check(check: dict[str, Any]) -> Text:
    """`idle pass (0.67 / 30)`: the rule, its status, and its figures when they are numbers."""
    status = str(check.get("status"))
    text = Text(f"{check.get('rule')} ")
    text.append(status, style=VERDICT_STYLE.get(status, ""))
    value, threshold = check.get("value"), check.get("threshold")
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        text.append(f" ({fmt.number(value)} / {fmt.number(threshold)})", style="dim")
    return text


def sunset_part(model: dict[str, Any]) -> list[RenderableType]:
    """One line per run that serves or served: candidate or keep, and every rule's check."""
    name, found = model["name"], model.get("sunset") or {}
    parts: list[RenderableType] = [heading(f"Sunset candidates (factory sunset candidates {name})")]
    if (problem := _error(found)) is not None:
        return [*parts, hint(problem)]
    runs = found.get("runs") or []
    if not runs:
        return [*parts, *(hint(n) for n in found.get("notes") or [])]
    for r in runs:
        line = Text("  ")
        line.append(str(r["run_id"]), style="bold")
        line.append(f" {','.join(r.get('tiers') or []) or 'no tier'}: ")
        line.append_text(verdict("candidate" if r.get("candidate") else "keep"))
        line.append(" · ")
        line.append_text(Text(", ").join(_check(c) for c in r.get("checks") or []))
        parts.append(line)
    if not found.get("candidates"):
        parts.append(hint("no candidate: every run that serves keeps its place"))
    return parts


def model_live_block(model: dict[str, Any]) -> RenderableType:
    title = Text.assemble(
        (model["name"], "bold"),
        f"  {model.get('task', '')}, {model.get('metric', '')} ({model.get('direction', '')})",
    )
    parts: list[RenderableType] = [title]
    for render in (tiers_part, perf_part, rollout_part, live_part, degrading_part, sunset_part):
        parts.extend(render(model))
    parts.append(Text(""))
    return stack(*parts)


class LiveScreen(FactoryScreen):
    MODE = "live"
    AUTO_FOCUS = "#live"
    AREAS: ClassVar[frozenset[str]] = frozenset({"config", "cards", "reports", "events"})

    def compose_body(self) -> ComposeResult:
        yield Banner(id="banner")
        with VerticalScroll(id="live"):
            yield Static(id="live-models")

    def fetch(self, key: str) -> Any:
        return data.live_board(self.ws)

    def show_data(self, board: dict[str, Any]) -> None:
        models = board.get("models") or []
        self.query_one("#live-models", Static).update(
            stack(*(model_live_block(m) for m in models))
            if models
            else Text("No models in factory.toml yet.")
        )
