"""Helpers shared by the operations modules: models, runs, features on arbitrary rows."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

from core.foundation.config import DatasetConfig, ModelConfig
from core.foundation.errors import DataInvalidError, ExitCode, FactoryError
from core.foundation.workspace import Workspace

if TYPE_CHECKING:
    import pandas as pd

TIERS = ("staging", "prod")


def model_config(ws: Workspace, model: str) -> ModelConfig:
    return ws.model(model)


def check_tier(tier: str) -> str:
    if tier not in TIERS:
        raise FactoryError(
            "unknown_tier",
            f"Unknown tier {tier!r}: runs move dev -> staging -> prod",
            hint="Use --to staging or --to prod.",
            exit_code=ExitCode.USAGE,
        )
    return tier


def read_json(path: Path) -> Any:
    try:
        return json.loads(path.read_bytes())
    except (OSError, ValueError):
        return None


def load_run(ws: Workspace, run_ref: str) -> dict[str, Any]:
    """The full report of a run (id or unique prefix)."""
    from core.experiments.index import load_report

    return load_report(ws, run_ref)


def compute_features(
    ws: Workspace, frame: pd.DataFrame, features_version: str, time_column: str, entity: list[str]
) -> pd.DataFrame:
    """Features of every row of `frame` by a features component version, contract checked.

    Rows must be ordered by time; lags and windows use the rows of `frame` only, so callers
    pass enough history before the rows they care about."""
    import pandas as pd

    from core.components.contracts import call_component, categorical_columns, check_module
    from core.components.registry import get_component, load_module

    info = get_component(ws, "features", features_version)
    module = load_module(info)
    check_module("features", info.ref, info.path, module)
    features = call_component(
        info.ref, info.path, module.build, frame.copy(), time_column, tuple(entity)
    )
    if not isinstance(features, pd.DataFrame) or len(features) != len(frame):
        raise FactoryError(
            "component_contract",
            f"{info.path}: build() must return a DataFrame with one row per input row",
            details={"ref": info.ref},
        )
    features = features.reindex(frame.index)
    features.columns = [str(c) for c in features.columns]
    for column in categorical_columns(module, features):
        features[column] = features[column].astype("string").fillna("<missing>").astype(str)
    return features


def validated_file(
    ws: Workspace, dataset: DatasetConfig, source: str
) -> tuple[pd.DataFrame, dict[str, Any], str]:
    """A user's CSV/Parquet file checked against the dataset's schema first: (normalized
    rows, a description, a key naming its content). Invalid data raises with the rows."""
    from core.data.sources import read_source
    from core.data.validation import validate_source

    source_frame = read_source(ws.root, source)
    report, frame = validate_source(ws, dataset, source_frame)
    if not report.ok or frame is None:
        raise DataInvalidError(
            report.summary(),
            hint=f"Fix the rows listed in details, then run the command again (schema "
            f"{dataset.schema or 'none'} of dataset {dataset.name!r}).",
            details=report.to_dict(),
        )
    describe = {
        "kind": "file",
        "id": source_frame.label,
        "path": source_frame.path,
        "sha256": source_frame.sha256,
    }
    return frame, describe, f"file:{source_frame.sha256}"


def newest_snapshot_id(ws: Workspace, dataset: str) -> str | None:
    """The snapshot reaching furthest in time (then the latest created): "the newest data",
    even when an older extract was snapshotted last."""
    from core.data.snapshots import list_manifests

    manifests = list_manifests(ws, dataset)
    if not manifests:
        return None
    newest = max(
        manifests,
        key=lambda m: (str((m.get("time_range") or ["", ""])[1]), str(m.get("created_at") or "")),
    )
    return str(newest["id"])
