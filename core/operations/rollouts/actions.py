"""`factory rollout start|status|pause|resume|abort|tick MODEL`, and `tick_due` for a server.

A rollout compares a challenger against the run serving prod (the stable run):

- `start` needs a current passing staging gate for the challenger, checked by the same
  function promotion uses (`core.operations.gates.current_gate`); a challenger not yet in
  staging is promoted there first (through `core.operations.tiers.promote`, which checks
  it again). Same spec, same id: a second `start` changes nothing.
- `tick` analyses once per interval (`decide`): every criterion as value / threshold /
  pass | fail | inconclusive, recorded as an event (`rollout.analysed`) and a line of
  `analyses.jsonl`; then advances, pauses, promotes or aborts (`decide.decide_action`).
- abort rolls prod's traffic back through `tiers.rollback` (history entry, event, one
  alert), success promotes through `tiers.promote` with the rollout's verdict; either way a
  verdict file `reports/<rollout_id>.json` and the card's `rollouts` entry record it.

Ending is crash-safe: the state says `aborting` / `promoting` (with the decision) before the
tier changes, and every step after it is idempotent, so the next tick completes a rollout a
kill interrupted.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import timedelta
from typing import Any

from core.foundation import clock
from core.foundation.atomic import file_lock
from core.foundation.errors import FactoryError
from core.foundation.events import emit
from core.foundation.faults import crash_point
from core.foundation.workspace import Workspace
from core.operations.rollouts import store
from core.operations.rollouts.spec import DEFAULT_STEPS, RolloutSpec, parse_interval, validate

RECENT_ANALYSES = 20


@dataclass(frozen=True)
class RolloutView:
    """A rollout now: its spec, where it stands, its last analysis and what comes next."""

    model: str
    rollout_id: str
    mode: str
    status: str
    """running, paused, aborting, promoting (finishing), promoted, aborted, passed (a
    shadow that passed), cancelled (prod changed by another action)."""
    stable: str
    challenger: str
    step: int
    """0-based index into `steps`."""
    steps: list[float]
    share: float
    """The challenger's share of prod traffic now (0 for a shadow)."""
    started_at: str
    updated_at: str
    next_analysis_at: str | None
    """When the next analysis is due (None once ended)."""
    interval_s: float
    looks: int
    """Analyses so far."""
    n_stable: int
    """Requests so far, per arm."""
    n_challenger: int
    min_requests: int
    failures: int
    failure_limit: int
    inconclusive: int
    inconclusive_limit: int
    consecutive_errors: int
    consecutive_error_limit: int
    overall: str | None
    """The last analysis: pass, fail, inconclusive (None before the first; error when it
    could not be computed)."""
    last_action: str | None
    reason: str | None
    """Why the last analysis (or the end) came out so."""
    criteria: list[dict[str, Any]]
    """The last analysis's criteria: name, value, threshold, verdict, interval, per-arm
    figures and counts, reason."""
    decision: str | None
    """promoted, aborted, passed or cancelled, once ended."""
    report: str | None
    """The verdict file, once ended."""
    alert_ids: list[str]
    paused_reason: str | None
    next_step: str
    """One sentence: what happens next, or what to do."""
    spec: dict[str, Any]
    changed: bool = False
    """Whether this call changed the rollout."""
    analysed: bool = False
    """Whether this call ran an analysis (tick)."""
    tier_change: dict[str, Any] | None = None
    analyses: list[dict[str, Any]] = field(default_factory=list)
    """The newest analyses (up to 20), oldest first: look, time, share, per-arm requests,
    overall, action, and each criterion's value and verdict."""

    def to_dict(self) -> dict[str, Any]:
        return {name: getattr(self, name) for name in self.__dataclass_fields__}


@dataclass(frozen=True)
class RolloutList:
    rollouts: list[RolloutView]
    JSON_PROPERTIES = ("rollout_count",)

    @property
    def rollout_count(self) -> int:
        """How many rollouts the model had."""
        return len(self.rollouts)

    def to_dict(self) -> dict[str, Any]:
        return {
            "rollouts": [r.to_dict() for r in self.rollouts],
            "rollout_count": len(self.rollouts),
        }


# -------------------------------------------------------------------------- the spec


