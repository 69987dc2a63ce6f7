"""`factory rebuild RUN`: a run's artifact made again from what is committed (its report pins the
snapshot, the component versions and the seed) and installed only when the retrain reproduces
the report: per-fold metrics, out-of-fold predictions and baseline scores all identical. A
fresh clone has the reports but not the artifacts; this is how it gets them without a remote
and without `train --force` rewriting committed files."""

from __future__ import annotations

import shutil
import time
import uuid
from dataclasses import dataclass, field
from typing import Any

from core.foundation.errors import FactoryError
from core.foundation.workspace import Workspace
from core.operations.artifacts import refuse_changed
from core.operations.common import load_run

VERIFIED = ("per-fold metrics", "out-of-fold predictions", "baseline scores")
"""What a rebuilt run must reproduce exactly before its artifact is installed."""


@dataclass(frozen=True)
class RebuildResult:
    run_id: str
    model: str
    status: str
    """`rebuilt` (installed, matches its report), `present` (the artifact was already here:
    nothing done) or `mismatch` (the retrain differs from the report: nothing installed)."""
    snapshot_id: str
    snapshot: str
    """How the pinned snapshot was found: `present`, `pulled` (from the remote) or
    `recreated` (from the dataset's source, which still hashes to the same id)."""
    verified: list[str] = field(default_factory=list)
    differences: list[str] = field(default_factory=list)
    artifact_dir: str | None = None
    seconds: float = 0.0

    def to_dict(self) -> dict[str, Any]:
        return {name: getattr(self, name) for name in self.__dataclass_fields__}


def artifact_complete(ws: Workspace, run_id: str) -> bool:
    folder = ws.artifacts_dir / run_id
    return (folder / "model.cbm").is_file() and (folder / "meta.json").is_file()


def rebuild(ws: Workspace, run_id: str, *, remote: str | None = None) -> RebuildResult:
    from core.experiments.report import RunReport
    from core.experiments.training.retrain import retrain_in_scratch
    from core.foundation.events import emit

    started = time.monotonic()
    raw = load_run(ws, run_id)
    run_id, model, snapshot_id = raw["run_id"], str(raw["model"]), str(raw["snapshot_id"])
    relative = str((ws.artifacts_dir / run_id).relative_to(ws.root))
    if artifact_complete(ws, run_id):
        return RebuildResult(run_id, model, "present", snapshot_id, "present",
                             artifact_dir=relative)  # fmt: skip
    refuse_changed(ws, raw, allow_changed=False)
    how = ensure_snapshot(ws, snapshot_id, str(raw.get("dataset") or ""), remote)
    staging = ws.artifacts_dir / f".rebuild-{run_id}-{uuid.uuid4().hex[:8]}"
    staging.mkdir(parents=True)
    try:
        again = retrain_in_scratch(ws, RunReport.from_dict(raw), install=staging)
        if not again.same_run_id:
            raise FactoryError(
                "rebuild_inputs_changed",
                f"{run_id}: its recipe now gives run {again.new_run_id} (a component's source "
                "or a validation setting changed since it trained); nothing installed",
                hint=f"`factory show {run_id} --full` lists its components; restore them, or "
                f"`factory pull {run_id}` its artifact from a remote.",
                details={"run_id": run_id, "new_run_id": again.new_run_id},
            )
        if not again.identical:
            _emit(emit, ws, run_id, model, "mismatch", again.differences)
            return RebuildResult(
                run_id, model, "mismatch", snapshot_id, how, [], again.differences,
                None, round(time.monotonic() - started, 3),
            )  # fmt: skip
        target = ws.artifacts_dir / run_id
        if target.exists():
            shutil.rmtree(target)  # an incomplete folder (one file of two): never a whole one
        staging.rename(target)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    _emit(emit, ws, run_id, model, "rebuilt", [])
    return RebuildResult(
        run_id, model, "rebuilt", snapshot_id, how, list(VERIFIED), [], relative,
        round(time.monotonic() - started, 3),
    )  # fmt: skip


def _emit(emit: Any, ws: Workspace, run_id: str, model: str, status: str, found: list[str]) -> None:
    emit(ws.events_dir, "rebuild", run_id=run_id, model=model, status=status, differences=found)


def ensure_snapshot(ws: Workspace, snapshot_id: str, dataset: str, remote: str | None) -> str:
    """Make the pinned snapshot available: it is here, or the remote has it, or the dataset's
    source still hashes to the same id. Anything else is refused: training on other data
    would not be this run."""
    from core.data.snapshots import create_snapshot, snapshot_dir
    from core.operations import remote as remotes

    if (snapshot_dir(ws, snapshot_id) / "manifest.json").is_file():
        return "present"
    url = remotes.configured_remote(ws, remote)
    if url is not None:
        pulled = remotes.pull(ws, [("snapshot", snapshot_id)], url)
        if pulled.items and pulled.items[0].status in ("pulled", "present"):
            return "pulled"
    made = create_snapshot(ws, dataset or None, None)
    if made.id == snapshot_id:
        return "recreated"
    raise FactoryError(
        "snapshot_missing",
        f"snapshot {snapshot_id} is not here"
        + (", not in the remote" if url else "")
        + f", and the dataset's source today is snapshot {made.id} (other content)",
        hint=f"`factory pull {snapshot_id}` from a remote that has it, or snapshot the original "
        "file: `factory data snapshot PATH`.",
        details={"snapshot_id": snapshot_id, "source_snapshot_id": made.id},
    )
