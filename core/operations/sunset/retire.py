"""`factory sunset retire RUN --successor R --reason "..."`: take a run out of service for good.

A run retires only when its successor has passed a rollout (`succession.passed_rollout`), or
with `--override "reason"`, recorded in an ADR as a promotion override is. The run must not
serve any more: it holds no tier and takes part in no running rollout (promote the successor
first). Retiring archives, under `archive/runs/<run_id>/`, the run's artifact, its card entry,
its report, its gate, drift, new-data, degradation and rollout verdicts and the ADRs that name
it, with a manifest of SHA-256 hashes written last; nothing is deleted (the artifact leaves
`artifacts/` only with `sunset removal-list --apply`). The card, through `update_card`,
records the retirement under `retired` (retired on, successor, reason, archive, ADR) and in
its tier history (tier `retired`, action `retire`), and forgets the run as a tier's
`previous` (a rollback never brings back a retired run). `predict` and `serve` ask
`retired_info` / `refuse_retired` and say when it retired and what replaced it.

Steps in order, each safe to repeat: archive files (content-addressed copies), the manifest,
the override ADR (found again by its title), the card (the truth of "retired"), the event
(emitted again only if missing). Killed at any point, running the command again completes it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from core.foundation import clock
from core.foundation.errors import FactoryError, UsageError
from core.foundation.events import emit
from core.foundation.faults import crash_point
from core.foundation.workspace import Workspace
from core.operations.common import load_run, read_json
from core.operations.sunset.archive import (
    ARCHIVE_SCHEMA,
    copy_in,
    read_manifest,
    relative,
    run_archive,
    sha256_of,
    write_in,
)

RETIRE_SCHEMA = "factory.sunset.retire/1"


@dataclass(frozen=True)
class RetiredInfo:
    """What a retired run's card says of its retirement."""

    run_id: str
    model: str
    retired_on: str
    """When it retired (UTC, ISO)."""
    successor: str | None
    successor_model: str | None
    reason: str
    override: str | None = None
    """Why it retired without a successor that passed a rollout (recorded in `adr`)."""
    rollout_id: str | None = None
    """The successor's passed rollout."""
    adr: str | None = None
    archive: str | None = None
    """The archive manifest (workspace-relative)."""
    left_tiers: list[str] = field(default_factory=list)
    """Tiers the run held and left empty when it retired (a model replaced by another's run)."""

    def to_dict(self) -> dict[str, Any]:
        return {name: getattr(self, name) for name in self.__dataclass_fields__}

    def sentence(self) -> str:
        replaced = f"replaced by {self.successor}" if self.successor else "with no successor"
        return f"{self.run_id} retired on {self.retired_on[:10]}, {replaced}: {self.reason}"


@dataclass(frozen=True)
class RetireResult:
    run_id: str
    model: str
    successor: str | None
    changed: bool
    """False when the run had already retired (nothing new was written)."""
    retired: RetiredInfo
    archive: str
    """The archive manifest (workspace-relative)."""
    archived: list[dict[str, Any]] = field(default_factory=list)
    """Each archived file: path in the archive, source, sha256, bytes."""
    rollout: dict[str, Any] | None = None
    """The successor's passed rollout (None with an override)."""
    adr: str | None = None
    repaired: list[str] = field(default_factory=list)
    """Steps a killed earlier attempt had left undone and this one completed."""

    def to_dict(self) -> dict[str, Any]:
        out = {name: getattr(self, name) for name in self.__dataclass_fields__}
        out["retired"] = self.retired.to_dict()
        return out


# ------------------------------------------------------------------------- reading


def _retired_entries(meta: dict[str, Any]) -> list[dict[str, Any]]:
    raw = meta.get("retired")
    return [r for r in raw if isinstance(r, dict)] if isinstance(raw, list) else []


def _info(model: str, entry: dict[str, Any]) -> RetiredInfo:
    return RetiredInfo(
        run_id=str(entry.get("run_id")),
        model=model,
        retired_on=str(entry.get("retired_on") or ""),
        successor=entry.get("successor"),
        successor_model=entry.get("successor_model"),
        reason=str(entry.get("reason") or ""),
        override=entry.get("override"),
        rollout_id=entry.get("rollout_id"),
        adr=entry.get("adr"),
        archive=entry.get("archive"),
        left_tiers=[str(t) for t in entry.get("left_tiers") or []],
    )


