"""Questions about runs, answered from reports and the index: runs, show, curves, compare,
components. Every function returns a typed result the CLI, the TUI and `--json` render."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from core.experiments import index
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
    runs: list[dict[str, Any]]
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
        "cohort": run.get("cohort"),
        "leaky": bool(run.get("leaky")),
        "baseline": _baseline_row(run.get("baselines")),
    }


def _baseline_row(brief: Any) -> dict[str, Any] | None:
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
