"""`factory gate RUN --to staging|prod`: may this run move to the next tier?

Each criterion of `[gates.<tier>]` answers with its value, threshold and pass
(adrs/0014-gates-and-tiers.md); the decision rule of each is a small function below, tested on
constructed inputs:

- `in_staging` (prod only): a run reaches prod only from staging;
- `code_unchanged`: the run's features and architecture code are the source it trained on;
- `not_leaky`: the run was not trained on a features version that failed the point-in-time
  check, and its version has not failed one since;
- `better_than_incumbent`: B (this run) against the incumbent on the same rows, with the one
  statistics module (`core.verdicts.pairs`): passes only on `better` with an improvement above
  `min_delta` (inconclusive is not a pass);
- `fold_wins`: the run wins at least `min_fold_wins` folds (all folds when there are fewer);
- `beats_baseline` (`require_beats_baseline`, on by default): the run is `better` than its
  best naive baseline on its own rows;
- `snapshot_schema`: the run's snapshot passed its schema on ingest;
- `point_in_time`: the features version passed the leak check at the source hash the run used;
- `reproducible`: retraining the recipe in a scratch folder gives identical folds and
  predictions (nothing of the run is touched);
- `latency_p95`: p95 single-row latency within `latency_ratio_max` of the incumbent's,
  measured side by side now;
- `cost_per_1000`: cost per 1,000 predictions within `cost_per_1000_max`;
- `no_drift`: the drift verdict on the run's training data (`core.operations.drift
  .drift_verdict`, the same one `factory drift` and `status` report).

With no incumbent the comparison criteria say so and pass. The verdict's id hashes what it
depends on (run, tier, incumbent, settings, newest snapshot, the run's code), so `promote` can
tell whether a verdict is still current, and re-gating with the same inputs writes nothing.
A gate writes only its own verdict file (and an event): the run's report, artifact and card
entry are never touched.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from core.foundation import clock
from core.foundation.atomic import write_json
from core.foundation.errors import FactoryError
from core.foundation.ids import hash_inputs
from core.foundation.workspace import Workspace
from core.operations.common import check_tier, load_run, model_config, read_json

if TYPE_CHECKING:
    from core.foundation.config import GateConfig
    from core.verdicts.pairs import RunComparison

GATE_SCHEMA = "factory.gate/2"
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

    JSON_PROPERTIES = ("failed",)

    @property
    def failed(self) -> list[str]:
        """Names of the criteria that failed."""
        return [c.name for c in self.criteria if not c.passed]

    def to_dict(self) -> dict[str, Any]:
        out = {name: getattr(self, name) for name in self.__dataclass_fields__}
        out["criteria"] = [c.to_dict() for c in self.criteria]
        out["failed"] = self.failed
        return out

    @classmethod
    def from_dict(cls, raw: dict[str, Any], *, reused: bool) -> GateResult:
        names = cls.__dataclass_fields__
        values = {k: v for k, v in raw.items() if k in names}
        values["criteria"] = [Criterion(**c) for c in raw.get("criteria") or []]
        values["reused"] = reused
        return cls(**values)


# ------------------------------------------------------------------- decision rules


def ratio_within(ratio: float | None, ratio_max: float) -> bool:
    """Latency: the challenger's p95 over the incumbent's may be at most `ratio_max`."""
    return ratio is not None and ratio <= ratio_max


def within_budget(value: float | None, budget: float) -> bool:
    """Cost: at most the budget; an unknown cost is not within any budget."""
    return value is not None and value <= budget


def enough_wins(wins: int, folds: int, min_fold_wins: int) -> tuple[bool, int]:
    """(pass, wins needed): `min_fold_wins`, or every fold when there are fewer."""
    needed = min(min_fold_wins, folds)
    return folds > 0 and wins >= needed, needed


def beats(verdict: str | None) -> bool:
    """Only `better` passes a comparison; `inconclusive` (no data, too few rows, too small a
    difference to tell) is never a pass."""
    return verdict == "better"


# -------------------------------------------------------------------------- inputs


def _code_hashes(ws: Workspace, report: dict[str, Any]) -> dict[str, str | None]:
    from core.operations.artifacts import changed_components

    return {c["ref"]: c["current_hash"] for c in changed_components(ws, report)}


def gate_inputs(
    ws: Workspace, report: dict[str, Any], tier: str, tiers: dict[str, Any], retrain: bool = True
) -> dict[str, Any]:
    """What a verdict depends on; its hash is the gate id."""
    from core.operations.common import newest_snapshot_id
    from core.operations.tier_state import incumbent_for

    settings = ws.config.gates[tier]
    drift = ws.config.drift
    model = str(report.get("model"))
    return {
        "schema": GATE_SCHEMA,
        "run_id": report["run_id"],
        "tier": tier,
        "retrain": retrain,
        "incumbent": incumbent_for(tiers, tier),
        "gate": [
            settings.min_delta,
            settings.min_fold_wins,
            settings.latency_ratio_max,
            settings.cost_per_1000_max,
            settings.require_no_drift,
            settings.require_beats_baseline,
        ],
        "drift": [drift.share_threshold, drift.stattest_threshold, drift.min_effect_size],
        "newest_snapshot": newest_snapshot_id(ws, model_config(ws, model).dataset),
        "code_changed": _code_hashes(ws, report),
    }


def gate_path(ws: Workspace, gate_id: str) -> Any:
    return ws.reports_dir / f"{gate_id}.json"


def current_gate(
    ws: Workspace, report: dict[str, Any], tier: str, tiers: dict[str, Any]
) -> GateResult | None:
    """The verdict for these exact inputs, if the gate was run (None: gate it again)."""
    for retrain in (True, False):
        gate_id = "gate-" + hash_inputs(gate_inputs(ws, report, tier, tiers, retrain))
        raw = read_json(gate_path(ws, gate_id))
        if isinstance(raw, dict) and raw.get("gate_id") == gate_id:
            return GateResult.from_dict(raw, reused=True)
    return None


def load_gate(ws: Workspace, gate_id: str) -> GateResult:
    if not GATE_ID.match(gate_id or ""):
        raise FactoryError(
            "invalid_verdict_id",
            f"{gate_id!r} is not a gate id (gate- and 12 hex digits)",
        )
    raw = read_json(gate_path(ws, gate_id))
    if not isinstance(raw, dict):
        raise FactoryError("unknown_verdict", f"No gate verdict {gate_id} in {ws.reports_dir}")
    return GateResult.from_dict(raw, reused=True)


# -------------------------------------------------------------------------- criteria


def _num(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    return float(value) if value == value and abs(value) != float("inf") else None


def _comparison(
    ws: Workspace, report: dict[str, Any], incumbent: str | None, tier: str
) -> list[Criterion]:
    from core.experiments.report import RunReport
    from core.verdicts.pairs import compare_reports

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
            Criterion("better_than_incumbent", None, settings.min_delta, False, note),
            Criterion("fold_wins", None, settings.min_fold_wins, False, note),
        ]
    baseline, how = _same_data_baseline(ws, report, incumbent)
    if baseline is None:
        return [
            Criterion("better_than_incumbent", None, settings.min_delta, False, how),
            Criterion("fold_wins", None, settings.min_fold_wins, False, how),
        ]
    result = compare_reports(
        RunReport.from_dict(load_run(ws, baseline)),
        RunReport.from_dict(report),
        min_effect=settings.min_delta,
    )
    return comparison_criteria(result, settings, baseline, how)


def comparison_criteria(
    result: RunComparison, settings: GateConfig, baseline: str, how: str
) -> list[Criterion]:
    """`better_than_incumbent` and `fold_wins` from the paired comparison of this run (B)
    against `baseline` (A): pure, so the rule is tested on constructed comparisons."""
    if not result.comparable:
        note = f"not comparable with {baseline}: {result.why_not}"
        return [
            Criterion("better_than_incumbent", None, settings.min_delta, False, note),
            Criterion("fold_wins", None, settings.min_fold_wins, False, note),
        ]
    decision: dict[str, Any] = dict(result.decision or {})
    improvement = _num(decision.get("improvement"))
    low, high = decision.get("improvement_interval") or [None, None]
    passed, needed = enough_wins(result.wins_b, len(result.folds), settings.min_fold_wins)
    return [
        Criterion(
            "better_than_incumbent",
            improvement,
            settings.min_delta,
            beats(result.verdict),
            f"{how}; {result.verdict}: improvement {_fmt(improvement)} "
            f"[{_fmt(low)}, {_fmt(high)}] must lie above {settings.min_delta}; "
            f"{decision.get('reason', '')}",
        ),
        Criterion(
            "fold_wins",
            result.wins_b,
            needed,
            passed,
            f"wins {result.wins_b}, losses {result.wins_a}, ties {result.ties} of "
            f"{len(result.folds)} folds",
        ),
    ]


def _fmt(value: Any) -> str:
    number = _num(value)
    return "-" if number is None else f"{number:+.4g}"


def _same_data_baseline(
    ws: Workspace, report: dict[str, Any], incumbent: str
) -> tuple[str | None, str]:
    """The run to compare with on the same rows: the incumbent itself when it trained on the
    challenger's snapshot with the same settings, else a run of the incumbent's recipe there."""
    from core.experiments.index import list_runs

    champion = load_run(ws, incumbent)
    snapshot = report.get("snapshot_id")
    if champion.get("snapshot_id") == snapshot and champion.get("validation") == report.get(
        "validation"
    ):
        return incumbent, f"vs incumbent {incumbent} on the same rows"
    recipe = {k: (v or {}).get("version") for k, v in (champion.get("components") or {}).items()}
    cohort = next(
        (s.cohort for s in list_runs(ws, str(report.get("model"))) if s.run_id == report["run_id"]),
        None,
    )
    for run in reversed(list_runs(ws, str(report.get("model")))):
        if (
            run.cohort == cohort
            and run.components == recipe
            and run.run_id != report["run_id"]
            and not run.leaky
        ):
            return run.run_id, (
                f"vs {run.run_id}: incumbent {incumbent}'s recipe retrained on {snapshot}, "
                "same rows"
            )
    labels_then = recipe.get("labels")
    labels_now = ((report.get("components") or {}).get("labels") or {}).get("version")
    if labels_then and labels_now and labels_then != labels_now:
        recipe = {**recipe, "labels": labels_now}
    flags = " ".join(
        f"--{kind} {version}"
        for kind, version in recipe.items()
        if kind in ("features", "labels", "hparams", "arch")
    )
    why = (
        f"incumbent {incumbent} predicts labels {labels_then}, this run {labels_now}: not the "
        "same target"
        if labels_then != labels_now
        else f"incumbent {incumbent} trained on {champion.get('snapshot_id')} with other "
        f"[validation] settings or no per-row predictions, this run on {snapshot}"
    )
    return None, (
        f"{why}: no shared rows to pair. Retrain the incumbent's recipe on this run's data and "
        f"labels first (factory train {report.get('model')} --snapshot {snapshot} {flags}), "
        "or promote with --override and the reason"
    )


def _code(ws: Workspace, report: dict[str, Any]) -> Criterion:
    from core.operations.artifacts import changed_components

    changed = changed_components(ws, report)
    return Criterion(
        "code_unchanged",
        [c["ref"] for c in changed],
        [],
        not changed,
        "the run's features and arch are the source it trained on"
        if not changed
        else "changed since training: "
        + "; ".join(
            f"{c['ref']} (run {c['run_hash']}, now {c['current_hash'] or 'missing'})"
            for c in changed
        )
        + ". Train a new run on the new code",
    )


def _leak(ws: Workspace, report: dict[str, Any]) -> Criterion:
    from core.experiments.leaks import pit_state

    features = (report.get("components") or {}).get("features") or {}
    leaky = report.get("leaky")
    state = pit_state(ws, str(features.get("version")), str(features.get("hash")))
    if isinstance(leaky, dict):
        note = f"trained with --allow-leaky ({leaky.get('reason')}) on a version that leaks"
        return Criterion("not_leaky", True, False, False, note)
    if state.state == "failed":
        return Criterion(
            "not_leaky",
            True,
            False,
            False,
            f"features/{features.get('version')} failed the point-in-time check {state.pit_id}",
        )
    return Criterion(
        "not_leaky", False, False, True, f"no failed leak check on record ({state.state})"
    )


def _beats_baseline(ws: Workspace, report: dict[str, Any], tier: str) -> Criterion:
    required = ws.config.gates[tier].require_beats_baseline
    baselines = report.get("baselines")
    if not required:
        return Criterion("beats_baseline", None, "better", True, f"not required ([gates.{tier}])")
    if not isinstance(baselines, dict) or not isinstance(baselines.get("versus_best"), dict):
        return Criterion(
            "beats_baseline",
            None,
            "better",
            False,
            "the report holds no naive baselines (an older report): retrain the run",
        )
    versus = baselines["versus_best"]
    return Criterion(
        "beats_baseline",
        versus.get("verdict"),
        "better",
        beats(versus.get("verdict")),
        f"vs {baselines.get('best')}: skill {_fmt(baselines.get('skill'))}; {versus.get('reason')}",
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
    """The leak check at the source the run used: the one on record, else run and recorded."""
    from core.experiments.leaks import pit_state, record_check

    features = (report.get("components") or {}).get("features") or {}
    version, source = str(features.get("version")), str(features.get("hash"))
    state = pit_state(ws, version, source)
    if state.state == "unchecked":
        from core.components.registry import get_component
        from core.experiments.pit import check_point_in_time

        if get_component(ws, "features", version).hash != source:
            return Criterion(
                "point_in_time",
                None,
                "passed",
                False,
                f"features/{version} changed since the run and was never checked at the "
                "source the run used",
            )
        result = check_point_in_time(
            ws,
            version,
            str(report.get("model")),
            str(report.get("snapshot_id")),
            budget_s=ws.config.validation.leak_check_budget_s,
        )
        record_check(ws, result)
        state = pit_state(ws, version, source)
    return Criterion(
        "point_in_time",
        state.state,
        "passed",
        state.state == "passed",
        f"features/{version} at {source}: {state.state}"
        + (f" ({state.pit_id})" if state.pit_id else "")
        + (
            f"; reads the future: {', '.join(state.changed_columns)}"
            if state.changed_columns
            else ""
        ),
    )


def _reproducible(ws: Workspace, report: dict[str, Any], retrain: bool) -> Criterion:
    if not retrain:
        return Criterion(
            "reproducible",
            None,
            True,
            False,
            "not checked (--no-retrain): a retrain with the same seed decides it",
        )
    from core.experiments.report import RunReport
    from core.experiments.training.retrain import retrain_in_scratch

    again = retrain_in_scratch(ws, RunReport.from_dict(report))
    if not again.same_run_id:
        return Criterion(
            "reproducible",
            None,
            True,
            False,
            f"retraining the recipe gives another run id ({again.new_run_id}): its inputs "
            "changed since (component source or settings)",
        )
    return Criterion(
        "reproducible",
        again.identical,
        True,
        again.identical,
        "a retrain with the same seed in a scratch folder gave identical folds and predictions"
        if again.identical
        else "a retrain with the same seed gave different " + ", ".join(again.differences),
    )


def _latency(
    ws: Workspace,
    report: dict[str, Any],
    incumbent_report: dict[str, Any] | None,
    tier: str,
    code_ok: bool,
) -> Criterion:
    """Live p95s from the inference log when both runs have `perf.MIN_LIVE` logged online
    predictions; else both measured now side by side; else as recorded at training."""
    from core.operations.perf import MIN_LIVE, live_figures

    ratio_max = ws.config.gates[tier].latency_ratio_max
    p95 = _num((report.get("latency") or {}).get("p95_ms"))
    runs = [str(report["run_id"])]
    if incumbent_report is not None:
        runs.append(str(incumbent_report["run_id"]))
    live = live_figures(ws, runs)
    own = live.get(runs[0])
    own_live = own is not None and own.enough and own.p95_ms is not None
    if incumbent_report is None:
        shown = (
            f" (live p95 {own.p95_ms:.3f} ms over {own.n} logged online predictions)"
            if own is not None and own_live and own.p95_ms is not None
            else (f" (p95 {p95:.3f} ms)" if p95 is not None else "")
        )
        return Criterion(
            "latency_p95", None, ratio_max, True, "no incumbent: nothing to compare with" + shown
        )
    theirs = live.get(runs[1])
    base: float | None
    if (
        own is not None
        and own_live
        and theirs is not None
        and theirs.enough
        and theirs.p95_ms is not None
    ):
        p95, base = own.p95_ms, theirs.p95_ms
        how = f"{LIVE_LATENCY} {own.n} and {theirs.n} logged online predictions"
    else:
        measured = _measure_side_by_side(ws, report, incumbent_report) if code_ok else None
        if measured is not None:
            p95, base = measured
            how = "measured now, interleaved, one row per call"
        else:
            base = _num((incumbent_report.get("latency") or {}).get("p95_ms"))
            how = "as recorded at training time (an artifact is missing or the code changed)"
        how += f"; live figures need {MIN_LIVE} logged online predictions of each run"
    if p95 is None or base is None or base <= 0:
        return Criterion("latency_p95", None, ratio_max, False, "a report lacks latency.p95_ms")
    ratio = p95 / base
    return Criterion(
        "latency_p95",
        ratio,
        ratio_max,
        ratio_within(ratio, ratio_max),
        f"p95 {p95:.3f} ms vs incumbent {incumbent_report['run_id']} {base:.3f} ms ({how})",
    )


LATENCY_SAMPLES = 300


def _measure_side_by_side(
    ws: Workspace, report: dict[str, Any], incumbent_report: dict[str, Any]
) -> tuple[float, float] | None:
    """p95 single-row latency of both models, calls alternating so that machine load hits
    both alike (numbers recorded at training time came from different moments). None when a
    model cannot be loaded or scored as it was trained."""
    import time

    import numpy as np

    from core.data.snapshots import get_manifest, load_snapshot
    from core.operations.artifacts import changed_components, load_model
    from core.operations.common import compute_features

    sides: list[tuple[Any, Any, Any, Any, list[float]]] = []
    for side in (report, incumbent_report):
        if changed_components(ws, side):
            return None
        try:
            model, meta, arch = load_model(ws, side)
        except FactoryError:
            return None
        manifest = get_manifest(ws, str(side["snapshot_id"]))
        frame = load_snapshot(ws, str(side["snapshot_id"])).tail(120).reset_index(drop=True)
        version = str(((side.get("components") or {}).get("features") or {}).get("version"))
        features = compute_features(
            ws, frame, version, manifest["time_column"], list(manifest.get("entity_columns") or [])
        )
        names = list(meta.get("feature_names") or features.columns)
        if any(n not in features.columns for n in names):
            return None
        row = features[names].iloc[[-1]]
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


LIVE_LATENCY = "live, from"
"""In `latency_p95`'s note when it judged on live p95s."""
LIVE_COST = "live:"
"""In `cost_per_1000`'s note when it judged on live CPU."""