def build_spec(
    ws: Workspace,
    model: str,
    challenger: str,
    *,
    mode: str = "canary",
    steps: tuple[float, ...] | None = None,
    interval: str | float | None = None,
    attempt: int = 1,
    **settings: Any,
) -> RolloutSpec:
    """The spec of rolling `challenger` out against the run in prod now, with the
    workspace's gate and cost settings as defaults (`settings` override spec fields)."""
    from core.operations.tier_state import read_tiers

    stable = read_tiers(ws, model).get("prod")
    if stable is None:
        raise FactoryError(
            "tier_empty",
            f"No run of {model} is in prod: a rollout compares a challenger with the prod run",
            hint=f"With nothing serving, promote directly: `factory promote {challenger} --to prod`.",
            details={"model": model, "tier": "prod"},
        )
    prod_gate = ws.config.gates["prod"]
    if settings.get("quality") is None:
        settings["quality"] = _quality_default(ws, model)
    values: dict[str, Any] = {
        "latency_ratio_max": prod_gate.latency_ratio_max,
        "quality_min_effect": max(prod_gate.min_delta, 0.0),
        "price_per_cpu_hour": ws.config.cost.price_per_cpu_hour,
        "currency": ws.config.cost.currency,
        **{k: v for k, v in settings.items() if v is not None},
    }
    if interval is not None:
        values["interval_s"] = parse_interval(interval)
    return validate(
        RolloutSpec(
            model=model, stable=str(stable), challenger=challenger, mode=mode,
            steps=DEFAULT_STEPS.get(mode, ()) if steps is None else tuple(steps),
            attempt=attempt, **values,
        )
    )  # fmt: skip


def _quality_default(ws: Workspace, model: str) -> str:
    """`on` once outcomes of `model` have joined (labels reach the factory, so quality can be
    decided online: issue 13's "quality becomes a rollout criterion once outcomes join"),
    else `off`: a model whose labels never arrive would only ever be inconclusive on quality,
    and that would pause the rollout at its inconclusive limit."""
    from core.operations.feedback.outcomes import read_outcomes

    return "on" if next(read_outcomes(ws, model), None) is not None else "off"


def _new_state(spec: RolloutSpec) -> dict[str, Any]:
    now = clock.iso()
    return {
        "schema": store.STATE_SCHEMA,
        "rollout_id": spec.rollout_id,
        "model": spec.model,
        "mode": spec.mode,
        "stable": spec.stable,
        "challenger": spec.challenger,
        "status": "running",
        "step": 0,
        "share": spec.share_at(0),
        "started_at": now,
        "updated_at": now,
        "step_started_look": 0,
        "looks": [],
        "failures": 0,
        "inconclusive": 0,
        "consecutive_errors": 0,
        "last": None,
        "paused_reason": None,
        "alert_ids": [],
        "ending": None,
        "ended_at": None,
        "decision": None,
        "reason": None,
        "report": None,
        "tier_change": None,
    }


# ------------------------------------------------------------------------- the views


def _due(spec: RolloutSpec, state: dict[str, Any]) -> str | None:
    if state.get("status") not in ("running", "paused"):
        return None
    looks = state.get("looks") or []
    last = looks[-1]["at"] if looks else state["started_at"]
    return clock.iso(clock.parse_iso(str(last)) + timedelta(seconds=spec.interval_s))


def _pct(share: float) -> str:
    return f"{100 * share:g}%"


