"""The experiments family (`core/cli/commands/experiments.py`): runs, train, show, curves,
compare, check features; Markdown first, then Rich."""

from __future__ import annotations

from typing import Any

from rich import box
from rich.console import Group, RenderableType
from rich.table import Table
from rich.text import Text

from core.render import markdown as md
from core.render import text
from core.render.rich_text import Fitted, Renderer, add_row, title

RECIPE = ("features", "hparams", "arch")
"""The component kinds that usually vary between runs of one model."""

# --- Markdown -----------------------------------------------------------------------------


def runs_md(data: dict[str, Any]) -> str:
    rows = [
        [
            md.code(r["run_id"]),
            r.get("model"),
            text.components(r.get("components") or {}),
            (r.get("primary_metric") or {}).get("name"),
            text.number((r.get("primary_metric") or {}).get("mean")),
            text.number((r.get("primary_metric") or {}).get("std")),
            r.get("created_at"),
        ]
        for r in data["runs"]
    ]
    best = ", ".join(f"{m}: {md.code(r)}" for m, r in (data.get("best") or {}).items() if r)
    head = f"{text.plural(data['count'], 'run')}. Best: {best or 'none'}\n\n"
    return head + md.grid(["run", "model", "components", "metric", "mean", "std", "created"], rows)


def compare_md(data: dict[str, Any]) -> str:
    rows = [
        [
            f["fold"],
            f["window"],
            text.number(f["a"]),
            text.number(f["b"]),
            text.signed(f["delta"]),
            f["winner"],
        ]
        for f in data["folds"]
    ]
    head = f"{md.code(data['run_b'])} (B) against {md.code(data['run_a'])} (A) on {data['metric']}"
    return f"{head}\n\n**{data['verdict']}**: {data['summary']}\n\n" + md.grid(
        ["fold", "test window", "A", "B", "B - A", "winner"], rows
    )


def check_md(data: dict[str, Any]) -> str:
    verdict = "no leak found" if data["ok"] else "**LEAK**"
    out = (
        f"{data['features']} on {md.code(data['snapshot_id'])}: {verdict}. {data['summary']} "
        f"Recorded as {md.code(data['pit_id'])}.\n"
    )
    if not data["failing_cuts"]:
        return out
    rows = [
        [c["cut"], c["kind"], c["rows"], c["changed_rows"], ", ".join(c["changed_columns"])]
        for c in data["failing_cuts"]
    ]
    return out + "\n" + md.grid(["cut", "why cut", "rows", "changed rows", "changed columns"], rows)


MARKDOWN: dict[str, md.Renderer] = {
    "factory.runs/2": runs_md,
    "factory.compare/3": compare_md,
    "factory.check.features/2": check_md,
}

# --- Rich ---------------------------------------------------------------------------------


def runs_view(data: dict[str, Any]) -> RenderableType:
    """One line a run at 120 columns; at 80 the recipe wraps, the run id never does (it is
    what `factory compare` and `factory show` are given)."""
    table = Table(
        title=title(
            text.plural(data["count"], "run") + (f" of {data['model']}" if data["model"] else "")
        ),
        box=box.SIMPLE_HEAD,
        pad_edge=False,
    )
    table.add_column("run", no_wrap=True)
    table.add_column("model", overflow="fold")
    table.add_column(" ".join(RECIPE), overflow="fold")
    table.add_column("metric", overflow="fold")
    table.add_column("mean", justify="right", no_wrap=True)
    table.add_column("std", justify="right", no_wrap=True)
    table.add_column("created", overflow="fold")
    best = set((data.get("best") or {}).values())
    for run in data["runs"]:
        primary = run.get("primary_metric") or {}
        add_row(
            table,
            Text(run["run_id"], style="bold green" if run["run_id"] in best else ""),
            run.get("model") or text.NOTHING,
            text.components(run.get("components") or {}, RECIPE),
            primary.get("name") or text.NOTHING,
            text.number(primary.get("mean")),
            text.number(primary.get("std")),
            text.when(run.get("created_at")),
        )
    parts: list[RenderableType] = [Fitted(table)]
    for marker in data.get("running") or []:
        line = f"{marker['state']}: {marker['run_id']} since {text.when(marker.get('started_at'))}"
        parts.append(Text(line, style="yellow"))
    if best:
        parts.append(Text("best run per model in bold green", style="dim"))
    return Group(*parts)


def _range(part: dict[str, Any]) -> str:
    """`2012-01-01..2012-12-31 (366)`: a fold's window and its rows."""
    if not part:
        return ""
    return f"{part.get('start', '')}..{part.get('end', '')} ({part.get('rows', '?')})"


def _folds_table(folds: list[dict[str, Any]]) -> Fitted:
    names: list[str] = []
    for fold in folds:
        names += [n for n in fold.get("metrics") or {} if n not in names]
    table = Table(title=title("folds"))
    for column in ("fold", "train", "test", *names):
        table.add_column(Text(column), justify="right" if column in names else "left")
    for fold in folds:
        metrics = fold.get("metrics") or {}
        add_row(
            table,
            text.value(fold.get("fold")),
            _range(fold.get("train") or {}),
            _range(fold.get("test") or {}),
            *(text.number(metrics.get(n)) for n in names),
        )
    return Fitted(table)


def _score(primary: dict[str, Any]) -> str:
    return (
        f"{primary.get('name')} {text.number(primary.get('mean'))}"
        f" ± {text.number(primary.get('std'))}"
    )


