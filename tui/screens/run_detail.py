"""Run detail: components, hyperparameters, per-fold metrics with date ranges, loss curves,
feature importance, reproducibility and the card's notes for the run (`factory show RUN`)."""

from __future__ import annotations

from typing import Any, ClassVar

from rich.console import RenderableType
from rich.text import Text
from textual.app import ComposeResult
from textual.containers import VerticalScroll
from textual.widgets import Static

from core.foundation.errors import FactoryError
from tui import data
from tui import format as fmt
from tui.screens.base import Banner, FactoryScreen
from tui.widgets.loss_plot import LossPlot, curve_series
from tui.widgets.render import heading, key_values, rows_table, stack

SHOWN_KEYS = (
    "run_id", "model", "components", "hparams", "folds", "metrics", "curves",
    "feature_importance", "reproducibility", "notes", "created_at", "finished_at",
    "snapshot_id", "dataset", "plan_id", "timings", "cost", "latency", "component_changed",
    "baselines", "predictions", "inputs", "primary_metric", "leaky",
)  # fmt: skip
TOP_FEATURES = 15


def _range(value: Any) -> str:
    if isinstance(value, dict):
        rows = f" ({value['rows']} rows)" if value.get("rows") is not None else ""
        return f"{value.get('start', '?')} .. {value.get('end', '?')}{rows}"
    if isinstance(value, list) and len(value) == 2:
        return f"{value[0]} .. {value[1]}"
    return fmt.value(value)


def folds_table(folds: list[dict[str, Any]]) -> RenderableType:
    metric_names: list[str] = []
    for fold in folds:
        for name in fold.get("metrics") or {}:
            if name not in metric_names:
                metric_names.append(name)
    rows = []
    for i, fold in enumerate(folds):
        train = (
            fold.get("train")
            or fold.get("train_range")
            or [fold.get("train_start"), fold.get("train_end")]
        )
        test = (
            fold.get("test")
            or fold.get("test_range")
            or [fold.get("test_start"), fold.get("test_end")]
        )
        metrics = fold.get("metrics") or {}
        rows.append(
            [
                str(fold.get("fold", i)),
                _range(train),
                _range(test),
                *(fmt.number(metrics.get(m)) for m in metric_names),
            ]
        )
    return rows_table("Folds", ["fold", "train", "test", *metric_names], rows, numeric=metric_names)


def importance_table(importance: Any) -> RenderableType:
    if isinstance(importance, dict):
        pairs = list(importance.items())
    elif isinstance(importance, list):
        pairs = [
            (i.get("feature") or i.get("name"), i.get("importance") or i.get("value"))
            for i in importance
        ]
    else:
        return Text(fmt.value(importance))
    pairs = pairs[:TOP_FEATURES]
    top = max((abs(v) for _, v in pairs if isinstance(v, (int, float))), default=0.0) or 1.0
    rows = [
        [
            name,
            fmt.number(v, 2),
            "█" * round(20 * abs(v) / top) if isinstance(v, (int, float)) else "",
        ]
        for name, v in pairs
    ]
    return rows_table(
        "Feature importance", ["feature", "importance", ""], rows, numeric=["importance"]
    )


def notes_block(notes: Any) -> RenderableType:
    if not notes:
        return Text("No notes on this run in the model card.", style="italic")
    if isinstance(notes, str):
        return Text(notes)
    lines = []
    for note in notes:
        line = f"{fmt.when(note.get('created_at'))}  {note.get('text', '')}"
        if note.get("next"):
            line += f"\n                  next: {note['next']}"
        lines.append(line)
    return Text("\n".join(lines))


def metrics_table(metrics: dict[str, Any]) -> RenderableType:
    """`metrics.aggregate` (mean, std, min, max over folds) with each metric's direction."""
    aggregate = metrics.get("aggregate") or {}
    directions = metrics.get("directions") or {}
    columns = ["metric", "mean", "± std", "min", "max", "better"]
    rows = [
        [name, fmt.number(v.get("mean")), fmt.number(v.get("std")), fmt.number(v.get("min")),
         fmt.number(v.get("max")), directions.get(name, "-")]
        for name, v in aggregate.items()
    ]  # fmt: skip
    return rows_table("Metrics over folds", columns, rows, numeric=["mean", "± std", "min", "max"])


def baselines_block(report: dict[str, Any]) -> RenderableType:
    """The naive baselines on the run's own rows, and how the run fares against the best."""
    baselines = report.get("baselines")
    if not isinstance(baselines, dict):
        return Text("No naive baselines in this report (an older report): retrain to score them.")
    primary = (report.get("primary_metric") or {}).get("name")
    aggregate = baselines.get("aggregate") or {}
    rows = [
        [name, fmt.number(((aggregate.get(name) or {}).get(primary) or {}).get("mean"))]
        for name in baselines.get("names") or []
    ]
    rows.append(["this run", fmt.number((report.get("primary_metric") or {}).get("mean"))])
    versus = baselines.get("versus_best") or {}
    line = Text(
        f"vs {baselines.get('best')}: {versus.get('verdict', '-')}, skill "
        f"{fmt.number(baselines.get('skill'), 3)}. {versus.get('reason', '')}",
        style="bold" if versus.get("verdict") == "better" else "bold red",
    )
    return stack(rows_table(f"Naive baselines ({primary})", ["forecast", "mean"], rows,
                            numeric=["mean"]), line)  # fmt: skip


