"""Questions about runs, answered from reports and the index: runs, show, curves, compare,
components. Every function returns a typed result the CLI, the TUI and `--json` render."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

from core.errors import ExitCode, FactoryError
from core.experiments import index
from core.workspace import Workspace

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
    runs: list[dict[str, Any]]
    """Oldest first, each as `factory runs` lists it (`_run_row`)."""
    best: dict[str, str | None] = field(default_factory=dict)
    """model -> run id with the best mean primary metric."""
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


def _run_row(run: dict[str, Any]) -> dict[str, Any]:
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
        "primary": {
            "name": primary.get("name"),
            "mean": primary.get("mean"),
            "std": primary.get("std"),
        },
        "component_changed": run.get("component_changed") or [],
    }


DEFAULT_LIMIT = 1000


def runs_table(
    ws: Workspace, model: str | None = None, limit: int | None = DEFAULT_LIMIT
) -> RunsResult:
    """Run history (oldest first) of the newest `limit` runs (None: all), with the best run
    per model and runs in progress or interrupted."""
    if model is not None and model not in ws.config.models:
        from core.experiments.train import model_config

        model_config(ws, model)  # raises the clear unknown-model error
    runs = [s for s in index.read_summaries(ws) if model is None or s.get("model") == model]
    # One pass over the runs already read (the same rule as `index.best_run`), not a pass
    # per model: at 10,000 runs that was a third of this call.
    stats = index.stats_by_model(runs)
    best: dict[str, str | None] = {}
    for name in [model] if model else sorted(stats):
        found = (stats.get(name) or {}).get("best")
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


# ------------------------------------------------------------------------------- curves


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

    def to_dict(self) -> dict[str, Any]:
        return {
            "run_id": self.run_id,
            "model": self.model,
            "metric": self.metric,
            "folds": self.folds,
            "final": self.final,
        }


def run_curves(ws: Workspace, run_id: str) -> CurvesResult:
    report = index.load_report(ws, run_id)
    curves = report.get("curves") or {}
    return CurvesResult(
        run_id=report["run_id"],
        model=str(report.get("model")),
        metric=curves.get("metric"),
        folds=list(curves.get("folds") or []),
        final=dict(curves.get("final") or {}),
    )


# ------------------------------------------------------------------------------ compare


@dataclass(frozen=True)
class FoldDelta:
    fold: int
    window: str
    """The shared test window, `start..end`."""
    a: float | None
    b: float | None
    delta: float | None
    """b - a, in the metric's own units."""
    improvement: float | None
    """The delta oriented so that positive means B is better."""
    winner: str
    """`a`, `b` or `tie`."""


@dataclass(frozen=True)
class CompareResult:
    run_a: str
    run_b: str
    model: str
    metric: str
    direction: str
    folds: list[FoldDelta]
    mean_a: float | None
    mean_b: float | None
    mean_delta: float | None
    """Mean of b - a over folds."""
    interval: list[float | None]
    """95% t-interval of the mean delta over folds (b - a); None bounds with one fold."""
    wins_b: int
    wins_a: int
    ties: int
    verdict: str
    """B against A: `better`, `worse` or `inconclusive` (the interval spans zero)."""
    other_metrics: dict[str, dict[str, float | None]]
    """Mean of A, B and b - a for every other metric both runs hold."""
    summary: str

    def to_dict(self) -> dict[str, Any]:
        from core.render import to_plain

        return {name: to_plain(getattr(self, name)) for name in self.__dataclass_fields__}