def train_view(data: dict[str, Any]) -> RenderableType:
    primary = data.get("primary_metric") or {}
    state = "reused (already trained with these inputs)" if data["reused"] else "trained"
    if data.get("forced"):
        state += f"; identical to previous: {text.value(data.get('identical_to_previous'))}"
    lines = [
        Text(f"{data['run_id']} ({data['model']}): {state}", style="bold"),
        Text(f"{_score(primary)} over {len(data['folds'])} folds on {data['snapshot_id']}"),
        Text(text.components(data.get("components") or {})),
    ]
    for changed in data.get("component_changed") or []:
        message = changed.get("message") if isinstance(changed, dict) else None
        lines.append(Text(message or text.value(changed), style="yellow"))
    return Group(*lines, _folds_table(data["folds"]))


def show_view(data: dict[str, Any]) -> RenderableType:
    primary = data.get("primary_metric") or {}
    cost = data.get("cost") or {}
    latency = data.get("latency") or {}
    repro = data.get("reproducibility") or {}
    git = repro.get("git") or {}
    importance = Table(title=title("feature importance (top 10)"))
    importance.add_column("feature", overflow="fold")
    importance.add_column("importance", justify="right")
    for item in (data.get("feature_importance") or [])[:10]:
        add_row(importance, item["feature"], text.number(item["importance"], 2))
    return Group(
        Text(f"{data['run_id']} ({data.get('model')}, {data.get('task')})", style="bold"),
        Text(
            f"{_score(primary)} [{text.number(primary.get('min'))}, "
            f"{text.number(primary.get('max'))}]"
        ),
        Text(
            text.components(data.get("components") or {})
            + f"  snapshot {data.get('snapshot_id')}"
            + (f"  plan {data['plan_id']}" if data.get("plan_id") else "")
        ),
        Text(
            f"latency p50 {text.number(latency.get('p50_ms'), 3)} ms, "
            f"p95 {text.number(latency.get('p95_ms'), 3)} ms; cost "
            f"{text.number(cost.get('cpu_seconds'), 2)} CPU s = "
            f"{text.number(cost.get('cost'), 6)} {cost.get('currency', '')}"
        ),
        Text(
            f"seed {text.value(repro.get('seed'))}, python {text.value(repro.get('python'))}, "
            f"git {text.value(git.get('commit'))} dirty={text.value(git.get('dirty'))}"
        ),
        _folds_table(data.get("folds") or []),
        Fitted(importance),
    )


def curves_view(data: dict[str, Any]) -> RenderableType:
    table = Table(title=title(f"{data['metric']} per iteration, {data['run_id']}"))
    table.add_column("fold")
    for column in ("iterations", "learn first", "learn last", "validation best", "at"):
        table.add_column(column, justify="right")
    table.add_column("validation last", justify="right")
    for fold in data["folds"]:
        learn, valid = fold.get("learn") or [], fold.get("validation") or []
        best = min(range(len(valid)), key=valid.__getitem__) if valid else None
        add_row(
            table,
            text.value(fold.get("fold")),
            len(learn),
            text.number(learn[0] if learn else None),
            text.number(learn[-1] if learn else None),
            text.number(valid[best] if best is not None else None),
            text.value(best),
            text.number(valid[-1] if valid else None),
        )
    return Fitted(table)


def compare_view(data: dict[str, Any]) -> RenderableType:
    table = Table(
        title=title(
            f"{data['run_b']} (B) vs {data['run_a']} (A) on {data['metric']} ({data['direction']})"
        )
    )
    for column in ("fold", "test window", "A", "B", "B - A", "winner"):
        table.add_column(column, justify="right" if column in ("A", "B", "B - A") else "left")
    for fold in data["folds"]:
        add_row(
            table,
            fold["fold"],
            fold["window"],
            text.number(fold["a"]),
            text.number(fold["b"]),
            text.signed(fold["delta"]),
            fold["winner"],
        )
    style = {"better": "bold green", "worse": "bold red"}.get(data["verdict"], "bold yellow")
    return Group(Fitted(table), Text(data["summary"], style=style))


def check_view(data: dict[str, Any]) -> RenderableType:
    verdict = (
        Text("no leak found: rows before each cut are unchanged", style="bold green")
        if data["ok"]
        else Text(
            "LEAK: features of earlier rows change when later history is added", style="bold red"
        )
    )
    where = Text(
        f"{data['features']} on {data['snapshot_id']}, recorded as {data['pit_id']}", style="dim"
    )
    parts: list[RenderableType] = [verdict, Text(data["summary"]), where]
    if data["failing_cuts"]:
        table = Table(
            title=title(f"cuts of {data['features']} on {data['snapshot_id']} that failed")
        )
        for column in ("cut", "why cut", "rows", "changed rows", "changed columns"):
            table.add_column(column, overflow="fold")
        for cut in data["failing_cuts"]:
            add_row(
                table,
                cut["cut"],
                cut["kind"],
                cut["rows"],
                cut["changed_rows"],
                ", ".join(cut["changed_columns"]),
            )
        parts.insert(0, Fitted(table))
    for v in data.get("violations", [])[:5]:
        parts.append(
            Text(
                f"  cut {v['cut']}: row {v['row']} ({v['time']}) {v['column']}: "
                f"{text.value(v['full_history'])} with full history, "
                f"{text.value(v['cut_history'])} without"
            )
        )
    return Group(*parts)


RICH: dict[str, Renderer] = {
    "factory.runs/2": runs_view,
    "factory.train/3": train_view,
    "factory.show/3": show_view,
    "factory.curves/1": curves_view,
    "factory.compare/3": compare_view,
    "factory.check.features/2": check_view,
}