def _next_step(spec: RolloutSpec, state: dict[str, Any]) -> str:
    status = state.get("status")
    model, challenger = spec.model, spec.challenger
    last = state.get("last") or {}
    if status == "paused":
        return (
            f"paused ({state.get('paused_reason')}): traffic holds at {_pct(state['share'])}; "
            f"`factory rollout resume {model}` or `factory rollout abort {model} --reason ...`"
        )
    if status in ("aborting", "promoting"):
        return f"finishing ({status}): `factory rollout tick {model}` completes it"
    if status == "promoted":
        return f"{challenger} serves prod (verdict {state.get('report')})"
    if status == "aborted":
        return (
            f"{spec.stable} serves prod again; {challenger} was rolled back: {state.get('reason')}"
        )
    if status == "passed":
        return (
            f"the shadow passed: serve {challenger} to real traffic with "
            f"`factory rollout start {model} --run {challenger} --mode canary`"
        )
    if status == "cancelled":
        return f"cancelled: {state.get('reason')}"
    looks = state.get("looks") or []
    counts = (looks[-1]["n_stable"], looks[-1]["n_challenger"]) if looks else (0, 0)
    if min(counts) < spec.min_requests:
        waiting = (
            f"waiting for {spec.min_requests} requests per arm (has {counts[0]} stable, "
            f"{counts[1]} challenger)"
        )
    else:
        waiting = last.get("reason") or "analysing"
    where = "shadow" if spec.mode == "shadow" else f"{spec.mode} at {_pct(state['share'])}"
    goal = {
        "shadow": "passes when latency, errors and cost all pass",
        "canary": (
            f"moves to {_pct(spec.share_at(state['step'] + 1))} when nothing fails"
            if state["step"] < spec.last_step
            else "promotes when every required criterion passes"
        ),
        "ab": "promotes when every required criterion passes",
    }[spec.mode]
    return f"{where}: {waiting}; {goal}; next analysis at {_due(spec, state)}"


def _compact(record: dict[str, Any]) -> dict[str, Any]:
    return {
        "look": record.get("look"),
        "at": record.get("at"),
        "share": record.get("share"),
        "n_stable": record.get("n_stable"),
        "n_challenger": record.get("n_challenger"),
        "overall": record.get("overall"),
        "action": record.get("action"),
        "criteria": {
            c["name"]: {"value": c.get("value"), "verdict": c.get("verdict")}
            for c in record.get("criteria") or []
        },
    }


def _view(
    ws: Workspace,
    spec: RolloutSpec,
    state: dict[str, Any],
    *,
    changed: bool = False,
    analysed: bool = False,
) -> RolloutView:
    looks = state.get("looks") or []
    last = state.get("last") or {}
    recent = store.read_analyses(ws, spec.model, spec.rollout_id)[-RECENT_ANALYSES:]
    return RolloutView(
        model=spec.model, rollout_id=spec.rollout_id, mode=spec.mode,
        status=str(state.get("status")), stable=spec.stable, challenger=spec.challenger,
        step=int(state.get("step") or 0), steps=list(spec.steps),
        share=float(state.get("share") or 0.0), started_at=str(state.get("started_at")),
        updated_at=str(state.get("updated_at")), next_analysis_at=_due(spec, state),
        interval_s=spec.interval_s, looks=len(looks),
        n_stable=int(looks[-1]["n_stable"]) if looks else 0,
        n_challenger=int(looks[-1]["n_challenger"]) if looks else 0,
        min_requests=spec.min_requests, failures=int(state.get("failures") or 0),
        failure_limit=spec.failure_limit, inconclusive=int(state.get("inconclusive") or 0),
        inconclusive_limit=spec.inconclusive_limit,
        consecutive_errors=int(state.get("consecutive_errors") or 0),
        consecutive_error_limit=spec.consecutive_error_limit, overall=last.get("overall"),
        last_action=last.get("action"),
        reason=state.get("reason") or last.get("reason"),
        criteria=list(last.get("criteria") or []), decision=state.get("decision"),
        report=state.get("report"), alert_ids=list(state.get("alert_ids") or []),
        paused_reason=state.get("paused_reason"), next_step=_next_step(spec, state),
        spec=spec.to_dict(), changed=changed, analysed=analysed,
        tier_change=state.get("tier_change"), analyses=[_compact(r) for r in recent],
    )  # fmt: skip


def _load(
    ws: Workspace, model: str, rollout_id: str | None = None
) -> tuple[RolloutSpec, dict[str, Any]]:
    ws.model(model)
    rollout_id = rollout_id or store.current_id(ws, model)
    spec = store.read_spec(ws, model, rollout_id) if rollout_id else None
    state = store.read_state(ws, model, rollout_id) if rollout_id else None
    if spec is None or state is None:
        raise FactoryError(
            "rollout_none",
            f"{model} has no rollout" + (f" {rollout_id}" if rollout_id else ""),
            hint=f"See how long one would take: `factory rollout plan {model} --run RUN`; "
            f"start one with `factory rollout start {model} --run RUN`.",
            details={"model": model, "rollout_id": rollout_id},
        )
    return spec, state