def retired_runs(ws: Workspace, model: str) -> dict[str, RetiredInfo]:
    """run id -> its retirement, for every retired run of `model` (plain read of the card)."""
    from core.records.card_store import card_path, read_card

    if not card_path(ws, model).is_file():
        return {}
    try:
        meta = read_card(ws, model).meta
    except FactoryError:
        return {}
    return {str(e.get("run_id")): _info(model, e) for e in _retired_entries(meta)}


def retired_info(ws: Workspace, run_id: str, model: str | None = None) -> RetiredInfo | None:
    """The retirement of `run_id` (when it retired, what replaced it, why), or None when the
    run serves on. `model` saves reading the run's report."""
    if model is None:
        report = read_json(ws.reports_dir / f"{run_id}.json")
        model = str(report.get("model")) if isinstance(report, dict) else None
        if model is None:
            return None
    return retired_runs(ws, model).get(run_id)


def refuse_retired(ws: Workspace, run_id: str, model: str | None = None) -> None:
    """Raise `run_retired` (saying when and what replaced it) for a retired run."""
    info = retired_info(ws, run_id, model)
    if info is None:
        return
    if info.successor:
        hint = (
            f"Score with its successor {info.successor} (`factory predict "
            f"{info.successor_model or info.model} --tier prod`), or see `factory tiers {info.model}`."
        )
    else:
        hint = f"See `factory tiers {info.model}` for the runs that serve."
    raise FactoryError(
        "run_retired",
        info.sentence(),
        hint=hint,
        details=info.to_dict(),
    )


# ------------------------------------------------------------------------- retiring


def _archive_files(
    ws: Workspace, report: dict[str, Any], entry: dict[str, Any] | None
) -> tuple[list[dict[str, Any]], list[str]]:
    """Copy everything of the run into its archive folder; (files, notes)."""
    from core.operations.sunset.succession import rollout_files
    from core.records.adrs import mentions

    run_id = str(report["run_id"])
    folder = run_archive(ws, run_id)
    files: list[dict[str, Any]] = []
    notes: list[str] = []

    def add(name: str, source: Path | None, done: dict[str, Any], kind: str) -> None:
        files.append(
            {
                "path": name,
                "kind": kind,
                "source": relative(ws, source) if source is not None else None,
                **done,
            }
        )

    report_path = ws.reports_dir / f"{run_id}.json"
    add("report.json", report_path, copy_in(report_path, folder / "report.json"), "report")
    add("card-entry.json", None, write_in(folder / "card-entry.json", entry), "card_entry")
    artifact = ws.artifacts_dir / run_id
    if artifact.is_dir():
        for path in sorted(p for p in artifact.rglob("*") if p.is_file()):
            if path.name.startswith("."):
                continue
            name = "model/" + path.relative_to(artifact).as_posix()
            add(name, path, copy_in(path, folder / name), "artifact")
    else:
        notes.append(f"no artifact at {relative(ws, artifact)} (artifacts are not committed)")
    for prefix, key in (
        ("gate", "run_id"),
        ("drift", "reference"),
        ("newdata", "champion"),
        ("degrading", "run_id"),
    ):
        for path in sorted(ws.reports_dir.glob(f"{prefix}-*.json")):
            raw = read_json(path)
            if not isinstance(raw, dict):
                continue
            named = raw.get(key)
            if isinstance(named, dict):
                named = named.get("run_id") or named.get("id")
            if named == run_id:
                name = f"verdicts/{path.name}"
                add(name, path, copy_in(path, folder / name), prefix)
    for name, path in rollout_files(ws, run_id):
        # logs/rollouts/<model>/<rollout>/<file> keeps its folders under rollouts/; a
        # rollout's verdict (reports/rollout-<id>.json) sits beside them.
        logged = name.startswith("logs/rollouts/")
        target = name.removeprefix("logs/") if logged else f"rollouts/{Path(name).name}"
        add(target, path, copy_in(path, folder / target), "rollout")
    links = []
    for found in mentions(ws, [run_id]):
        path = Path(str(found["path"]))
        links.append(
            {
                "number": found["number"],
                "title": found["title"],
                "path": relative(ws, path),
                "sha256": sha256_of(path) if path.is_file() else None,
            }
        )
    add("adr-links.json", None, write_in(folder / "adr-links.json", links), "adr_links")
    return files, notes


