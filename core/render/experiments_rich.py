"""Rich views of the experiments commands: runs, train, show, curves, compare, check."""

from __future__ import annotations

from typing import Any

from rich.console import Group, RenderableType
from rich.table import Table
from rich.text import Text

from core.render.rich_text import RENDERERS


def _num(value: Any, digits: int = 4) -> str:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return "-"
    return f"{value:.{digits}f}"


def _components(components: dict[str, Any]) -> str:
    return " ".join(f"{k}/{v}" for k, v in components.items() if k != "metrics")


def _short(components: dict[str, Any]) -> str:
    """features, hparams and arch versions: what usually varies between runs of a model."""
    return " ".join(
        str(components[k]) for k in ("features", "hparams", "arch") if components.get(k)
    )


def runs_view(data: dict[str, Any]) -> RenderableType:
    table = Table(
        title=f"{data['count']} run(s)" + (f" of {data['model']}" if data["model"] else "")
    )
    for column in ("run", "model", "features hparams arch", "metric", "mean", "std", "created"):
        table.add_column(column, justify="right" if column in ("mean", "std") else "left")
    best = set((data.get("best") or {}).values())
    for run in data["runs"]:
        primary = run.get("primary") or {}
        table.add_row(
            Text(run["run_id"], style="bold green" if run["run_id"] in best else ""),
            run.get("model") or "-",
            Text(_short(run.get("components") or {})),
            primary.get("name") or "-",
            _num(primary.get("mean")),
            _num(primary.get("std")),
            (run.get("created_at") or "")[:16].replace("T", " "),
        )
    parts: list[RenderableType] = [table]
    for marker in data.get("running") or []:
        parts.append(
            Text(
                f"{marker['state']}: {marker['run_id']} since {marker.get('started_at')}",
                style="yellow",
            )
        )
    if best:
        parts.append(Text("best run per model in bold green", style="dim"))
    return Group(*parts)


def _folds_table(folds: list[dict[str, Any]]) -> Table:
    names: list[str] = []
    for fold in folds:
        names += [n for n in fold.get("metrics") or {} if n not in names]
    table = Table(title="folds")
    for column in ("fold", "train", "test", *names):
        table.add_column(column, justify="right" if column in names else "left")
    for fold in folds:
        train, test = fold.get("train") or {}, fold.get("test") or {}
        table.add_row(
            str(fold.get("fold")),
            f"{train.get('start', '')}..{train.get('end', '')} ({train.get('rows', '?')})"
            if train
            else "",
            f"{test.get('start')}..{test.get('end')} ({test.get('rows')})",
            *(_num((fold.get("metrics") or {}).get(n)) for n in names),
        )
    return table


def train_view(data: dict[str, Any]) -> RenderableType:
    primary = data.get("primary") or {}
    state = "reused (already trained with these inputs)" if data["reused"] else "trained"
    if data.get("forced"):
        state += f"; identical to previous: {data.get('identical_to_previous')}"
    lines = [
        Text(f"{data['run_id']} ({data['model']}): {state}", style="bold"),
        Text(
            f"{primary.get('name')} {_num(primary.get('mean'))} ± {_num(primary.get('std'))} "
            f"over {len(data['folds'])} folds on {data['snapshot_id']}"
        ),
        Text(_components(data.get("components") or {})),
    ]
    for changed in data.get("component_changed") or []:
        lines.append(Text(changed.get("message") or str(changed), style="yellow"))
    return Group(*lines, _folds_table(data["folds"]))