def status(ws: Workspace, model: str, rollout_id: str | None = None) -> RolloutView:
    """The model's newest rollout (or `rollout_id`), read only."""
    spec, state = _load(ws, model, rollout_id)
    return _view(ws, spec, state)


def list_rollouts(ws: Workspace, model: str) -> RolloutList:
    """Every rollout of the model, oldest first."""
    ws.model(model)
    views = []
    for rollout_id in store.rollout_ids(ws, model):
        spec = store.read_spec(ws, model, rollout_id)
        state = store.read_state(ws, model, rollout_id)
        if spec is not None and state is not None:
            views.append(_view(ws, spec, state))
    return RolloutList(views)


# --------------------------------------------------------------------------- start


def require_staging_gate(ws: Workspace, report: dict[str, Any], tiers: dict[str, Any]) -> Any:
    """The challenger's current passing staging gate verdict, or `gate_required`.

    The check promotion makes (`gates.current_gate`); for a challenger already in staging,
    against the tiers as they were before it got there (its own promotion changed the
    staging incumbent, nothing else may have)."""
    from core.foundation.errors import ExitCode
    from core.operations import gates

    run_id = str(report["run_id"])
    view = tiers
    if tiers.get("staging") == run_id:
        view = {**tiers, "staging": tiers["previous"].get("staging")}
    verdict = gates.current_gate(ws, report, "staging", view)
    if verdict is not None and verdict.passed:
        return verdict
    raise FactoryError(
        "gate_required",
        f"{run_id} may not be rolled out: "
        + (
            f"its staging gate verdict {verdict.gate_id} failed "
            f"({', '.join(c.name for c in verdict.criteria if not c.passed)})"
            if verdict is not None
            else "no current passing staging gate verdict (new data, changed settings or "
            "code since it was gated, or never gated)"
        ),
        hint=f"Run `factory gate {run_id} --to staging` first.",
        details={"run_id": run_id, "gate_id": verdict.gate_id if verdict else None},
        exit_code=ExitCode.CHECK_FAILED,
    )


def start(
    ws: Workspace,
    model: str,
    run_ref: str,
    *,
    mode: str = "canary",
    steps: tuple[float, ...] | None = None,
    interval: str | float | None = None,
    again: bool = False,
    **settings: Any,
) -> RolloutView:
    """Start rolling `run_ref` out against prod (idempotent: the same spec is the same
    rollout; `again` starts a new attempt of a spec that ended)."""
    from core.operations.common import load_run
    from core.operations.tier_state import read_tiers
    from core.operations.tiers import promote

    report = load_run(ws, run_ref)
    run_id = str(report["run_id"])
    if report.get("model") != model:
        raise FactoryError(
            "model_mismatch",
            f"Run {run_id} is of model {report.get('model')!r}, not {model!r}",
            hint=f"See `factory runs {model}`.",
        )
    spec = build_spec(ws, model, run_id, mode=mode, steps=steps, interval=interval, **settings)
    with file_lock(store.lock_path(ws, model)):
        while again:
            found = store.read_state(ws, model, spec.rollout_id)
            if found is None or found.get("status") in store.ACTIVE:
                break
            spec = replace(spec, attempt=spec.attempt + 1)
        existing = store.read_state(ws, model, spec.rollout_id)
        if existing is not None and store.read_spec(ws, model, spec.rollout_id) is not None:
            return _view(ws, spec, existing)
        current = store.current_id(ws, model)
        if current is not None and current != spec.rollout_id:
            other = store.read_state(ws, model, current) or {}
            if other.get("status") in store.ACTIVE:
                raise FactoryError(
                    "rollout_active",
                    f"{model} is already rolling out {other.get('challenger')} ({current}, "
                    f"{other.get('status')})",
                    hint=f"See `factory rollout status {model}`; end it with "
                    f"`factory rollout abort {model} --reason ...`.",
                    details={"rollout_id": current, "status": other.get("status")},
                )
        tiers = read_tiers(ws, model)
        gate = require_staging_gate(ws, report, tiers)
        if tiers.get("staging") != run_id:
            promote(ws, run_id, "staging")
        store.write_spec(ws, spec)
        state = _new_state(spec)
        crash_point("rollout.after_spec")
        store.write_state(ws, model, state)
        store.set_current(ws, model, spec.rollout_id)
        _card_entry(ws, model, {
            "rollout_id": spec.rollout_id, "mode": spec.mode, "stable": spec.stable,
            "challenger": spec.challenger, "started_at": state["started_at"],
            "status": "running", "gate_id": gate.gate_id,
        })  # fmt: skip
        emit(
            ws.events_dir, "rollout.started", run_id=run_id, model=model,
            rollout_id=spec.rollout_id, mode=spec.mode, stable=spec.stable,
            challenger=spec.challenger, steps=list(spec.steps), share=state["share"],
            gate_id=gate.gate_id,
        )  # fmt: skip
        return _view(ws, spec, state, changed=True)


