"""A run's artifact as it is served: its model file loaded, and whether the code that computes
its predictions (features, architecture) is still the source it trained on."""

from __future__ import annotations

from typing import Any

from core.foundation.errors import FactoryError
from core.foundation.workspace import Workspace
from core.operations.common import read_json


def load_model(ws: Workspace, report: dict[str, Any]) -> tuple[Any, dict[str, Any], Any]:
    from core.components.registry import get_component, load_module

    run_id = report["run_id"]
    folder = ws.artifacts_dir / run_id
    meta = read_json(folder / "meta.json")
    path = folder / "model.cbm"
    if not isinstance(meta, dict) or not path.is_file():
        raise FactoryError(
            "artifact_missing",
            f"{folder}: the model file or meta.json of {run_id} is missing (artifacts are not "
            "committed to git)",
            hint=f"Bring it from the remote with `factory pull {run_id}`, or retrain it from its "
            f"pinned snapshot with `factory rebuild {run_id}` (installed only when it reproduces "
            "the report).",
            details={"run_id": run_id, "dir": str(folder)},
        )
    version = str(
        ((report.get("components") or {}).get("arch") or {}).get("version") or "catboost_v1"
    )
    arch = load_module(get_component(ws, "arch", version))
    loader = getattr(arch, "load", None)
    if loader is not None:
        model = loader(path, report.get("task"))
    else:
        from catboost import CatBoostClassifier, CatBoostRegressor

        model = (
            CatBoostClassifier() if report.get("task") == "classification" else CatBoostRegressor()
        )
        model.load_model(str(path), format="cbm")
    return model, meta, arch


SOURCE_KINDS = ("features", "arch")
"""The components whose code computes a prediction (labels and metrics only score runs)."""


def changed_components(ws: Workspace, report: dict[str, Any]) -> list[dict[str, Any]]:
    """Components of the run whose source today differs from what the run recorded: the
    served predictions would not be the run's."""
    from core.components.registry import get_component

    changed = []
    for kind in SOURCE_KINDS:
        recorded = (report.get("components") or {}).get(kind) or {}
        version, old = recorded.get("version"), recorded.get("hash")
        if not version or not old:
            continue
        try:
            now = get_component(ws, kind, str(version)).hash
        except FactoryError:
            now = None
        if now != old:
            changed.append({"ref": f"{kind}/{version}", "run_hash": old, "current_hash": now})
    return changed


def refuse_changed(
    ws: Workspace, report: dict[str, Any], allow_changed: bool
) -> list[dict[str, Any]]:
    """Refuse (exit 3) a run whose features or architecture code changed since it trained,
    unless `allow_changed`; returns what was allowed, for the log to record."""
    changed = changed_components(ws, report)
    if changed and not allow_changed:
        first = changed[0]
        raise FactoryError(
            "component_changed",
            f"{first['ref']} changed since run {report['run_id']} trained on it (run hash "
            f"{first['run_hash']}, now {first['current_hash'] or 'missing'}): its predictions "
            "would not be the run's",
            hint=f"Restore {first['ref']} (e.g. `git checkout` the file) or train a new run on "
            "the edited code as a new version; --allow-changed scores anyway and logs it.",
            details={"run_id": report["run_id"], "changed": changed},
        )
    return changed
