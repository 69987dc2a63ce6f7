"""Questions about runs, answered from reports and the index: runs, show, curves, compare,
components. Every function returns a typed result the CLI, the TUI and `--json` render."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, NotRequired, TypedDict, cast

from core.experiments import index
from core.experiments.report import (
    BaselineBrief,
    PrimaryMetricData,
    ReportCore,
    primary_metric_json,
)
from core.foundation.workspace import Workspace

# --------------------------------------------------------------------------- components


@dataclass(frozen=True)
class ComponentRow:
    ref: str
    kind: str
    version: str
    origin: str
    hash: str
    description: str
    path: str
    runs: int
    """Runs that used this version."""
    changed_since_used: bool
    """The source's hash differs from the one the latest run with this version recorded."""

    def to_dict(self) -> dict[str, Any]:
        return {name: getattr(self, name) for name in self.__dataclass_fields__}


@dataclass(frozen=True)
class ComponentsResult:
    kind: str | None
    components: list[ComponentRow]

    def to_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, "components": [c.to_dict() for c in self.components]}


def list_component_infos(ws: Workspace, kind: str | None = None) -> ComponentsResult:
    from core.components.registry import list_components, normalize_kind

    kind = normalize_kind(kind) if kind else None
    used: dict[str, int] = {}
    last_hash: dict[str, str] = {}
    for summary in index.read_summaries(ws):
        hashes = summary.get("component_hashes") or {}
        for k, version in (summary.get("components") or {}).items():
            ref = f"{k}/{version}"
            used[ref] = used.get(ref, 0) + 1
            if hashes.get(k):
                last_hash[ref] = hashes[k]
    rows = [
        ComponentRow(
            ref=c.ref,
            kind=c.kind,
            version=c.version,
            origin=c.origin,
            hash=c.hash,
            description=c.description,
            path=c.path,
            runs=used.get(c.ref, 0),
            changed_since_used=c.ref in last_hash and last_hash[c.ref] != c.hash,
        )
        for c in list_components(ws, kind)
    ]
    return ComponentsResult(kind, rows)


# --------------------------------------------------------------------------------- runs


@dataclass(frozen=True)
class RunsResult:
    model: str | None
    count: int
    runs: list[RunRow]
    """Oldest first, each as `factory runs` lists it (`_run_row`)."""
    best: dict[str, str | None] = field(default_factory=dict)
    """model -> run id with the best mean primary metric among comparable runs (one cohort:
    the same snapshot, validation settings and labels), never a leaky run."""
    running: list[dict[str, Any]] = field(default_factory=list)
    """Runs in progress or interrupted (their marker is left)."""

    shown: int = 0
    """How many of the newest runs `runs` holds (all when `limit` is None)."""
    truncated: bool = False

    def to_dict(self) -> dict[str, Any]:
        return {
            "model": self.model,
            "count": self.count,
            "shown": self.shown,
            "truncated": self.truncated,
            "best": self.best,
            "running": self.running,
            "runs": self.runs,
        }


class RunRow(TypedDict):
    """A run as `factory runs` lists it."""

    run_id: str
    model: str | None
    created_at: str | None
    snapshot_id: str | None
    plan_id: str | None
    components: dict[str, str]
    """Kind -> version."""
    primary_metric: PrimaryMetricData | None
    component_changed: list[str]
    """Component refs whose source changed since an earlier run used the same version."""
    cohort: str | None
    """Runs of one cohort (snapshot, validation settings, labels) can be compared."""
    leaky: bool
    baseline: BaselineBrief | None