def _card_entry(ws: Workspace, model: str, entry: dict[str, Any]) -> None:
    """Add or update the rollout's entry in the card's `rollouts` list."""
    from core.records.card_store import update_card

    def mutate(meta: dict[str, Any]) -> None:
        rollouts = [r for r in meta.get("rollouts") or [] if isinstance(r, dict)]
        for known in rollouts:
            if known.get("rollout_id") == entry["rollout_id"]:
                known.update(entry)
                break
        else:
            rollouts.append(dict(entry))
        meta["rollouts"] = rollouts

    update_card(ws, model, mutate)


# ---------------------------------------------------------------- pause, resume, abort


def _active(ws: Workspace, model: str) -> tuple[RolloutSpec, dict[str, Any]]:
    spec, state = _load(ws, model)
    if state.get("status") not in store.ACTIVE:
        raise FactoryError(
            "rollout_finished",
            f"{model}'s rollout {spec.rollout_id} has ended ({state.get('status')})",
            hint=f"Start another with `factory rollout start {model} --run RUN`.",
            details={"rollout_id": spec.rollout_id, "status": state.get("status")},
        )
    return spec, state


def pause(ws: Workspace, model: str, reason: str) -> RolloutView:
    """Hold the traffic where it is: analyses go on (a failure still aborts), nothing
    advances or promotes until `resume`."""
    with file_lock(store.lock_path(ws, model)):
        spec, state = _active(ws, model)
        if state["status"] != "running":
            return _view(ws, spec, state)
        state.update(
            status="paused", paused_reason=reason or "paused by hand", updated_at=clock.iso()
        )
        store.write_state(ws, model, state)
        emit(ws.events_dir, "rollout.paused", run_id=spec.challenger, model=model,
             rollout_id=spec.rollout_id, reason=state["paused_reason"])  # fmt: skip
        return _view(ws, spec, state, changed=True)


def resume(ws: Workspace, model: str) -> RolloutView:
    """Let a paused rollout act again; its count of inconclusive analyses starts over."""
    with file_lock(store.lock_path(ws, model)):
        spec, state = _active(ws, model)
        if state["status"] != "paused":
            return _view(ws, spec, state)
        state.update(status="running", paused_reason=None, inconclusive=0, updated_at=clock.iso())
        store.write_state(ws, model, state)
        emit(ws.events_dir, "rollout.resumed", run_id=spec.challenger, model=model,
             rollout_id=spec.rollout_id)  # fmt: skip
        return _view(ws, spec, state, changed=True)


def abort(ws: Workspace, model: str, reason: str) -> RolloutView:
    """End the rollout now: prod's traffic goes back to the stable run (rolled back through
    the tiers, one alert), and the verdict is written."""
    with file_lock(store.lock_path(ws, model)):
        spec, state = _load(ws, model)
        if state.get("status") == "aborted":
            return _view(ws, spec, state)
        if state.get("status") not in store.ACTIVE:
            _active(ws, model)  # raises rollout_finished
        state = _finish(ws, spec, state, "aborted", f"aborted by hand: {reason}")
        return _view(ws, spec, state, changed=True)


# ----------------------------------------------------------------------------- tick