def _override_adr(
    ws: Workspace, model: str, run_id: str, successor: str | None, reason: str, override: str
) -> str:
    """The ADR recording a retirement without a passed rollout; found again by its title,
    so a repeated attempt writes no second one."""
    from core.records.adrs import list_adrs, new_adr

    title = f"Retire {model} run {run_id} without a passed rollout"
    for adr in list_adrs(ws).adrs:
        if adr.title == title:
            return adr.path
    adr = new_adr(
        ws,
        title,
        status="accepted",
        context=(
            f"`factory sunset retire {run_id} --override` retired run {run_id} of model {model} "
            + (
                f"in favour of {successor}, which has not passed a rollout"
                if successor
                else "with no successor"
            )
            + f".\n\nReason for retiring: {reason}\n\nReason for the override: {override}"
        ),
        links=[run_id, model, *([successor] if successor else [])],
    )
    return adr.path


def _event_recorded(ws: Workspace, run_id: str, since: str) -> bool:
    from core.foundation.events import line_recorded

    run = f'"run_id":"{run_id}"'.encode()
    return line_recorded(ws, since[:10] or None, b'"event":"sunset.retired"', run)


def _check_not_serving(
    ws: Workspace, model: str, run_id: str, tiers: dict[str, Any], may_leave_tier: bool
) -> list[str]:
    """The tiers the run leaves (its model's tiers empty: a model replaced by another
    model's run, or an override without successor); raises when it may not retire now."""
    from core.operations.sunset.succession import running_rollout_runs

    held = [t for t in ("staging", "prod") if tiers.get(t) == run_id]
    if held and not may_leave_tier:
        raise FactoryError(
            "run_in_use",
            f"{run_id} still holds {' and '.join(held)} of {model}: a serving run does not retire",
            hint=f"Promote its successor first (`factory promote SUCCESSOR --to {held[-1]}`, after "
            "a rollout), then retire it. Only a run of another model (a model replacing this "
            "one) or an override without successor takes a run out of its tier.",
            details={"run_id": run_id, "tiers": held},
        )
    rollout = running_rollout_runs(ws).get(run_id)
    if rollout is not None:
        raise FactoryError(
            "run_in_use",
            f"{run_id} takes part in the running rollout {rollout}",
            hint=f"Let the rollout end, or abort it (`factory rollout abort {model}`), then retire.",
            details={"run_id": run_id, "rollout_id": rollout},
        )
    return held


