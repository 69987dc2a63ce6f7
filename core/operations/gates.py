"""`factory gate RUN --to staging|prod`: may this run move to the next tier?

Each criterion of `[gates.<tier>]` answers with its value, threshold and pass
(adrs/0014-gates-and-tiers.md):

- `better_than_incumbent`: mean paired delta on the primary metric over the same
  walk-forward folds, oriented so positive is better, above `min_delta`;
- `fold_wins`: the challenger wins at least `min_fold_wins` folds (all folds when there are
  fewer);
- `snapshot_schema`: the run's snapshot passed its schema (a snapshot exists only then; its
  manifest names the schema version and hash);
- `point_in_time`: the run's features pass the point-in-time check on its snapshot;
- `reproducible`: retraining with the same seed gives the same metrics (the recorded result
  of a `--force` retrain, else the gate retrains once and records it);
- `latency_p95`: p95 prediction latency within `latency_ratio_max` of the incumbent's;
- `cost_per_1000`: cost per 1,000 predictions within `cost_per_1000_max`;
- `no_drift`: no drift between data newer than the run's training data and that training
  data (`require_no_drift`).

With no incumbent the comparison criteria say so and pass. The verdict's id hashes what it
depends on (run, tier, incumbent, settings, newest snapshot), so `promote` can tell whether a
verdict is still current, and re-gating with the same inputs writes nothing new.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from core import clock
from core.atomic import write_json
from core.errors import FactoryError, UsageError
from core.ids import hash_inputs
from core.operations.common import check_tier, load_run, model_config, read_json
from core.workspace import Workspace

GATE_SCHEMA = "factory.gate/1"
GATE_ID = re.compile(r"^gate-[0-9a-f]{12}$")


@dataclass(frozen=True)
class Criterion:
    name: str
    value: Any
    threshold: Any
    passed: bool
    note: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {name: getattr(self, name) for name in self.__dataclass_fields__}


@dataclass(frozen=True)
class GateResult:
    gate_id: str
    run_id: str
    model: str
    tier: str
    incumbent: str | None
    passed: bool
    criteria: list[Criterion]
    created_at: str
    report_path: str
    newest_snapshot: str | None
    reused: bool = False

    def to_dict(self) -> dict[str, Any]:
        out = {name: getattr(self, name) for name in self.__dataclass_fields__}
        out["criteria"] = [c.to_dict() for c in self.criteria]
        out["failed"] = [c.name for c in self.criteria if not c.passed]
        return out

    @classmethod
    def from_dict(cls, raw: dict[str, Any], *, reused: bool) -> GateResult:
        names = cls.__dataclass_fields__
        values = {k: v for k, v in raw.items() if k in names}
        values["criteria"] = [Criterion(**c) for c in raw.get("criteria") or []]
        values["reused"] = reused
        return cls(**values)


def gate_inputs(
    ws: Workspace, report: dict[str, Any], tier: str, tiers: dict[str, Any], retrain: bool = True
) -> dict[str, Any]:
    """What a verdict depends on; its hash is the gate id. `repro_known`: a verdict taken
    without knowing reproducibility (--no-retrain, nothing recorded) must not be reused once
    it can be known."""
    recorded = (report.get("rerun") or {}).get("identical_to_previous")
    from core.operations.common import newest_snapshot_id
    from core.operations.tiers import incumbent_for

    settings = ws.config.gates[tier]
    drift = ws.config.drift
    model = str(report.get("model"))
    return {
        "run_id": report["run_id"],
        "tier": tier,
        "repro_known": recorded is not None or retrain,
        "incumbent": incumbent_for(tiers, tier),
        "gate": [
            settings.min_delta,
            settings.min_fold_wins,
            settings.latency_ratio_max,
            settings.cost_per_1000_max,
            settings.require_no_drift,
        ],
        "drift": [drift.share_threshold, drift.stattest_threshold, drift.min_effect_size],
        "newest_snapshot": newest_snapshot_id(ws, model_config(ws, model).dataset),
    }


def gate_path(ws: Workspace, gate_id: str) -> Any:
    return ws.reports_dir / f"{gate_id}.json"


def current_gate(
    ws: Workspace, report: dict[str, Any], tier: str, tiers: dict[str, Any]
) -> GateResult | None:
    """The verdict for these exact inputs, if the gate was run (None: gate it again)."""
    gate_id = "gate-" + hash_inputs(gate_inputs(ws, report, tier, tiers))
    raw = read_json(gate_path(ws, gate_id))
    if isinstance(raw, dict) and raw.get("gate_id") == gate_id:
        return GateResult.from_dict(raw, reused=True)
    return None


def load_gate(ws: Workspace, gate_id: str) -> GateResult:
    if not GATE_ID.match(gate_id or ""):
        raise UsageError(f"{gate_id!r} is not a gate id (gate- and 12 hex digits)")
    raw = read_json(gate_path(ws, gate_id))
    if not isinstance(raw, dict):
        raise FactoryError("unknown_gate", f"No gate verdict {gate_id} in {ws.reports_dir}")
    return GateResult.from_dict(raw, reused=True)


# -------------------------------------------------------------------------- criteria


def _num(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    return float(value) if value == value and abs(value) != float("inf") else None


def _comparison(
    ws: Workspace, report: dict[str, Any], incumbent: str | None, tier: str
) -> list[Criterion]:
    settings = ws.config.gates[tier]
    if incumbent is None:
        note = f"no incumbent in {tier}: nothing to beat"
        return [
            Criterion("better_than_incumbent", None, settings.min_delta, True, note),
            Criterion("fold_wins", None, settings.min_fold_wins, True, note),
        ]
    if incumbent == report["run_id"]:
        note = "the run is the incumbent itself"
        return [
            Criterion("better_than_incumbent", 0.0, settings.min_delta, False, note),
            Criterion("fold_wins", 0, settings.min_fold_wins, False, note),
        ]
    from core.experiments.queries import compare_runs

    baseline, how = _same_data_baseline(ws, report, incumbent)
    if baseline is None:
        return [
            Criterion("better_than_incumbent", None, settings.min_delta, False, how),
            Criterion("fold_wins", None, settings.min_fold_wins, False, how),
        ]
    try:
        result = compare_runs(ws, baseline, report["run_id"])
    except FactoryError as exc:
        note = f"not comparable with {baseline}: {exc.message}"
        return [
            Criterion("better_than_incumbent", None, settings.min_delta, False, note),
            Criterion("fold_wins", None, settings.min_fold_wins, False, note),
        ]
    improvements = [f.improvement for f in result.folds if f.improvement is not None]
    mean = sum(improvements) / len(improvements) if improvements else None
    needed = min(settings.min_fold_wins, len(result.folds))
    note = f"{how}; {result.summary}"
    return [
        Criterion(
            "better_than_incumbent",
            mean,
            settings.min_delta,
            mean is not None and mean > settings.min_delta,
            note + "; value is the mean improvement per fold (positive = better)",
        ),
        Criterion(
            "fold_wins",
            result.wins_b,
            needed,
            result.wins_b >= needed,
            f"wins {result.wins_b}, losses {result.wins_a}, ties {result.ties} of {len(result.folds)} folds",
        ),
    ]


def _same_data_baseline(
    ws: Workspace, report: dict[str, Any], incumbent: str
) -> tuple[str | None, str]:
    """The run to compare with on the same folds: the incumbent itself when it trained on the
    challenger's snapshot, else a run of the incumbent's recipe on that snapshot."""
    from core.experiments.index import list_runs

    champion = load_run(ws, incumbent)
    snapshot = report.get("snapshot_id")
    if champion.get("snapshot_id") == snapshot:
        return incumbent, f"vs incumbent {incumbent}, same folds"
    recipe = {k: (v or {}).get("version") for k, v in (champion.get("components") or {}).items()}
    for run in reversed(list_runs(ws, str(report.get("model")))):
        if (
            run.snapshot_id == snapshot
            and run.components == recipe
            and run.run_id != report["run_id"]
        ):
            return run.run_id, (
                f"vs {run.run_id}: incumbent {incumbent}'s recipe retrained on {snapshot}, same folds"
            )
    flags = " ".join(
        f"--{kind} {version}"
        for kind, version in recipe.items()
        if kind in ("features", "labels", "hparams", "arch")
    )
    return None, (
        f"incumbent {incumbent} trained on {champion.get('snapshot_id')}, this run on {snapshot}: "
        f"no paired folds. Retrain its recipe on the same data first: "
        f"factory train {report.get('model')} --snapshot {snapshot} {flags}"
    )


def _schema(ws: Workspace, report: dict[str, Any]) -> Criterion:
    from core.data.snapshots import get_manifest

    snapshot_id = str(report.get("snapshot_id"))
    try:
        manifest = get_manifest(ws, snapshot_id)
    except FactoryError as exc:
        return Criterion("snapshot_schema", None, "validated", False, exc.message)
    version = manifest.get("schema_version")
    return Criterion(
        "snapshot_schema",
        version or "time column only",
        "validated",
        True,
        f"{snapshot_id} was validated on ingest (schema hash {manifest.get('schema_hash')})",
    )


def _pit(ws: Workspace, report: dict[str, Any]) -> Criterion:
    from core.experiments.pit import check_point_in_time

    version = str(((report.get("components") or {}).get("features") or {}).get("version"))
    result = check_point_in_time(
        ws, version, str(report.get("model")), str(report.get("snapshot_id"))
    )
    changed = sum(c.changed_rows for c in result.cuts)
    return Criterion(
        "point_in_time",
        changed,
        0,
        bool(result.ok),
        f"features/{version}: {len(result.cuts)} cuts, {changed} rows changed when later history was removed",
    )


def _reproducible(ws: Workspace, report: dict[str, Any], retrain: bool) -> Criterion:
    recorded = (report.get("rerun") or {}).get("identical_to_previous")
    if recorded is None and retrain:
        from core.experiments.train import train_run

        components = {
            k: (v or {}).get("version") for k, v in (report.get("components") or {}).items()
        }
        result = train_run(
            ws,
            str(report["model"]),
            features=components.get("features"),
            labels=components.get("labels"),
            hparams=components.get("hparams"),
            arch=components.get("arch"),
            snapshot=str(report["snapshot_id"]),
            force=True,
        )
        if result.run_id != report["run_id"]:
            return Criterion(
                "reproducible",
                None,
                True,
                False,
                f"retraining the recipe gave another run id ({result.run_id}): its inputs changed "
                "since (component source or settings)",
            )
        recorded = result.identical_to_previous
    if recorded is None:
        return Criterion(
            "reproducible",
            None,
            True,
            False,
            f"not checked: run `factory train {report['model']} --snapshot {report['snapshot_id']} --force` "
            "(same inputs) to record it",
        )
    return Criterion(
        "reproducible",
        bool(recorded),
        True,
        bool(recorded),
        "a retrain with the same seed gave identical per-fold metrics"
        if recorded
        else "a retrain with the same seed gave different metrics",
    )


def _latency(
    ws: Workspace, report: dict[str, Any], incumbent_report: dict[str, Any] | None, tier: str
) -> Criterion:
    ratio_max = ws.config.gates[tier].latency_ratio_max
    p95 = _num((report.get("latency") or {}).get("p95_ms"))
    if incumbent_report is None:
        return Criterion(
            "latency_p95",
            None,
            ratio_max,
            True,
            "no incumbent: nothing to compare with"
            + (f" (p95 {p95:.3f} ms)" if p95 is not None else ""),
        )
    measured = _measure_side_by_side(ws, report, incumbent_report)
    base: float | None
    if measured is not None:
        p95, base = measured
        how = "measured now, interleaved, one row per call"
    else:
        base = _num((incumbent_report.get("latency") or {}).get("p95_ms"))
        how = "as recorded at training time (an artifact is missing)"
    if p95 is None or base is None or base <= 0:
        return Criterion("latency_p95", None, ratio_max, False, "a report lacks latency.p95_ms")
    ratio = p95 / base
    return Criterion(
        "latency_p95",
        ratio,
        ratio_max,
        ratio <= ratio_max,
        f"p95 {p95:.3f} ms vs incumbent {incumbent_report['run_id']} {base:.3f} ms ({how})",
    )


LATENCY_SAMPLES = 300


def _measure_side_by_side(
    ws: Workspace, report: dict[str, Any], incumbent_report: dict[str, Any]
) -> tuple[float, float] | None:
    """p95 single-row latency of both models, calls alternating so that machine load hits
    both alike (numbers recorded at training time came from different moments)."""
    import time

    import numpy as np

    from core.data.snapshots import get_manifest, load_snapshot
    from core.operations.common import compute_features
    from core.operations.predict import _load_model

    sides: list[tuple[Any, Any, Any, Any, list[float]]] = []
    for side in (report, incumbent_report):
        try:
            model, meta, arch = _load_model(ws, side)
        except FactoryError:
            return None
        manifest = get_manifest(ws, str(side["snapshot_id"]))
        frame = load_snapshot(ws, str(side["snapshot_id"])).tail(120).reset_index(drop=True)
        version = str(((side.get("components") or {}).get("features") or {}).get("version"))
        features = compute_features(
            ws, frame, version, manifest["time_column"], list(manifest.get("entity_columns") or [])
        )
        row = features[list(meta.get("feature_names") or features.columns)].iloc[[-1]]
        task = side.get("task")
        for _ in range(10):
            arch.predict(model, row, task)
        sides.append((arch, model, row, task, []))
    for _ in range(LATENCY_SAMPLES):
        for arch, model, row, task, samples in sides:
            started = time.perf_counter()
            arch.predict(model, row, task)
            samples.append((time.perf_counter() - started) * 1000)
    return float(np.percentile(sides[0][4], 95)), float(np.percentile(sides[1][4], 95))


def _cost(ws: Workspace, report: dict[str, Any], tier: str) -> Criterion:
    budget = ws.config.gates[tier].cost_per_1000_max
    cost = report.get("cost") or {}
    value = _num(cost.get("per_1000_predictions"))
    if value is None:
        return Criterion(
            "cost_per_1000", None, budget, False, "the report lacks cost.per_1000_predictions"
        )
    return Criterion(
        "cost_per_1000",
        value,
        budget,
        value <= budget,
        f"{cost.get('currency', '')} per 1,000 predictions",
    )


def _drift(ws: Workspace, report: dict[str, Any], newest: str | None, tier: str) -> Criterion:
    if not ws.config.gates[tier].require_no_drift:
        return Criterion(
            "no_drift", None, False, True, f"not required ([gates.{tier}] require_no_drift = false)"
        )
    from core.data.snapshots import get_manifest
    from core.operations.drift import check_drift

    training = get_manifest(ws, str(report["snapshot_id"]))
    trained_until = (training.get("time_range") or [None, None])[1]
    if newest is None or newest == report.get("snapshot_id"):
        return Criterion("no_drift", None, False, True, "no data newer than the training snapshot")
    newest_until = (get_manifest(ws, newest).get("time_range") or [None, None])[1]
    if trained_until is None or newest_until is None or newest_until <= trained_until:
        return Criterion(
            "no_drift", None, False, True, f"{newest} holds no rows after {trained_until}"
        )
    result = check_drift(
        ws, str(report["model"]), str(report["run_id"]), current=newest, newer_than=trained_until
    )
    return Criterion(
        "no_drift",
        result.drift_detected,
        False,
        not result.drift_detected,
        f"{result.drift_id}: {result.drifted_count} of {result.column_count} columns drifted in rows of "
        f"{newest} after {trained_until} ({result.share:.0%} vs {result.share_threshold:.0%})",
    )


def evaluate_gate(ws: Workspace, run_ref: str, tier: str, *, retrain: bool = True) -> GateResult:
    """Judge a run for `tier`; writes `reports/gate-<id>.json` once per distinct input."""
    from core.events import emit
    from core.operations.tiers import read_tiers

    check_tier(tier)
    report = load_run(ws, run_ref)
    model = str(report.get("model"))
    tiers = read_tiers(ws, model)
    inputs = gate_inputs(ws, report, tier, tiers, retrain)
    gate_id = "gate-" + hash_inputs(inputs)
    existing = read_json(gate_path(ws, gate_id))
    if isinstance(existing, dict) and existing.get("gate_id") == gate_id:
        return GateResult.from_dict(existing, reused=True)
    incumbent = inputs["incumbent"]
    if (
        tier == "prod"
        and tiers.get("staging") != report["run_id"]
        and tiers.get("prod") != report["run_id"]
    ):
        staged = Criterion(
            "in_staging",
            tiers.get("staging"),
            report["run_id"],
            False,
            "a run reaches prod only from staging: gate and promote it to staging first",
        )
    else:
        staged = None
    incumbent_report = (
        load_run(ws, incumbent) if incumbent and incumbent != report["run_id"] else None
    )
    criteria = [
        *([staged] if staged else []),
        *_comparison(ws, report, incumbent, tier),
        _schema(ws, report),
        _pit(ws, report),
        _reproducible(ws, report, retrain),
        _latency(ws, report, incumbent_report, tier),
        _cost(ws, report, tier),
        _drift(ws, report, inputs["newest_snapshot"], tier),
    ]
    passed = all(c.passed for c in criteria)
    result = GateResult(
        gate_id=gate_id,
        run_id=str(report["run_id"]),
        model=model,
        tier=tier,
        incumbent=incumbent,
        passed=passed,
        criteria=criteria,
        created_at=clock.iso(),
        report_path=f"reports/{gate_id}.json",
        newest_snapshot=inputs["newest_snapshot"],
    )
    write_json(
        gate_path(ws, gate_id), {"schema": GATE_SCHEMA, "inputs": inputs, **result.to_dict()}
    )
    emit(
        ws.events_dir,
        "gate.evaluated",
        run_id=result.run_id,
        model=model,
        gate_id=gate_id,
        tier=tier,
        passed=passed,
        incumbent=incumbent,
        failed=[c.name for c in criteria if not c.passed],
    )
    return result