def tick(ws: Workspace, model: str, *, force: bool = False) -> RolloutView:
    """Analyse the model's rollout if an interval has passed since the last analysis (or
    `force`), then act on it. A rollout left finishing by a kill is finished first."""
    with file_lock(store.lock_path(ws, model)):
        spec, state = _load(ws, model)
        ending = state.get("ending")
        if state.get("status") in ("aborting", "promoting") and ending:
            state = _finish(ws, spec, state, str(ending["decision"]), str(ending["reason"]))
            return _view(ws, spec, state, changed=True)
        if state.get("status") not in ("running", "paused"):
            return _view(ws, spec, state)
        due = _due(spec, state)
        now = clock.iso()
        if not force and due is not None and now < due:
            return _view(ws, spec, state)
        from core.operations.tier_state import read_tiers

        prod = read_tiers(ws, model).get("prod")
        if prod != spec.stable:
            why = (
                f"{spec.challenger} was promoted to prod by another action"
                if prod == spec.challenger
                else f"prod changed to {prod or 'nothing'} by another action"
            )
            state = _finish(ws, spec, state, "cancelled", why)
            return _view(ws, spec, state, changed=True)
        state = _analyse(ws, spec, state, now)
        return _view(ws, spec, state, changed=True, analysed=True)


def _analyse(ws: Workspace, spec: RolloutSpec, state: dict[str, Any], now: str) -> dict[str, Any]:
    from core.operations.rollouts.decide import Counters, decide_action, replay
    from core.operations.rollouts.observations import read_rollout_log

    looks = list(state.get("looks") or [])
    look_no = len(looks) + 1
    analysis = None
    error_text = None
    try:
        losses = None
        if spec.quality != "off":
            from core.operations.feedback.outcomes import losses_by_request

            losses = losses_by_request(ws, spec.model)
        log = read_rollout_log(
            ws, spec.model, spec.rollout_id, str(state["started_at"]), now, losses
        )
        cutoffs = [str(look["at"]) for look in looks] + [now]
        analysis = replay(spec, log.looks(cutoffs))[-1]
    except (OSError, ValueError) as exc:
        error_text = f"{type(exc).__name__}: {exc}"
    n_stable = analysis.n_stable if analysis else (looks[-1]["n_stable"] if looks else 0)
    n_challenger = (
        analysis.n_challenger if analysis else (looks[-1]["n_challenger"] if looks else 0)
    )
    at_step_start = looks[state["step_started_look"] - 1] if state["step_started_look"] else None
    step_requests = (
        n_stable - (at_step_start["n_stable"] if at_step_start else 0),
        n_challenger - (at_step_start["n_challenger"] if at_step_start else 0),
    )
    counters = Counters(state["failures"], state["inconclusive"], state["consecutive_errors"])
    action = decide_action(
        spec, paused=state["status"] == "paused", step=int(state["step"]), counters=counters,
        overall=analysis.overall if analysis else None,
        reason=analysis.reason if analysis else str(error_text), step_requests=step_requests,
    )  # fmt: skip
    criteria = [c.to_dict() for c in analysis.criteria] if analysis else []
    record = {
        "rollout_id": spec.rollout_id, "model": spec.model, "look": look_no, "at": now,
        "mode": spec.mode, "step": state["step"], "share": state["share"],
        "status": state["status"], "n_stable": n_stable, "n_challenger": n_challenger,
        "overall": analysis.overall if analysis else "error", "criteria": criteria,
        "error": error_text, **action.to_dict(),
    }  # fmt: skip
    store.append_analysis(ws, spec.model, spec.rollout_id, record)
    emit(
        ws.events_dir, "rollout.analysed", run_id=spec.challenger, model=spec.model,
        rollout_id=spec.rollout_id, look=look_no, share=state["share"], step=state["step"],
        overall=record["overall"], action=action.action, reason=action.reason,
        n_stable=n_stable, n_challenger=n_challenger,
        criteria=[{k: c[k] for k in ("name", "value", "threshold", "verdict")} for c in criteria],
    )  # fmt: skip
    crash_point("rollout.after_analysis")
    looks.append({"look": look_no, "at": now, "n_stable": n_stable, "n_challenger": n_challenger})
    state.update(
        looks=looks, failures=action.counters.failures,
        inconclusive=action.counters.inconclusive,
        consecutive_errors=action.counters.consecutive_errors, updated_at=now,
        last={"overall": record["overall"], "action": action.action, "reason": action.reason,
              "criteria": criteria, "look": look_no},
    )  # fmt: skip
    if action.action == "advance":
        state.update(step=action.step, share=spec.share_at(action.step), step_started_look=look_no)
        emit(ws.events_dir, "rollout.advanced", run_id=spec.challenger, model=spec.model,
             rollout_id=spec.rollout_id, step=action.step, share=state["share"])  # fmt: skip
    if action.action == "pause":
        from core.operations.alerts import raise_alert

        alert, _ = raise_alert(
            ws, "rollout", f"{spec.rollout_id}:paused:{look_no}",
            f"{spec.model}: rollout {spec.rollout_id} of {spec.challenger} paused: {action.reason}",
            model=spec.model, details={"rollout_id": spec.rollout_id, "look": look_no},
        )  # fmt: skip
        state.update(
            status="paused", paused_reason=action.reason,
            alert_ids=[*state.get("alert_ids", []), alert.alert_id],
        )  # fmt: skip
        emit(ws.events_dir, "rollout.paused", run_id=spec.challenger, model=spec.model,
             rollout_id=spec.rollout_id, reason=action.reason, alert_id=alert.alert_id)  # fmt: skip
    store.write_state(ws, spec.model, state)
    ends = {"abort": "aborted", "promote": "promoted", "pass": "passed"}
    if action.action in ends:
        state = _finish(ws, spec, state, ends[action.action], action.reason)
    return state