def _run_row(run: dict[str, Any]) -> RunRow:
    """A run as `factory runs` lists it, straight from its index summary: a few values per
    run, since the JSON envelope is encoded in pure Python (indented) and every value (and
    every object built on the way) costs at 10,000 runs."""
    primary = run.get("primary") or {}
    return {
        "run_id": run["run_id"],
        "model": run.get("model"),
        "created_at": run.get("created_at"),
        "snapshot_id": run.get("snapshot_id"),
        "plan_id": run.get("plan_id"),
        "components": run.get("components") or {},
        "primary_metric": primary_metric_json(primary),
        "component_changed": run.get("component_changed") or [],
        "cohort": run.get("cohort"),
        "leaky": bool(run.get("leaky")),
        "baseline": _baseline_row(run.get("baselines")),
    }


def _baseline_row(brief: Any) -> BaselineBrief | None:
    """Skill over the best naive baseline and the paired verdict, as `runs` lists them."""
    if not isinstance(brief, dict):
        return None
    return {"best": brief.get("best"), "skill": brief.get("skill"), "verdict": brief.get("verdict")}


DEFAULT_LIMIT = 1000


def runs_table(
    ws: Workspace, model: str | None = None, limit: int | None = DEFAULT_LIMIT
) -> RunsResult:
    """Run history (oldest first) of the newest `limit` runs (None: all), with the best run
    per model and runs in progress or interrupted."""
    if model is not None and model not in ws.config.models:
        ws.model(model)  # raises the clear unknown-model error
    runs = [s for s in index.read_summaries(ws) if model is None or s.get("model") == model]
    # One pass over the runs already read (the same rule as `index.best_run`), not a pass
    # per model: at 10,000 runs that was a third of this call.
    stats = index.stats_by_model(runs)
    best: dict[str, str | None] = {}
    for name in [model] if model else sorted(stats):
        found, _ = index.preferred_best(stats.get(name) or {}, index.current_cohort(ws, name))
        best[name] = found["run_id"] if found else None
    shown = runs if limit is None or len(runs) <= limit else runs[-limit:]
    return RunsResult(
        model,
        len(runs),
        [_run_row(r) for r in shown],
        best,
        index.running_markers(ws, model),
        shown=len(shown),
        truncated=len(shown) < len(runs),
    )


def show_run(ws: Workspace, run_id: str) -> dict[str, Any]:
    """The whole report."""
    return index.load_report(ws, run_id)


BULKY = ("curves", "predictions", "inputs")
"""Report keys `show` summarises instead of printing: loss curves (one value per tree per
fold), out-of-fold predictions (one per test row), and the run id's hashed inputs (which
repeat the components and settings shown beside them)."""


def curve_summary(learn: list[float], validation: list[float]) -> dict[str, Any]:
    """A loss curve in a few numbers: where the validation loss was lowest, where it ended,
    the final learn/validation gap, and from which iteration on it overfitted (validation
    more than 1% above its minimum at the end; None when it did not)."""
    summary: dict[str, Any] = {"iterations": max(len(learn), len(validation))}
    if learn:
        summary["final_learn"] = learn[-1]
    if validation:
        best = min(range(len(validation)), key=validation.__getitem__)
        lowest, last = validation[best], validation[-1]
        summary.update(
            best_iteration=best,
            min_validation=lowest,
            final_validation=last,
            overfit_from=best if last > lowest * 1.01 and best < len(validation) - 1 else None,
        )
        if learn:
            summary["final_gap"] = last - learn[-1]
    return summary


class ShowFinal(TypedDict):
    """The model trained on all rows."""

    iterations: int
    final_learn: float | None


class ShowCurves(TypedDict):
    """Each fold's loss curve in a few numbers; `full` prints them whole."""

    metric: str | None
    """The loss CatBoost optimised (Logloss, RMSE)."""
    folds: list[CurveSummary]
    final: ShowFinal
    full: str
    """The command that prints every iteration."""


class PredictionsBrief(TypedDict):
    """How many out-of-fold predictions the report holds; `full` prints them."""

    rows: int
    folds: list[int]
    baselines: list[str]
    """The naive baselines predicted beside the model."""
    full: str


class ShowData(ReportCore):
    """`factory show RUN`: the run report without its bulk (`--full` prints it whole)."""

    curves: ShowCurves
    predictions: PredictionsBrief | None


