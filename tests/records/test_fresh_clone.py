"""The repository is itself a workspace: a fresh `git clone` (no logs/, data/ or artifacts/)
still tells its history from the committed memory, and its prod model scores again after
`factory rebuild`, without a committed file changing."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from tests.conftest import REPO, run_factory

ENV = {"FACTORY_THREADS": "2", "FACTORY_REMOTE": ""}


@pytest.fixture(scope="module")
def clone(tmp_path_factory: pytest.TempPathFactory) -> Path:
    target = tmp_path_factory.mktemp("clone") / "factory"
    subprocess.run(["git", "clone", "--quiet", str(REPO), str(target)], check=True)
    for ignored in ("logs", "data/snapshots", "artifacts"):
        assert not (target / ignored).exists()
    return target


def _status(root: Path) -> str:
    return subprocess.run(
        ["git", "status", "--porcelain", "--untracked-files=no"],
        cwd=root, capture_output=True, text=True, check=True,
    ).stdout  # fmt: skip


def test_history_of_a_fresh_clone_tells_the_day_from_committed_memory(clone: Path) -> None:
    prod = run_factory("tiers", "rain", "--json", cwd=clone, env=ENV).doc["data"]["tiers"]["prod"]
    report = json.loads((clone / "reports" / f"{prod}.json").read_text())
    day = report["created_at"][:10]
    doc = run_factory("history", "--on", day, "--json", cwd=clone, env=ENV).doc
    assert doc["ok"] and doc["data"]["total_sessions"] >= 1
    lines = [line for s in doc["data"]["sessions"] for line in s["lines"]]
    assert {line["source"] for line in lines} == {"memory"}
    runs = {line["fields"].get("run_id") for line in lines if line["event"] == "run.finished"}
    assert prod in runs
    assert any(line["event"] == "gate.evaluated" for line in lines)
    promoted = [line for line in lines if line["event"].startswith("tier.")]
    assert any(line["fields"].get("run_id") == prod for line in promoted)


@pytest.mark.slow
def test_the_prod_model_of_a_fresh_clone_scores_after_rebuild(clone: Path, tmp_path: Path) -> None:
    rows = tmp_path / "rows.csv"
    from vega_datasets import data

    data.seattle_weather().tail(40).to_csv(rows, index=False)
    missing = run_factory("predict", "rain", "--input", str(rows), "--json", cwd=clone, env=ENV)
    assert missing.code == 3 and missing.doc["error"]["code"] == "artifact_missing"

    built = run_factory("rebuild", "rain:prod", "--json", cwd=clone, env=ENV)
    assert built.code == 0, built.stdout
    assert built.doc["data"]["status"] == "rebuilt"
    assert built.doc["data"]["snapshot"] == "recreated"
    scored = run_factory("predict", "rain", "--input", str(rows), "--json", cwd=clone, env=ENV)
    assert scored.code == 0, scored.stdout
    assert scored.doc["data"]["run_id"] == built.doc["data"]["run_id"]
    assert _status(clone) == ""  # no committed file was rewritten