def tick_due(ws: Workspace) -> list[RolloutView]:
    """Analyse every model's rollout whose interval has passed: for a server to call every
    few seconds (reads one small state file per model when nothing is due)."""
    done = []
    for model in ws.config.models:
        rollout_id = store.current_id(ws, model)
        if rollout_id is None:
            continue
        spec = store.read_spec(ws, model, rollout_id)
        state = store.read_state(ws, model, rollout_id)
        if spec is None or state is None or state.get("status") not in store.ACTIVE:
            continue
        due = _due(spec, state)
        if state.get("status") in ("aborting", "promoting") or (
            due is not None and clock.iso() >= due
        ):
            done.append(tick(ws, model))
    return done


# --------------------------------------------------------------------------- ending


def _finish(
    ws: Workspace, spec: RolloutSpec, state: dict[str, Any], decision: str, reason: str
) -> dict[str, Any]:
    """End the rollout: the tier change, one alert for an abort, the verdict file, the
    card's entry and an event. Every step is idempotent, so a re-run completes a kill."""
    from core.operations.tiers import RolloutEvidence, promote, rollback

    model = spec.model
    interim = {"aborted": "aborting", "promoted": "promoting"}.get(decision)
    if interim is not None and state.get("status") != interim:
        state.update(status=interim, ending={"decision": decision, "reason": reason},
                     updated_at=clock.iso())  # fmt: skip
        store.write_state(ws, model, state)
    crash_point("rollout.before_tier")
    evidence = RolloutEvidence(spec.rollout_id, spec.stable, spec.challenger, reason)
    change: dict[str, Any] | None = None
    alert_ids = list(state.get("alert_ids") or [])
    try:
        if decision == "aborted" and spec.mode == "shadow":
            from core.operations.alerts import raise_alert

            alert, _ = raise_alert(
                ws, "rollout", f"rollout:{spec.rollout_id}",
                f"{model}: shadow rollout {spec.rollout_id} of {spec.challenger} aborted: {reason}",
                model=model, details={"rollout_id": spec.rollout_id},
            )  # fmt: skip
            alert_ids.append(alert.alert_id)
        elif decision == "aborted":
            done = rollback(ws, model, reason, "prod", rollout=evidence)
            change = done.to_dict()
            if done.alert_id:
                alert_ids.append(done.alert_id)
        elif decision == "promoted":
            change = promote(ws, spec.challenger, "prod", rollout=evidence).to_dict()
    except FactoryError as exc:
        if exc.code != "rollout_superseded" and decision == "promoted":
            # The challenger left staging or prod moved: hold and ask a person.
            return _hold(ws, spec, state, f"could not promote: {exc.message}")
        decision, reason = "cancelled", exc.message
    crash_point("rollout.after_tier")
    alert_ids = list(dict.fromkeys(alert_ids))
    ended = clock.iso()
    analyses = store.read_analyses(ws, model, spec.rollout_id)
    last = state.get("last") or {}
    path = store.write_verdict(ws, spec.rollout_id, {
        "rollout_id": spec.rollout_id, "model": model, "run_id": spec.challenger,
        "stable": spec.stable, "challenger": spec.challenger, "mode": spec.mode,
        "decision": decision, "passed": decision in ("promoted", "passed"), "reason": reason,
        "created_at": ended, "started_at": state.get("started_at"), "ended_at": ended,
        "looks": len(analyses), "criteria": last.get("criteria") or [],
        "analyses": [_compact(a) for a in analyses], "tier_change": change,
        "alert_ids": alert_ids, "spec": spec.to_dict(),
    })  # fmt: skip
    report = str(path.relative_to(ws.root))
    _card_entry(ws, model, {
        "rollout_id": spec.rollout_id, "status": decision, "ended_at": ended,
        "reason": reason, "report": report,
        "change_id": change.get("change_id") if change else None,
    })  # fmt: skip
    emit(
        ws.events_dir, f"rollout.{decision}", run_id=spec.challenger, model=model,
        rollout_id=spec.rollout_id, reason=reason, report=report, stable=spec.stable,
        change_id=change.get("change_id") if change else None, alert_ids=alert_ids,
    )  # fmt: skip
    state.update(
        status=decision, decision=decision, reason=reason, report=report, ended_at=ended,
        updated_at=ended, ending=None, tier_change=change, alert_ids=alert_ids,
    )  # fmt: skip
    store.write_state(ws, model, state)
    return state