def retire(
    ws: Workspace,
    run_id: str,
    *,
    successor: str | None,
    reason: str,
    override: str | None = None,
) -> RetireResult:
    """See the module docstring. `run_id` and `successor` are resolved run ids."""
    from core.operations.tier_state import normalize
    from core.records.card_store import read_card, update_card
    from core.records.runs import run_entry

    if not reason or not reason.strip():
        raise UsageError(
            "--reason is required",
            hint='factory sunset retire RUN --successor R --reason "beaten by R on live data"',
        )
    if override is not None and not override.strip():
        raise UsageError(
            "--override needs a reason", hint='--override "the old model serves nothing any more"'
        )
    reason = reason.strip()
    report = load_run(ws, run_id)
    model = str(report.get("model"))
    ws.model(model)
    already = retired_runs(ws, model).get(run_id)
    if already is not None:
        return _finish(ws, report, already, changed=False)

    successor_model: str | None = None
    rollout: dict[str, Any] | None = None
    if successor is not None:
        if successor == run_id:
            raise FactoryError(
                "successor_invalid",
                f"{run_id} cannot succeed itself",
                hint="Name the run that replaces it: --successor R.",
                details={"run_id": run_id},
            )
        successor_report = load_run(ws, successor)
        successor_model = str(successor_report.get("model"))
        if retired_info(ws, successor, successor_model) is not None:
            raise FactoryError(
                "successor_invalid",
                f"{successor} retired itself: it cannot replace {run_id}",
                hint="Name a run that serves.",
                details={"successor": successor},
            )
        from core.operations.sunset.succession import passed_rollout

        rollout = passed_rollout(ws, successor, successor_model)
    if rollout is None and override is None:
        what = (
            f"its successor {successor} has not passed a rollout"
            if successor
            else "it names no successor"
        )
        raise FactoryError(
            "successor_not_rolled_out",
            f"{run_id} may not retire: {what}",
            hint=(
                f"Roll the successor out first (`factory rollout start {successor_model or model} "
                f"--run {successor or 'RUN'} --mode shadow`), or pass --override REASON "
                "(recorded in an ADR)."
            ),
            details={"run_id": run_id, "successor": successor},
        )
    may_leave_tier = successor is None or successor_model != model
    card = read_card(ws, model)
    _check_not_serving(ws, model, run_id, normalize(card.meta), may_leave_tier)

    entry = run_entry(ws, card, run_id)
    files, notes = _archive_files(ws, report, entry)
    crash_point("sunset.after_archive_files", run_id)
    folder = run_archive(ws, run_id)
    manifest_path = folder / "manifest.json"
    retired_on = clock.iso()
    adr = None
    if override is not None:
        adr = _override_adr(ws, model, run_id, successor, reason, override.strip())
    manifest = {
        "schema": ARCHIVE_SCHEMA,
        "kind": "retire",
        "run_id": run_id,
        "model": model,
        "successor": successor,
        "successor_model": successor_model,
        "reason": reason,
        "override": override,
        "rollout": rollout,
        "adr": relative(ws, Path(adr)) if adr else None,
        "archived_at": retired_on,
        "files": files,
        "notes": notes,
    }
    write_in(manifest_path, manifest)
    crash_point("sunset.after_manifest", run_id)
    record = {
        "run_id": run_id,
        "retired_on": retired_on,
        "successor": successor,
        "successor_model": successor_model,
        "reason": reason,
        "override": override,
        "rollout_id": (rollout or {}).get("rollout_id"),
        "adr": relative(ws, Path(adr)) if adr else None,
        "archive": relative(ws, manifest_path),
    }
    outcome: dict[str, Any] = {}

    def mutate(meta: dict[str, Any]) -> None:
        outcome.clear()
        existing = next((e for e in _retired_entries(meta) if e.get("run_id") == run_id), None)
        if existing is not None:
            outcome["entry"] = existing
            return
        tiers = normalize(meta)
        left = _check_not_serving(ws, model, run_id, tiers, may_leave_tier)
        for tier, held in list(tiers["previous"].items()):
            if held == run_id:
                tiers["previous"][tier] = None
        history = [h for h in meta.get("tier_history") or [] if isinstance(h, dict)]
        for tier in left:
            tiers[tier] = None
            history.append(
                {
                    "ts": retired_on,
                    "tier": tier,
                    "run_id": None,
                    "previous_run_id": run_id,
                    "action": "retire",
                    "reason": reason,
                    "gate_id": None,
                    "staging_after": tiers.get("staging"),
                }
            )
        meta["tiers"] = tiers
        meta["retired"] = [*_retired_entries(meta), {**record, "left_tiers": left}]
        history.append(
            {
                "ts": retired_on,
                "tier": "retired",
                "run_id": run_id,
                "previous_run_id": None,
                "action": "retire",
                "reason": reason,
                "gate_id": None,
                "successor": successor,
            }
        )
        meta["tier_history"] = history
        outcome["entry"] = meta["retired"][-1]
        outcome["changed"] = True

    update_card(ws, model, mutate)
    crash_point("sunset.after_card", run_id)
    info = _info(model, outcome["entry"])
    return _finish(ws, report, info, changed=bool(outcome.get("changed")))


def _finish(
    ws: Workspace, report: dict[str, Any], info: RetiredInfo, *, changed: bool
) -> RetireResult:
    """The result, completing what a killed attempt left undone (manifest, event)."""
    run_id = str(report["run_id"])
    folder = run_archive(ws, run_id)
    manifest = read_manifest(folder / "manifest.json")
    repaired: list[str] = []
    if manifest is None:  # pragma: no cover - the card is written only after the manifest
        files, notes = _archive_files(ws, report, None)
        manifest = {
            "schema": ARCHIVE_SCHEMA,
            "kind": "retire",
            "run_id": run_id,
            "model": info.model,
            "successor": info.successor,
            "reason": info.reason,
            "archived_at": info.retired_on,
            "files": files,
            "notes": notes,
        }
        write_in(folder / "manifest.json", manifest)
        repaired.append("manifest")
    if not _event_recorded(ws, run_id, info.retired_on):
        emit(
            ws.events_dir,
            "sunset.retired",
            run_id=run_id,
            model=info.model,
            successor=info.successor,
            reason=info.reason,
            override=info.override,
            adr=info.adr,
            archive=info.archive,
        )
        if not changed:
            repaired.append("event")
    return RetireResult(
        run_id=run_id,
        model=info.model,
        successor=info.successor,
        changed=changed,
        retired=info,
        archive=relative(ws, folder / "manifest.json"),
        archived=list(manifest.get("files") or []),
        rollout=manifest.get("rollout"),
        adr=info.adr,
        repaired=repaired,
    )
