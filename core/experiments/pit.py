"""`factory check features VERSION`: is a feature set point-in-time correct?

Features computed on history cut at a date must equal, for every row at or before that
date, the features computed on the full history. A feature that peeks at a later row (a
`shift(-1)`, a centred rolling mean, a global normalisation) changes some of those rows.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from core.errors import FactoryError
from core.workspace import Workspace

CUT_QUANTILES = (0.2, 0.4, 0.6, 0.8, 0.95)
MAX_VIOLATIONS = 20
TOLERANCE = 1e-9


@dataclass(frozen=True)
class CutCheck:
    cut: str
    """Rows dated on or before this day were recomputed without the later history."""
    rows: int
    changed_rows: int
    changed_columns: list[str]


@dataclass(frozen=True)
class PitResult:
    features: str
    hash: str
    model: str
    snapshot_id: str
    ok: bool
    cuts: list[CutCheck]
    violations: list[dict[str, Any]] = field(default_factory=list)
    """The first changed cells: cut, row, time, column, full-history and cut-history value."""

    def to_dict(self) -> dict[str, Any]:
        from core.render import to_plain

        return {name: to_plain(getattr(self, name)) for name in self.__dataclass_fields__}


def _model_for(ws: Workspace, version: str, model: str | None) -> str:
    if model is not None:
        return model
    models = ws.config.models
    for name, config in models.items():
        if config.features == version:
            return name
    if not models:
        raise FactoryError(
            "no_model",
            f"{ws.config_path} has no [models.*]: the check needs a model's dataset",
            hint="Add a model to factory.toml, or pass --model.",
        )
    return next(iter(models))


def _plain(value: Any) -> Any:
    if value is None:
        return None
    if hasattr(value, "item"):
        value = value.item()
    if isinstance(value, float) and value != value:
        return None
    return value if isinstance(value, (int, float, bool, str)) else str(value)


def check_point_in_time(
    ws: Workspace, features: str, model: str | None = None, snapshot: str | None = None
) -> PitResult:
    import numpy as np
    import pandas as pd

    from core.components.contracts import call_component
    from core.components.registry import get_component
    from core.data.snapshots import load_snapshot
    from core.experiments.train import _module, _snapshot, model_config

    config = model_config(ws, _model_for(ws, features, model))
    info = get_component(ws, "features", features)
    module = _module(info)
    snapshot_id = _snapshot(ws, config, snapshot)
    dataset = ws.config.datasets[config.dataset]
    time_column, entity = dataset.time_column, tuple(dataset.entity_columns)
    frame = load_snapshot(ws, snapshot_id)
    frame = frame.sort_values(time_column, kind="mergesort").reset_index(drop=True)
    full = call_component(info.ref, info.path, module.build, frame.copy(), time_column, entity)
    days = frame[time_column].dt.normalize()
    unique_days = np.sort(days.unique())
    cuts: list[CutCheck] = []
    violations: list[dict[str, Any]] = []
    picked = sorted({unique_days[int(q * (len(unique_days) - 1))] for q in CUT_QUANTILES})
    for cut in picked:
        keep = (days <= cut).to_numpy()
        partial = call_component(
            info.ref, info.path, module.build, frame[keep].copy(), time_column, entity
        )
        before = full[keep]
        changed = np.zeros(int(keep.sum()), dtype=bool)
        changed_columns: list[str] = []
        for column in full.columns:
            if column not in partial.columns:
                changed_columns.append(str(column))
                changed[:] = True
                continue
            old = before[column].reindex(before.index)
            new = partial[column].reindex(before.index)
            if pd.api.types.is_numeric_dtype(old.dtype) and pd.api.types.is_numeric_dtype(
                new.dtype
            ):
                a = old.to_numpy(dtype=float)
                b = new.to_numpy(dtype=float)
                same = (np.isnan(a) & np.isnan(b)) | (
                    np.abs(a - b) <= TOLERANCE * (1 + np.abs(np.nan_to_num(a)))
                )
            else:
                same = (old.isna() & new.isna()).to_numpy() | (
                    old.astype(str) == new.astype(str)
                ).to_numpy()
            if not same.all():
                changed_columns.append(str(column))
                changed |= ~same
                for position in np.flatnonzero(~same)[: MAX_VIOLATIONS - len(violations)]:
                    row = before.index[position]
                    violations.append(
                        {
                            "cut": str(pd.Timestamp(cut).date()),
                            "row": int(row),
                            "time": str(frame.loc[row, time_column]),
                            "column": str(column),
                            "full_history": _plain(old.iloc[position]),
                            "cut_history": _plain(new.iloc[position]),
                        }
                    )
        cuts.append(
            CutCheck(
                cut=str(pd.Timestamp(cut).date()),
                rows=int(keep.sum()),
                changed_rows=int(changed.sum()),
                changed_columns=changed_columns,
            )
        )
    return PitResult(
        features=info.ref,
        hash=info.hash,
        model=config.name,
        snapshot_id=snapshot_id,
        ok=all(c.changed_rows == 0 for c in cuts),
        cuts=cuts,
        violations=violations,
    )