def _hold(ws: Workspace, spec: RolloutSpec, state: dict[str, Any], why: str) -> dict[str, Any]:
    from core.operations.alerts import raise_alert

    alert, _ = raise_alert(
        ws, "rollout", f"{spec.rollout_id}:held", f"{spec.model}: rollout {spec.rollout_id}: {why}",
        model=spec.model, details={"rollout_id": spec.rollout_id},
    )  # fmt: skip
    state.update(
        status="paused", paused_reason=why, ending=None, updated_at=clock.iso(),
        alert_ids=list(dict.fromkeys([*state.get("alert_ids", []), alert.alert_id])),
    )  # fmt: skip
    store.write_state(ws, spec.model, state)
    emit(ws.events_dir, "rollout.paused", run_id=spec.challenger, model=spec.model,
         rollout_id=spec.rollout_id, reason=why, alert_id=alert.alert_id)  # fmt: skip
    return state


def summary(ws: Workspace, model: str) -> dict[str, Any] | None:
    """The model's newest rollout in a few fields, for `factory status` and the dashboard
    (two small JSON files; None when the model never had one or its files are damaged).
    Counts are named `*_count`, as everywhere in `status`; limits and settings keep their
    spec names."""
    try:
        rollout_id = store.current_id(ws, model)
        spec = store.read_spec(ws, model, rollout_id) if rollout_id else None
        state = store.read_state(ws, model, rollout_id) if rollout_id else None
    except FactoryError:
        return None
    if spec is None or state is None:
        return None
    looks = state.get("looks") or []
    last = state.get("last") or {}
    return {
        "rollout_id": spec.rollout_id,
        "mode": spec.mode,
        "status": state.get("status"),
        "stable": spec.stable,
        "challenger": spec.challenger,
        "share": state.get("share"),
        "step": state.get("step"),
        "steps": list(spec.steps),
        "look_count": len(looks),
        "stable_request_count": looks[-1]["n_stable"] if looks else 0,
        "challenger_request_count": looks[-1]["n_challenger"] if looks else 0,
        "min_requests": spec.min_requests,
        "overall": last.get("overall"),
        "last_action": last.get("action"),
        "criteria": [
            {k: c.get(k) for k in ("name", "value", "threshold", "verdict", "interval")}
            for c in last.get("criteria") or []
        ],
        "failure_count": state.get("failures"),
        "failure_limit": spec.failure_limit,
        "inconclusive_count": state.get("inconclusive"),
        "inconclusive_limit": spec.inconclusive_limit,
        "started_at": state.get("started_at"),
        "ended_at": state.get("ended_at"),
        "next_analysis_at": _due(spec, state),
        "decision": state.get("decision"),
        "reason": state.get("reason"),
        "report": state.get("report"),
        "next_step": _next_step(spec, state),
    }
