"""Finding, opening and creating a workspace: a folder with `factory.toml`."""

from __future__ import annotations

import os
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

from core.foundation.config import CONFIG_NAME, Config, ModelConfig, load_config
from core.foundation.errors import FactoryError

WORKSPACE_ENV = "FACTORY_WORKSPACE"

DEFAULT_CONFIG = """\
# factory workspace: see README.md for every key.
[workspace]
name = "{name}"
# Your own component versions (features, labels, schemas, hparams, ...) live here.
components = "components"

# The embedded default: Seattle's daily weather 2012-2015, shipped by vega_datasets.
[datasets.weather]
source = "vega:seattle-weather"
time_column = "date"
schema = "weather_v1"

# Will it rain tomorrow?
[models.rain]
dataset = "weather"
task = "classification"
labels = "rain_tomorrow_v2"
metrics = "classification_v1"
primary_metric = "auc"
direction = "maximize"
features = "weather_v2"
hparams = "h1"
arch = "catboost_v1"

# Tomorrow's maximum temperature.
[models.temp]
dataset = "weather"
task = "regression"
labels = "temp_max_tomorrow_v2"
metrics = "regression_v1"
primary_metric = "mae"
direction = "minimize"
features = "weather_v2"
hparams = "h1"
arch = "catboost_v1"

# Walk-forward validation, counted in calendar days.
[validation]
folds = 4
gap_days = 7
test_days = 90
window = "expanding"   # or "sliding" with train_days
seed = 42

[cost]
price_per_cpu_hour = 0.05
currency = "USD"

[gates.staging]
min_delta = 0.0
min_fold_wins = 3
latency_ratio_max = 1.10
cost_per_1000_max = 0.01
require_no_drift = true

[gates.prod]
min_delta = 0.0
min_fold_wins = 3
latency_ratio_max = 1.10
cost_per_1000_max = 0.01
require_no_drift = true

[drift]
share_threshold = 0.5
stattest_threshold = 0.05
min_effect_size = 0.1

[alerts]
# A command that receives each alert as JSON on stdin, e.g. "cat >> alerts.jsonl".
command = ""
"""

GITIGNORE_LINES = ("logs/", "data/snapshots/", "artifacts/", ".factory/", ".*.tmp")


@dataclass(frozen=True)
class Workspace:
    """A workspace on disk and where each kind of file lives in it."""

    root: Path

    @cached_property
    def config(self) -> Config:
        return load_config(self.config_path)

    def model(self, name: str) -> ModelConfig:
        """The `[models.NAME]` table, or an error that lists the models there are."""
        from core.foundation.ids import validate_name

        validate_name(name, "model")
        config = self.config.models.get(name)
        if config is None:
            raise FactoryError(
                "unknown_model",
                f"No model {name!r} in {self.config_path}",
                hint=f"Models: {', '.join(self.config.models) or 'none'}; "
                f"add a [models.{name}] table.",
                details={"model": name, "known": list(self.config.models)},
            )
        return config

    @property
    def config_path(self) -> Path:
        return self.root / CONFIG_NAME

    @property
    def logs_dir(self) -> Path:
        return self.root / "logs"

    @property
    def events_dir(self) -> Path:
        return self.root / "logs" / "events"

    @property
    def inference_dir(self) -> Path:
        return self.root / "logs" / "inference"

    @property
    def snapshots_dir(self) -> Path:
        return self.root / "data" / "snapshots"

    @property
    def artifacts_dir(self) -> Path:
        return self.root / "artifacts"

    @property
    def reports_dir(self) -> Path:
        return self.root / "reports"

    @property
    def cards_dir(self) -> Path:
        return self.root / "cards"

    @property
    def adrs_dir(self) -> Path:
        return self.root / "adrs"

    @property
    def state_dir(self) -> Path:
        """Regenerable local state: indexes, caches, locks (git-ignored)."""
        return self.root / ".factory"

    @property
    def components_dir(self) -> Path:
        return self.root / self.config.components_dir


def find_workspace(start: Path | None = None, explicit: str | None = None) -> Workspace:
    """The workspace named by `explicit`, `FACTORY_WORKSPACE`, or the nearest parent with a
    `factory.toml`."""
    named = explicit or os.environ.get(WORKSPACE_ENV)
    if named:
        root = Path(named).expanduser().resolve()
        if not (root / CONFIG_NAME).is_file():
            raise FactoryError(
                "workspace_not_found",
                f"{root}: no {CONFIG_NAME} here",
                hint=f"Run `factory init {named}` or point --workspace at a workspace.",
                details={"path": str(root)},
            )
        return Workspace(root)
    here = (start or Path.cwd()).resolve()
    for folder in (here, *here.parents):
        if (folder / CONFIG_NAME).is_file():
            return Workspace(folder)
    raise FactoryError(
        "workspace_not_found",
        f"No {CONFIG_NAME} in {here} or any folder above it",
        hint="Run `factory init` here, or pass --workspace DIR (or set FACTORY_WORKSPACE).",
        details={"path": str(here)},
    )