def _live_since(ws: Workspace, verdict: GateResult) -> bool:
    """Whether live figures are enough now for a criterion that judged on others (the gate
    id does not hash the inference log, so `status` and `promote` stay cheap: `factory gate`
    asks this instead, and a log with too few predictions never changes a verdict)."""
    from core.operations.perf import live_figures

    notes = {c.name: c.note or "" for c in verdict.criteria}
    runs = [verdict.run_id, *([verdict.incumbent] if verdict.incumbent else [])]
    live = live_figures(ws, runs)

    def enough(run_id: str | None) -> bool:
        found = live.get(str(run_id)) if run_id else None
        return found is not None and found.enough

    cost = LIVE_COST not in notes.get("cost_per_1000", LIVE_COST) and enough(verdict.run_id)
    latency = (
        verdict.incumbent is not None
        and verdict.incumbent != verdict.run_id
        and LIVE_LATENCY not in notes.get("latency_p95", LIVE_LATENCY)
        and enough(verdict.run_id)
        and enough(verdict.incumbent)
    )
    return cost or latency


def _cost(ws: Workspace, report: dict[str, Any], tier: str) -> Criterion:
    """Live cost per 1,000 predictions (logged CPU at `[cost]`'s price) when the run has
    `perf.MIN_LIVE` logged online predictions; else the report's, from training."""
    from core.operations.perf import MIN_LIVE, live_figures

    budget = ws.config.gates[tier].cost_per_1000_max
    cost = report.get("cost") or {}
    currency = ws.config.cost.currency
    live = live_figures(ws, [str(report["run_id"])]).get(str(report["run_id"]))
    if live is not None and live.enough and live.cost_per_1000 is not None:
        return Criterion(
            "cost_per_1000",
            live.cost_per_1000,
            budget,
            within_budget(live.cost_per_1000, budget),
            f"{currency} per 1,000 predictions, {LIVE_COST} {live.cpu_ms or 0:.3f} CPU ms per "
            f"prediction over {live.n} logged online predictions",
        )
    value = _num(cost.get("per_1000_predictions"))
    if value is None:
        return Criterion(
            "cost_per_1000", None, budget, False, "the report lacks cost.per_1000_predictions"
        )
    return Criterion(
        "cost_per_1000",
        value,
        budget,
        within_budget(value, budget),
        f"{cost.get('currency', '')} per 1,000 predictions (at training time; live figures "
        f"need {MIN_LIVE} logged online predictions)",
    )