@dataclass(frozen=True)
class RunSummaryView:
    """`factory show RUN`: the report without its bulk, which `--full` prints whole."""

    report: dict[str, Any]
    """The report's keys except `BULKY`."""
    curves: ShowCurves
    predictions: PredictionsBrief | None

    def to_dict(self) -> ShowData:
        return cast(
            ShowData, {**self.report, "curves": self.curves, "predictions": self.predictions}
        )


def show_summary(ws: Workspace, run_id: str) -> RunSummaryView:
    report = index.load_report(ws, run_id)
    curves = report.get("curves") or {}
    predictions = report.get("predictions")
    final_learn = list((curves.get("final") or {}).get("learn") or [])
    return RunSummaryView(
        report={k: v for k, v in report.items() if k not in BULKY},
        curves={
            "metric": curves.get("metric"),
            "folds": [
                cast(
                    CurveSummary,
                    {
                        "fold": f.get("fold"),
                        **curve_summary(f.get("learn") or [], f.get("validation") or []),
                    },
                )
                for f in curves.get("folds") or []
            ],
            "final": {
                "iterations": len(final_learn),
                "final_learn": final_learn[-1] if final_learn else None,
            },
            "full": f"factory curves {report['run_id']}",
        },
        predictions=(
            {
                "rows": len(predictions.get("row") or []),
                "folds": sorted(set(predictions.get("fold") or [])),
                "baselines": sorted(predictions.get("baselines") or {}),
                "full": f"factory show {report['run_id']} --full",
            }
            if isinstance(predictions, dict)
            else None
        ),
    )


# ------------------------------------------------------------------------------- curves


class CurvePoints(TypedDict):
    """One fold's loss per kept iteration (`every` says which)."""

    fold: int | None
    iteration: list[int]
    learn: NotRequired[list[float]]
    validation: NotRequired[list[float]]


class FinalCurve(TypedDict):
    """The model trained on all rows: its learn loss per kept iteration."""

    iteration: list[int]
    learn: NotRequired[list[float]]


class CurvesData(TypedDict):
    """`factory curves RUN`: loss per iteration and fold."""

    run_id: str
    model: str
    metric: str | None
    """The loss CatBoost optimised (Logloss, RMSE)."""
    every: int
    """Every `every`-th iteration is kept (plus each curve's lowest point and its last one);
    1 is every tree (`--full`)."""
    folds: list[CurvePoints]
    final: FinalCurve


class CurveSummary(TypedDict):
    """A loss curve in a few numbers (`curve_summary`)."""

    fold: int | None
    iterations: int
    final_learn: NotRequired[float]
    best_iteration: NotRequired[int]
    """Where the validation loss was lowest."""
    min_validation: NotRequired[float]
    final_validation: NotRequired[float]
    overfit_from: NotRequired[int | None]
    """From which iteration on it overfitted (validation more than 1% above its minimum at
    the end); None when it did not."""
    final_gap: NotRequired[float]
    """Final validation loss minus final learn loss."""


class FinalSummary(TypedDict):
    iterations: int


class CurvesSummaryData(TypedDict):
    """`factory curves RUN --summary`: each fold's curve in a few numbers."""

    run_id: str
    model: str
    metric: str | None
    folds: list[CurveSummary]
    final: FinalSummary


