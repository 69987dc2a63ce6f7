"""CatBoost: a classifier (Logloss) or a regressor (RMSE) chosen by the model's task.

Categorical columns go to CatBoost natively; nothing is written to disk during training.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

# Keys that belong to factory's training loop, not to the CatBoost constructor.
LOOP_KEYS = ("early_stopping_rounds",)


def make_model(task: str, params: dict[str, Any], seed: int, thread_count: int) -> Any:
    from catboost import CatBoostClassifier, CatBoostRegressor

    options = {k: v for k, v in params.items() if k not in LOOP_KEYS}
    options.update(
        random_seed=seed,
        thread_count=thread_count,
        allow_writing_files=False,
        verbose=False,
    )
    if task == "classification":
        options.setdefault("loss_function", "Logloss")
        return CatBoostClassifier(**options)
    options.setdefault("loss_function", "RMSE")
    return CatBoostRegressor(**options)


def predict(model: Any, features: Any, task: str) -> Any:
    if task == "classification":
        return model.predict_proba(features)[:, 1]
    return model.predict(features)


def save(model: Any, path: Path) -> None:
    model.save_model(str(path), format="cbm")


def curves(model: Any) -> dict[str, Any]:
    """The training loss per iteration on the learn set and on the eval set, if any."""
    evals = model.get_evals_result()
    metric = model.get_params().get("loss_function") or next(iter(evals.get("learn", {})), "loss")
    learn = evals.get("learn", {}).get(metric, [])
    validation = evals.get("validation", {}).get(metric, [])
    return {
        "metric": metric,
        "learn": [float(v) for v in learn],
        "validation": [float(v) for v in validation],
    }


def importance(model: Any) -> list[tuple[str, float]]:
    return [
        (str(name), float(value))
        for name, value in zip(model.feature_names_, model.get_feature_importance(), strict=True)
    ]
