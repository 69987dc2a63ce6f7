"""What a run is made of: model, snapshot, component versions (and their source hashes),
hyperparameters, seed and validation settings. Their hash is the run id
(adrs/0008-run-ids-from-inputs.md), so the same inputs give the same run."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from core.components.registry import ComponentInfo, get_component, load_hparams
from core.data.snapshots import snapshot_for
from core.experiments.walkforward import validation_settings
from core.foundation.config import ModelConfig
from core.foundation.errors import UsageError
from core.foundation.ids import hash_inputs
from core.foundation.workspace import Workspace

COMPONENT_KINDS = ("features", "labels", "hparams", "arch", "metrics")
PLAN_KINDS = ("features", "labels", "hparams", "arch")


@dataclass(frozen=True)
class RunInputs:
    """Everything a run's result depends on; its hash is the run id."""

    model: ModelConfig
    snapshot_id: str
    components: dict[str, ComponentInfo]
    hparams: dict[str, Any]
    seed: int
    validation: dict[str, Any]
    time_column: str
    entity_columns: list[str]

    def hashed(self) -> dict[str, Any]:
        return {
            "model": self.model.name,
            "task": self.model.task,
            "snapshot_id": self.snapshot_id,
            "components": {k: [c.version, c.hash] for k, c in sorted(self.components.items())},
            "hparams": self.hparams,
            "seed": self.seed,
            "validation": self.validation,
            "time_column": self.time_column,
            "entity_columns": self.entity_columns,
        }

    @property
    def run_id(self) -> str:
        return "r-" + hash_inputs(self.hashed())

    @property
    def early_stopping_rounds(self) -> int | None:
        rounds = self.hparams.get("early_stopping_rounds")
        return int(rounds) if isinstance(rounds, int) and rounds > 0 else None


def model_config(ws: Workspace, model: str) -> ModelConfig:
    return ws.model(model)


def choose_components(
    config: ModelConfig,
    chosen: dict[str, str | None],
    plan: dict[str, str] | None = None,
    plan_id: str | None = None,
) -> dict[str, str]:
    """Component versions: factory.toml's, then the plan's (`plan`: kind -> version), then the
    flags (which must not contradict the plan)."""
    versions = {kind: getattr(config, kind) for kind in PLAN_KINDS}
    if plan is not None:
        for kind, version in plan.items():
            if kind in versions:
                versions[kind] = version
        clashes = {
            k: (v, versions[k]) for k, v in chosen.items() if v is not None and v != versions[k]
        }
        if clashes:
            raise UsageError(
                f"--plan {plan_id} pins "
                + ", ".join(f"{k}={b} (flag says {a})" for k, (a, b) in clashes.items()),
                hint="Drop the component flags, or record a new plan with `factory plan`.",
            )
    for kind, pinned in chosen.items():
        if pinned is not None:
            versions[kind] = pinned
    versions["metrics"] = config.metrics
    return versions


def resolve_inputs(
    ws: Workspace,
    model: str,
    *,
    features: str | None = None,
    labels: str | None = None,
    hparams: str | None = None,
    arch: str | None = None,
    snapshot: str | None = None,
    plan: dict[str, str] | None = None,
    plan_id: str | None = None,
) -> RunInputs:
    """What a `train` call would train, without training (the run id is known here). `plan`
    holds the component versions a recorded plan pins (`core.flows.training` reads it)."""
    config = model_config(ws, model)
    versions = choose_components(
        config,
        {"features": features, "labels": labels, "hparams": hparams, "arch": arch},
        plan,
        plan_id,
    )
    components = {kind: get_component(ws, kind, versions[kind]) for kind in COMPONENT_KINDS}
    hparam_values = load_hparams(components["hparams"], config.task)
    snapshot_id = snapshot_for(ws, config, snapshot)
    dataset = ws.config.datasets[config.dataset]
    return RunInputs(
        model=config,
        snapshot_id=snapshot_id,
        components=components,
        hparams=dict(hparam_values),
        seed=ws.config.validation.seed,
        validation=validation_settings(ws.config.validation),
        time_column=dataset.time_column,
        entity_columns=list(dataset.entity_columns),
    )