def show_view(data: dict[str, Any]) -> RenderableType:
    primary = data.get("primary_metric") or {}
    cost = data.get("cost") or {}
    latency = data.get("latency") or {}
    repro = data.get("reproducibility") or {}
    top = data.get("feature_importance") or []
    importance = Table(title="feature importance (top 10)")
    importance.add_column("feature")
    importance.add_column("importance", justify="right")
    for item in top[:10]:
        importance.add_row(item["feature"], _num(item["importance"], 2))
    comps = {
        k: (v.get("version") if isinstance(v, dict) else v)
        for k, v in (data.get("components") or {}).items()
    }
    return Group(
        Text(f"{data['run_id']} ({data.get('model')}, {data.get('task')})", style="bold"),
        Text(
            f"{primary.get('name')} {_num(primary.get('mean'))} ± {_num(primary.get('std'))} "
            f"[{_num(primary.get('min'))}, {_num(primary.get('max'))}]"
        ),
        Text(_components(comps) + f"  snapshot {data.get('snapshot_id')}"),
        Text(
            f"latency p50 {_num(latency.get('p50_ms'), 3)} ms, p95 {_num(latency.get('p95_ms'), 3)} ms; "
            f"cost {cost.get('cpu_seconds')} CPU s = {cost.get('cost', 0):.6f} {cost.get('currency', '')}"
        ),
        Text(
            f"seed {repro.get('seed')}, python {repro.get('python')}, git "
            f"{(repro.get('git') or {}).get('commit')} dirty={(repro.get('git') or {}).get('dirty')}"
        ),
        _folds_table(data.get("folds") or []),
        importance,
    )


def curves_view(data: dict[str, Any]) -> RenderableType:
    table = Table(title=f"{data['metric']} per iteration, {data['run_id']}")
    for column in (
        "fold",
        "iterations",
        "learn first",
        "learn last",
        "validation best",
        "at",
        "validation last",
    ):
        table.add_column(column, justify="left" if column == "fold" else "right")
    for fold in data["folds"]:
        learn, valid = fold.get("learn") or [], fold.get("validation") or []
        best = min(range(len(valid)), key=valid.__getitem__) if valid else None
        table.add_row(
            str(fold.get("fold")), str(len(learn)), _num(learn[0] if learn else None),
            _num(learn[-1] if learn else None), _num(valid[best] if best is not None else None),
            str(best if best is not None else "-"), _num(valid[-1] if valid else None),
        )  # fmt: skip
    return table


def compare_view(data: dict[str, Any]) -> RenderableType:
    table = Table(
        title=f"{data['run_b']} (B) vs {data['run_a']} (A) on {data['metric']} ({data['direction']})"
    )
    for column in ("fold", "test window", "A", "B", "B - A", "winner"):
        table.add_column(column, justify="right" if column in ("A", "B", "B - A") else "left")
    for fold in data["folds"]:
        table.add_row(str(fold["fold"]), fold["window"], _num(fold["a"]), _num(fold["b"]),
                      _num(fold["delta"]), fold["winner"])  # fmt: skip
    style = {"better": "bold green", "worse": "bold red"}.get(data["verdict"], "bold yellow")
    return Group(table, Text(data["summary"], style=style))


def check_view(data: dict[str, Any]) -> RenderableType:
    verdict = (
        Text("no leak found: rows before each cut are unchanged", style="bold green")
        if data["ok"]
        else Text(
            "LEAK: features of earlier rows change when later history is added", style="bold red"
        )
    )
    parts: list[RenderableType] = [verdict, Text(data["summary"])]
    if data["failing_cuts"]:
        table = Table(title=f"cuts of {data['features']} on {data['snapshot_id']} that failed")
        for column in ("cut", "why cut", "rows", "changed rows", "changed columns"):
            table.add_column(column)
        for cut in data["failing_cuts"]:
            table.add_row(
                cut["cut"],
                cut["kind"],
                str(cut["rows"]),
                str(cut["changed_rows"]),
                ", ".join(cut["changed_columns"]),
            )
        parts.insert(0, table)
    for v in data.get("violations", [])[:5]:
        parts.append(Text(f"  cut {v['cut']}: row {v['row']} ({v['time']}) {v['column']}: "
                          f"{v['full_history']} with full history, {v['cut_history']} without"))  # fmt: skip
    return Group(*parts)


RENDERERS["factory.runs/1"] = runs_view
RENDERERS["factory.train/2"] = train_view
RENDERERS["factory.show/2"] = show_view
RENDERERS["factory.curves/1"] = curves_view
RENDERERS["factory.compare/2"] = compare_view
RENDERERS["factory.check.features/2"] = check_view
