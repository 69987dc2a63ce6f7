"""Experiments benchmarks: `factory train` against a bare CatBoost script doing the same
folds (overhead ratio, median of 3, cold processes), and cold `factory status --json` /
`factory runs --json` with 1,000 and 10,000 runs in the workspace.

Run with `python -m bench experiments` (or `make bench`).
"""

from __future__ import annotations

import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
REPEATS = 3
RUN_COUNTS = (1_000, 10_000)
COLD_RUNS = 5

BARE_SCRIPT = r'''
"""What a person would write by hand: the same features, labels, folds and CatBoost fits."""
import sys, time
from datetime import timedelta
import pandas as pd
from catboost import CatBoostClassifier
sys.path.insert(0, sys.argv[3])
from core.components.features.weather_v2 import build as features
from core.components.labels.rain_tomorrow_v2 import build as labels

frame = pd.read_parquet(sys.argv[1]).sort_values("date", kind="mergesort").reset_index(drop=True)
frame["date"] = pd.to_datetime(frame["date"])
X = features(frame, "date", ())
y = labels(frame, "date", ())
cat = [c for c in X.columns if X[c].dtype == object]
keep = y.notna()
day = frame["date"].dt.normalize()
last = day.max()
params = dict(iterations=300, learning_rate=0.05, depth=6, l2_leaf_reg=3.0, random_seed=42,
              thread_count=int(sys.argv[2]), allow_writing_files=False, verbose=False)
for k in range(4):
    test_end = last - timedelta(days=(3 - k) * 90)
    test_start = test_end - timedelta(days=89)
    train_end = test_start - timedelta(days=8)
    tr = keep & (day <= train_end)
    te = keep & (day >= test_start) & (day <= test_end)
    model = CatBoostClassifier(**params)
    model.fit(X[tr], y[tr], cat_features=cat, eval_set=(X[te], y[te]), use_best_model=False)
    model.predict_proba(X[te])
final = CatBoostClassifier(**params)
final.fit(X[keep], y[keep], cat_features=cat)
final.save_model(sys.argv[4])
'''


def _env() -> dict[str, str]:
    env = {**os.environ, "PYTHONPATH": str(REPO), "NO_COLOR": "1"}
    env.pop("FACTORY_WORKSPACE", None)
    return env


def _timed(args: list[str], cwd: Path) -> float:
    started = time.perf_counter()
    subprocess.run(args, cwd=cwd, env=_env(), check=True, capture_output=True)
    return time.perf_counter() - started


def train_overhead(threads: int = 2) -> dict[str, Any]:
    from core.data.snapshots import create_snapshot
    from core.foundation.workspace import Workspace
    from core.foundation.workspace_init import init_workspace

    with tempfile.TemporaryDirectory(prefix="bench-train-") as tmp:
        root = Path(tmp) / "ws"
        init_workspace(root)
        snapshot = create_snapshot(Workspace(root), "weather")
        parquet = root / "data" / "snapshots" / snapshot.id / "data.parquet"
        script = Path(tmp) / "bare.py"
        script.write_text(BARE_SCRIPT)
        factory = [sys.executable, "-m", "core.cli.main", "train", "rain", "--hparams", "h1"]
        factory += ["--features", "weather_v2", "--threads", str(threads), "--force", "--json"]
        bare = [sys.executable, str(script), str(parquet), str(threads), str(REPO)]
        bare.append(str(Path(tmp) / "bare.cbm"))
        _timed(factory, root)  # warm the page cache and create the card once
        factory_times, bare_times = [], []
        for _ in range(REPEATS):
            bare_times.append(_timed(bare, root))
            factory_times.append(_timed(factory, root))
        f, b = statistics.median(factory_times), statistics.median(bare_times)
        return {
            "factory_s": round(f, 3),
            "bare_s": round(b, 3),
            "ratio": round(f / b, 3),
            "target": 1.10,
            "factory_runs_s": [round(t, 3) for t in factory_times],
            "bare_runs_s": [round(t, 3) for t in bare_times],
        }


def generate_runs(root: Path, count: int, template: dict[str, Any]) -> None:
    """`count` runs written through the real writers (report + index summary)."""
    from core.experiments import index
    from core.foundation.atomic import write_json
    from core.foundation.workspace import Workspace

    ws = Workspace(root)
    have = len(list((root / "reports").glob("r-*.json")))
    for n in range(have, count):
        run_id = f"r-{n:012x}"
        model = "rain" if n % 3 else "temp"
        report = {**template, "run_id": run_id, "model": model}
        report["created_at"] = f"2026-{1 + n % 12:02d}-{1 + n % 28:02d}T00:00:{n % 60:02d}.000Z"
        report["primary_metric"] = {**template["primary_metric"], "mean": 0.5 + (n % 997) / 3000}
        write_json(root / "reports" / f"{run_id}.json", report)
        index.write_summary(ws, report)


def cold(args: list[str], root: Path) -> float:
    times = [_timed([sys.executable, "-m", "core.cli.main", *args], root) for _ in range(COLD_RUNS)]
    return statistics.median(times)


def index_speed() -> list[dict[str, Any]]:
    from core.data.snapshots import create_snapshot
    from core.flows.training import train_run
    from core.foundation.stamps import RACY_NS
    from core.foundation.workspace import Workspace
    from core.foundation.workspace_init import init_workspace

    results = []
    with tempfile.TemporaryDirectory(prefix="bench-index-") as tmp:
        root = Path(tmp) / "ws"
        init_workspace(root)
        hparams = root / "components" / "hparams"
        hparams.mkdir(parents=True, exist_ok=True)
        (hparams / "tiny.toml").write_text("iterations = 30\ndepth = 4\n")
        ws = Workspace(root)
        create_snapshot(ws, "weather")
        real = train_run(ws, "rain", hparams="tiny", thread_count=2)
        template = json.loads((root / "reports" / f"{real.run_id}.json").read_text())
        for count in RUN_COUNTS:
            started = time.perf_counter()
            generate_runs(root, count, template)
            generated = time.perf_counter() - started
            # A read within RACY_NS of the last write rescans by design (a folder's mtime
            # cannot tell two writes in one tick apart); measure the workspace at rest.
            time.sleep(RACY_NS / 1e9)
            first = _timed([sys.executable, "-m", "core.cli.main", "runs", "--json"], root)
            results.append(
                {
                    "runs": count,
                    "generate_s": round(generated, 1),
                    "first_runs_json_s": round(first, 3),
                    "status_json_s": round(cold(["status", "--json"], root), 3),
                    "runs_json_s": round(cold(["runs", "--json"], root), 3),
                    "runs_all_json_s": round(cold(["runs", "--all", "--json"], root), 3),
                    "runs_model_json_s": round(cold(["runs", "temp", "--json"], root), 3),
                }
            )
        shutil.rmtree(root, ignore_errors=True)
    return results


def main() -> None:
    overhead = train_overhead()
    print(
        f"train overhead: factory {overhead['factory_s']} s vs bare CatBoost {overhead['bare_s']} s "
        f"= ratio {overhead['ratio']} (target <= {overhead['target']}; median of {REPEATS})"
    )
    for row in index_speed():
        print(
            f"{row['runs']:>6} runs: status --json {row['status_json_s']} s, runs --json "
            f"{row['runs_json_s']} s (newest 1000), runs --all --json {row['runs_all_json_s']} s, "
            f"runs MODEL --json {row['runs_model_json_s']} s "
            f"(first runs --json after generating, compacting: {row['first_runs_json_s']} s; "
            f"targets at 10,000: 0.3 s and 1 s)"
        )


if __name__ == "__main__":
    main()