def _finite(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    return float(value) if math.isfinite(value) else None


def _windows(report: dict[str, Any]) -> list[str]:
    return [
        f"{(f.get('test') or {}).get('start')}..{(f.get('test') or {}).get('end')}"
        for f in report.get("folds") or []
    ]


def t_interval(values: list[float]) -> tuple[float | None, float | None]:
    from core.insights.paired import t_quantile

    n = len(values)
    if n < 2:
        return None, None
    mean = sum(values) / n
    sd = math.sqrt(sum((v - mean) ** 2 for v in values) / (n - 1))
    half = t_quantile(n - 1) * sd / math.sqrt(n)
    return mean - half, mean + half


def compare_runs(ws: Workspace, run_a: str, run_b: str) -> CompareResult:
    """Paired per-fold comparison of B against A on the primary metric of A's model."""
    a = index.load_report(ws, run_a)
    b = index.load_report(ws, run_b)
    primary = a.get("primary_metric") or {}
    metric = str(primary.get("name"))
    direction = str(primary.get("direction") or "maximize")
    if (b.get("primary_metric") or {}).get("name") != metric:
        raise FactoryError(
            "not_comparable",
            f"{a['run_id']} is scored on {metric!r} and {b['run_id']} on "
            f"{(b.get('primary_metric') or {}).get('name')!r}",
            hint="Compare runs of the same model (`factory runs MODEL`).",
            details={"run_a": a["run_id"], "run_b": b["run_id"]},
            exit_code=ExitCode.INPUT,
        )
    windows_a, windows_b = _windows(a), _windows(b)
    if windows_a != windows_b:
        raise FactoryError(
            "not_comparable",
            f"{a['run_id']} and {b['run_id']} were tested on different windows "
            f"({len(windows_a)} vs {len(windows_b)} folds; first differing: "
            f"{next((x, y) for x, y in zip([*windows_a, '-'], [*windows_b, '-'], strict=False) if x != y)}"
            "); a paired comparison needs the same test windows",
            hint="Train both on the same snapshot with the same [validation] settings "
            f"(snapshots: {a.get('snapshot_id')} vs {b.get('snapshot_id')}).",
            details={"windows_a": windows_a, "windows_b": windows_b},
            exit_code=ExitCode.INPUT,
        )
    sign = 1.0 if direction == "maximize" else -1.0
    folds: list[FoldDelta] = []
    improvements: list[float] = []
    deltas: list[float] = []
    for fold_a, fold_b, window in zip(a["folds"], b["folds"], windows_a, strict=True):
        va = _finite((fold_a.get("metrics") or {}).get(metric))
        vb = _finite((fold_b.get("metrics") or {}).get(metric))
        delta = vb - va if va is not None and vb is not None else None
        improvement = sign * delta if delta is not None else None
        if improvement is not None:
            improvements.append(improvement)
            deltas.append(delta)  # type: ignore[arg-type]
        winner = (
            "tie" if improvement is None or improvement == 0 else ("b" if improvement > 0 else "a")
        )
        folds.append(
            FoldDelta(
                int(fold_a.get("fold", len(folds))), window, va, vb, delta, improvement, winner
            )
        )
    mean_delta = sum(deltas) / len(deltas) if deltas else None
    low, high = t_interval(deltas)
    low_i, high_i = t_interval(improvements)
    if low_i is not None and low_i > 0:
        verdict = "better"
    elif high_i is not None and high_i < 0:
        verdict = "worse"
    else:
        verdict = "inconclusive"
    wins_b = sum(f.winner == "b" for f in folds)
    wins_a = sum(f.winner == "a" for f in folds)
    others: dict[str, dict[str, float | None]] = {}
    agg_a = (a.get("metrics") or {}).get("aggregate") or {}
    agg_b = (b.get("metrics") or {}).get("aggregate") or {}
    for name in agg_a:
        if name == metric or name not in agg_b:
            continue
        ma, mb = _finite(agg_a[name].get("mean")), _finite(agg_b[name].get("mean"))
        others[name] = {
            "a": ma,
            "b": mb,
            "delta": mb - ma if ma is not None and mb is not None else None,
        }
    interval_text = (
        f"[{low:+.4f}, {high:+.4f}]"
        if low is not None and high is not None
        else "(one fold: no interval)"
    )
    summary = (
        f"{b['run_id']} vs {a['run_id']} on {metric} ({direction}): mean delta "
        f"{mean_delta:+.4f} {interval_text}, B wins {wins_b} of {len(folds)} folds: {verdict}"
        if mean_delta is not None
        else f"No fold has {metric} for both runs: inconclusive"
    )
    return CompareResult(
        run_a=a["run_id"],
        run_b=b["run_id"],
        model=str(a.get("model")),
        metric=metric,
        direction=direction,
        folds=folds,
        mean_a=_finite(primary.get("mean")),
        mean_b=_finite((b.get("primary_metric") or {}).get("mean")),
        mean_delta=mean_delta,
        interval=[low, high],
        wins_b=wins_b,
        wins_a=wins_a,
        ties=len(folds) - wins_a - wins_b,
        verdict=verdict,
        other_metrics=others,
        summary=summary,
    )