def components_pairs(components: dict[str, Any]) -> list[tuple[str, str]]:
    pairs = []
    for kind, info in components.items():
        if isinstance(info, dict):
            pairs.append(
                (
                    kind,
                    f"{info.get('version')}  ({info.get('origin', '?')}, {str(info.get('hash', ''))[:8]})",
                )
            )
        else:
            pairs.append((kind, str(info)))
    return pairs


def facts_pairs(report: dict[str, Any]) -> list[tuple[str, str]]:
    """When, on what, how long, how much: the lines a person checks first."""
    cost = report.get("cost") or {}
    latency = report.get("latency") or {}
    timings = report.get("timings") or {}
    return [
        ("trained", f"{fmt.when(report.get('created_at'))} .. {fmt.when(report.get('finished_at'))}"),
        ("snapshot", f"{report.get('snapshot_id', '-')} ({report.get('dataset', '-')})"),
        ("plan", str(report.get("plan_id") or "-")),
        ("duration", f"{fmt.number(timings.get('total_s'), 2)} s"),
        ("cost", f"{fmt.number(cost.get('cost'), 6)} {cost.get('currency', '')} ({fmt.number(cost.get('cpu_seconds'), 2)} cpu s)"),
        ("latency per row", f"p50 {fmt.number(latency.get('p50_ms'), 3)} ms, p95 {fmt.number(latency.get('p95_ms'), 3)} ms"),
    ]  # fmt: skip


class RunDetailScreen(FactoryScreen):
    MODE = "detail"
    AREAS: ClassVar[frozenset[str]] = frozenset({"reports", "cards", "index"})

    def compose_body(self) -> ComposeResult:
        yield Banner(id="banner")
        with VerticalScroll(id="detail"):
            yield Static(id="detail-head")
            yield Static(id="detail-folds")
            yield LossPlot(id="detail-curves")
            yield Static(id="detail-importance")
            yield Static(id="detail-repro")
            yield Static(id="detail-notes")
            yield Static(id="detail-rest")

    def load_key(self) -> str:
        return self.factory.selected_run or ""

    def fetch(self, key: str) -> Any:
        if not key:
            return None
        report = data.run_report(self.ws, key)
        curves: dict[str, Any] | None = data.run_curves(self.ws, key)
        notes: Any = report.get("notes")
        model = report.get("model")
        if model and notes is None:
            try:
                card = data.card(self.ws, model)
                notes = [n for n in card.get("notes", []) if n.get("run_id") == key]
            except FactoryError as exc:
                # A broken card must not hide the report; say why the notes are missing.
                notes = f"The model card could not be read: {exc.message}"
        return {"report": report, "curves": curves, "notes": notes}

    def show_data(self, payload: dict[str, Any] | None) -> None:
        self.query_one("#detail").display = payload is not None
        if payload is None:
            self.query_one("#banner", Banner).show(
                "No run selected: pick one in Runs (r) and press Enter."
            )
            return
        report = payload["report"]
        run_id = report.get("run_id") or report.get("id")
        self.sub_title = f"run {run_id}"
        head: list[RenderableType] = [
            heading(f"Run {run_id}  ({report.get('model', '?')})"),
            key_values(None, facts_pairs(report)),
        ]
        if report.get("component_changed"):
            head.append(
                Text(
                    f"Changed since an earlier run with the same version: {fmt.value(report['component_changed'])}",
                    style="bold",
                )
            )
        if isinstance(report.get("leaky"), dict):
            head.append(
                Text(
                    f"LEAKY: trained on features that read the future ({report['leaky'].get('reason')})",
                    style="bold red",
                )
            )
        if report.get("metrics"):
            head.append(metrics_table(report["metrics"]))
        head.append(baselines_block(report))
        if report.get("components"):
            head.append(key_values("Components", components_pairs(report["components"])))
        hparams = report.get("hparams") or report.get("params")
        if hparams:
            head.append(key_values("Hyperparameters", hparams.items()))
        self.query_one("#detail-head", Static).update(stack(*head))
        folds = report.get("folds") or []
        self.query_one("#detail-folds", Static).update(
            folds_table(folds) if folds else Text("No folds recorded.")
        )
        self.query_one(LossPlot).show_curves(curve_series(payload.get("curves")))
        importance = report.get("feature_importance")
        self.query_one("#detail-importance", Static).update(
            importance_table(importance) if importance else ""
        )
        repro = report.get("reproducibility")
        self.query_one("#detail-repro", Static).update(
            key_values("Reproducibility", repro.items()) if isinstance(repro, dict) else ""
        )
        self.query_one("#detail-notes", Static).update(
            stack(heading("Notes"), notes_block(payload.get("notes")))
        )
        rest = [(k, v) for k, v in report.items() if k not in SHOWN_KEYS]
        self.query_one("#detail-rest", Static).update(key_values("More", rest) if rest else "")