def _drift(ws: Workspace, report: dict[str, Any], newest: str | None, tier: str) -> Criterion:
    if not ws.config.gates[tier].require_no_drift:
        return Criterion(
            "no_drift", None, False, True, f"not required ([gates.{tier}] require_no_drift = false)"
        )
    from core.operations.drift import drift_verdict

    verdict = drift_verdict(ws, str(report["model"]), report, newest)
    return Criterion(
        "no_drift",
        verdict.detected,
        False,
        verdict.detected is not True,
        verdict.note,
    )


def evaluate_gate(ws: Workspace, run_ref: str, tier: str, *, retrain: bool = True) -> GateResult:
    """Judge a run for `tier`; writes `reports/gate-<id>.json` once per distinct input."""
    from core.foundation.events import emit
    from core.operations.tier_state import read_tiers

    check_tier(tier)
    report = load_run(ws, run_ref)
    model = str(report.get("model"))
    tiers = read_tiers(ws, model)
    inputs = gate_inputs(ws, report, tier, tiers, retrain)
    gate_id = "gate-" + hash_inputs(inputs)
    existing = read_json(gate_path(ws, gate_id))
    if isinstance(existing, dict) and existing.get("gate_id") == gate_id:
        reused = GateResult.from_dict(existing, reused=True)
        if not _live_since(ws, reused):
            return reused
        # Live figures arrived since this verdict judged on others: judge again, same id.
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
    code = _code(ws, report)
    criteria = [
        *([staged] if staged else []),
        code,
        _leak(ws, report),
        *_comparison(ws, report, incumbent, tier),
        _beats_baseline(ws, report, tier),
        _schema(ws, report),
        _pit(ws, report),
        _reproducible(ws, report, retrain and code.passed),
        _latency(ws, report, incumbent_report, tier, code.passed),
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