@dataclass(frozen=True)
class CurvesResult:
    run_id: str
    model: str
    metric: str | None
    """The loss CatBoost optimised (Logloss, RMSE)."""
    folds: list[dict[str, Any]]
    """`{fold, learn: [...], validation: [...]}` per fold, one value per iteration."""
    final: dict[str, Any]
    """`{learn: [...]}` of the model trained on all rows."""
    summary: bool = False
    """Each fold's curve summarised (`curve_summary`) instead of one value per iteration."""
    every: int = 1
    """Keep every `every`-th iteration (plus each curve's lowest point and its last one):
    1 is every tree."""

    def to_dict(self) -> CurvesData | CurvesSummaryData:
        if self.summary:
            return {
                "run_id": self.run_id,
                "model": self.model,
                "metric": self.metric,
                "folds": [
                    cast(
                        CurveSummary,
                        {
                            "fold": f.get("fold"),
                            **curve_summary(f.get("learn") or [], f.get("validation") or []),
                        },
                    )
                    for f in self.folds
                ],
                "final": {"iterations": len(self.final.get("learn") or [])},
            }
        final = _thin(self.final, self.every)
        return {
            "run_id": self.run_id,
            "model": self.model,
            "metric": self.metric,
            "every": self.every,
            "folds": [
                cast(CurvePoints, {"fold": f.get("fold"), **_thin(f, self.every)})
                for f in self.folds
            ],
            "final": cast(FinalCurve, {k: v for k, v in final.items() if k != "validation"}),
        }


DEFAULT_POINTS = 50
"""Points per curve in `factory curves`' default answer; `--full` gives every tree."""


def _thin(curve: dict[str, Any], every: int) -> dict[str, Any]:
    """`{iteration: [...], learn: [...], validation: [...]}`: every `every`-th tree, the last
    one, and the validation minimum, so the shape and the turning point survive."""
    learn = list(curve.get("learn") or [])
    validation = list(curve.get("validation") or [])
    size = max(len(learn), len(validation))
    keep = set(range(0, size, every)) | ({size - 1} if size else set())
    if validation:
        keep.add(min(range(len(validation)), key=validation.__getitem__))
    picked = sorted(keep)
    out: dict[str, Any] = {"iteration": picked}
    if learn:
        out["learn"] = [learn[i] for i in picked if i < len(learn)]
    if validation:
        out["validation"] = [validation[i] for i in picked if i < len(validation)]
    return out


def run_curves(
    ws: Workspace, run_id: str, *, summary: bool = False, full: bool = False
) -> CurvesResult:
    """A run's loss curves: about `DEFAULT_POINTS` per curve, every tree with `full`, a few
    numbers per fold with `summary`."""
    report = index.load_report(ws, run_id)
    curves = report.get("curves") or {}
    longest = max((len(f.get("learn") or []) for f in curves.get("folds") or []), default=0)
    every = 1 if full else max(1, -(-longest // DEFAULT_POINTS))
    return CurvesResult(
        run_id=report["run_id"],
        model=str(report.get("model")),
        metric=curves.get("metric"),
        folds=list(curves.get("folds") or []),
        final=dict(curves.get("final") or {}),
        summary=summary,
        every=every,
    )


VERDICT_PREFIXES = {
    "gate-": "gate",
    "drift-": "drift",
    "pit-": "pit",
    "newdata-": "newdata",
}
"""Verdict files `show` opens by id: `reports/<id>.json`."""


def show_verdict(ws: Workspace, verdict_id: str) -> tuple[dict[str, Any], str]:
    """(a gate, drift, leak-check or new-data verdict by its id, its schema)."""
    import json
    import re

    from core.foundation.errors import ExitCode, FactoryError

    if not re.match(r"^(gate|drift|pit|newdata)-[0-9a-f]{12}$", verdict_id):
        raise FactoryError(
            "invalid_verdict_id",
            f"{verdict_id!r} is not a verdict id (gate-, drift-, pit- or newdata- and 12 hex "
            "digits)",
            exit_code=ExitCode.USAGE,
        )
    path = ws.reports_dir / f"{verdict_id}.json"
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        raise FactoryError(
            "unknown_verdict",
            f"No verdict {verdict_id} in {ws.reports_dir}",
            hint="`factory status` lists the latest gates and drift checks.",
            details={"id": verdict_id},
        ) from None
    kind = next(k for p, k in VERDICT_PREFIXES.items() if verdict_id.startswith(p))
    return raw, str(raw.get("schema") or f"factory.{kind}/1")
