"""Artifacts and snapshots come back to a workspace that lacks them (a fresh clone): `push` and
`pull` through a content-addressed remote, every file checked by SHA-256, and `rebuild`, which
installs a retrained artifact only when it reproduces the run's report."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import REPO, run_factory
from tests.operations.conftest import ENV


def _tree(root: Path) -> dict[str, str]:
    """Every file under `root` by its SHA-256 (the committed memory, compared before/after)."""
    return {
        str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }


def _clone(root: Path, target: Path) -> Path:
    """What `git clone` brings: no artifacts, snapshots, logs or private state."""
    shutil.copytree(root, target, symlinks=True)
    for ignored in ("artifacts", "data/snapshots", "logs", ".factory", "predictions"):
        shutil.rmtree(target / ignored, ignore_errors=True)
    return target


def _input_csv(root: Path, snapshot: str, target: Path) -> Path:
    import pandas as pd

    frame = pd.read_parquet(root / "data" / "snapshots" / snapshot / "data.parquet")
    frame.tail(60).to_csv(target, index=False)
    return target


def _staged(ops: dict[str, Any]) -> None:
    promoted = ops["run"]("promote", ops["run_a"], "--to", "staging", "--override", "for remote")
    assert promoted.code == 0, promoted.stdout


@pytest.mark.slow
def test_push_then_pull_into_a_clone_restores_what_predict_needs(
    ops: dict[str, Any], tmp_path: Path
) -> None:
    run, root, a, snapshot = ops["run"], ops["root"], ops["run_a"], ops["snapshot"]
    _staged(ops)
    remote = tmp_path / "remote"
    pushed = run("push", "--remote", str(remote))
    assert pushed.code == 0, pushed.stdout
    counts = pushed.doc["data"]["counts"]
    assert counts == {"pushed": 3}  # two runs' artifacts and one snapshot
    again = run("push", "--remote", str(remote))
    assert again.doc["data"]["counts"] == {"already_pushed": 3}
    assert again.doc["data"]["bytes_moved"] == 0

    clone = _clone(root, tmp_path / "clone")
    got = run_factory("pull", "--remote", str(remote), "--json", cwd=clone, env=ENV)
    assert got.code == 0, got.stdout
    items = {(i["kind"], i["id"]): i["status"] for i in got.doc["data"]["items"]}
    # By default the live tiers' runs and their snapshots: run_b holds no tier.
    assert items == {("run", a): "pulled", ("snapshot", snapshot): "pulled"}
    for sub in (f"artifacts/{a}", f"data/snapshots/{snapshot}"):
        assert _tree(clone / sub) == _tree(root / sub)
    assert not (clone / "artifacts" / ops["run_b"]).exists()
    assert not list((clone / "artifacts").glob(".pull-*"))

    csv = _input_csv(root, snapshot, tmp_path / "rows.csv")
    scored = run_factory(
        "predict", "rain", "--tier", "staging", "--input", str(csv), "--json", cwd=clone, env=ENV
    )
    assert scored.code == 0, scored.stdout
    assert scored.doc["data"]["run_id"] == a

    twice = run_factory("pull", "--remote", str(remote), "--json", cwd=clone, env=ENV)
    assert {i["status"] for i in twice.doc["data"]["items"]} == {"present"}
    assert twice.doc["data"]["bytes_moved"] == 0
    everything = run_factory("pull", "--all", "--remote", str(remote), "--json", cwd=clone, env=ENV)
    statuses = {i["id"]: i["status"] for i in everything.doc["data"]["items"]}
    assert statuses[ops["run_b"]] == "pulled"


def test_pull_checks_every_hash_and_installs_nothing_corrupt(
    ops: dict[str, Any], tmp_path: Path
) -> None:
    run, root, a = ops["run"], ops["root"], ops["run_a"]
    remote = tmp_path / "remote"
    assert run("push", a, "--remote", str(remote)).code == 0
    manifest = json.loads((remote / "runs" / f"{a}.json").read_text())
    model = next(f for f in manifest["files"] if f["name"] == "model.cbm")
    obj = remote / "objects" / model["sha256"][:2] / model["sha256"]
    data = bytearray(obj.read_bytes())
    data[len(data) // 2] ^= 0xFF
    obj.write_bytes(bytes(data))

    clone = _clone(root, tmp_path / "clone")
    got = run_factory("pull", a, "--remote", str(remote), "--json", cwd=clone, env=ENV)
    assert got.code == 3
    assert got.doc["error"]["code"] == "remote_corrupt"
    assert "model.cbm" in got.doc["error"]["message"]
    assert not (clone / "artifacts" / a).exists()
    assert not list((clone / "artifacts").glob(".pull-*"))


def test_a_manifest_naming_a_path_outside_its_folder_is_refused(
    ops: dict[str, Any], tmp_path: Path
) -> None:
    run, root, a = ops["run"], ops["root"], ops["run_a"]
    remote = tmp_path / "remote"
    assert run("push", a, "--remote", str(remote)).code == 0
    path = remote / "runs" / f"{a}.json"
    manifest = json.loads(path.read_text())
    manifest["files"][0]["name"] = "../../factory.toml"
    path.write_text(json.dumps(manifest))
    clone = _clone(root, tmp_path / "clone")
    before = (clone / "factory.toml").read_bytes()
    got = run_factory("pull", a, "--remote", str(remote), "--json", cwd=clone, env=ENV)
    assert got.code == 3 and got.doc["error"]["code"] == "remote_corrupt"
    assert (clone / "factory.toml").read_bytes() == before
    assert not (clone / "artifacts" / a).exists()


def test_a_local_copy_that_differs_is_kept_and_reported(
    ops: dict[str, Any], tmp_path: Path
) -> None:
    run, root, a = ops["run"], ops["root"], ops["run_a"]
    remote = tmp_path / "remote"
    assert run("push", a, "--remote", str(remote)).code == 0
    meta = root / "artifacts" / a / "meta.json"
    meta.write_text(meta.read_text() + "\n")
    edited = meta.read_bytes()
    got = run("pull", a, "--remote", str(remote))
    assert got.code == 1
    item = got.doc["data"]["items"][0]
    assert item["status"] == "conflict" and "meta.json" in item["detail"]
    assert meta.read_bytes() == edited


def test_push_killed_at_any_moment_never_leaves_a_manifest_without_its_objects(
    ops: dict[str, Any], tmp_path: Path
) -> None:
    root = ops["root"]
    remote = tmp_path / "remote"
    env = {**os.environ, "PYTHONPATH": str(REPO), **ENV}
    for delay in (0.15, 0.3, 0.45, 0.6, 0.8):
        proc = subprocess.Popen(
            [sys.executable, "-m", "core.cli.main", "push", "--remote", str(remote), "--json"],
            cwd=root, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip
        time.sleep(delay)
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        for manifest in remote.glob("*/*.json"):
            for f in json.loads(manifest.read_text())["files"]:
                obj = remote / "objects" / f["sha256"][:2] / f["sha256"]
                assert hashlib.sha256(obj.read_bytes()).hexdigest() == f["sha256"]
    done = ops["run"]("push", "--remote", str(remote))
    assert done.code == 0
    assert set(done.doc["data"]["counts"]) <= {"pushed", "already_pushed"}
    clone = _clone(root, tmp_path / "clone")
    got = run_factory("pull", "--all", "--remote", str(remote), "--json", cwd=clone, env=ENV)
    assert got.code == 0 and {i["status"] for i in got.doc["data"]["items"]} == {"pulled"}


def test_no_remote_configured_is_a_clear_error(ops: dict[str, Any]) -> None:
    got = ops["run"]("pull", env={"FACTORY_REMOTE": ""})
    assert got.code == 3
    assert got.doc["error"]["code"] == "remote_missing"
    assert "[remote]" in got.doc["error"]["hint"]


@pytest.mark.slow
def test_rebuild_in_a_clone_installs_an_artifact_that_reproduces_its_report(
    ops: dict[str, Any], tmp_path: Path
) -> None:
    root, a, snapshot = ops["root"], ops["run_a"], ops["snapshot"]
    _staged(ops)
    clone = _clone(root, tmp_path / "clone")
    memory = {d: _tree(clone / d) for d in ("reports", "cards")}
    got = run_factory("rebuild", "rain:staging", "--json", cwd=clone, env=ENV)
    assert got.code == 0, got.stdout
    data = got.doc["data"]
    assert data["run_id"] == a and data["status"] == "rebuilt"
    assert data["snapshot"] == "recreated" and data["snapshot_id"] == snapshot
    assert data["verified"] == ["per-fold metrics", "out-of-fold predictions", "baseline scores"]
    assert {d: _tree(clone / d) for d in ("reports", "cards")} == memory
    assert sorted(p.name for p in (clone / "artifacts").iterdir()) == [a]

    csv = _input_csv(root, snapshot, tmp_path / "rows.csv")
    args = ("predict", "rain", "--tier", "staging", "--input", str(csv), "--no-log", "--json")
    rebuilt = run_factory(*args, "--output", str(tmp_path / "a.csv"), cwd=clone, env=ENV)
    original = run_factory(*args, "--output", str(tmp_path / "b.csv"), cwd=root, env=ENV)
    assert rebuilt.code == 0 and original.code == 0
    assert (tmp_path / "a.csv").read_text() == (tmp_path / "b.csv").read_text()

    again = run_factory("rebuild", a, "--json", cwd=clone, env=ENV)
    assert again.doc["data"]["status"] == "present"


@pytest.mark.slow
def test_rebuild_installs_nothing_when_the_retrain_differs_from_the_report(
    ops: dict[str, Any], tmp_path: Path
) -> None:
    root, a = ops["root"], ops["run_a"]
    clone = _clone(root, tmp_path / "clone")
    path = clone / "reports" / f"{a}.json"
    report = json.loads(path.read_text())
    first = report["folds"][0]["metrics"]
    name = sorted(first)[0]
    first[name] = float(first[name]) + 0.01  # the report now claims another result
    path.write_text(json.dumps(report, indent=2))
    got = run_factory("rebuild", a, "--json", cwd=clone, env=ENV)
    assert got.code == 1, got.stdout
    assert got.doc["data"]["status"] == "mismatch"
    assert got.doc["data"]["differences"] == ["per-fold metrics"]
    assert not (clone / "artifacts" / a).exists()
    assert not list(clone.glob("artifacts/.rebuild-*"))


def test_rebuild_refuses_a_snapshot_the_source_no_longer_gives(
    ops: dict[str, Any], tmp_path: Path
) -> None:
    root, a, snapshot = ops["root"], ops["run_a"], ops["snapshot"]
    clone = _clone(root, tmp_path / "clone")
    other = _input_csv(root, snapshot, tmp_path / "other.csv")  # 60 rows: other content
    config = clone / "factory.toml"
    config.write_text(config.read_text().replace('"vega:seattle-weather"', json.dumps(str(other))))
    got = run_factory("rebuild", a, "--json", cwd=clone, env={**ENV, "FACTORY_REMOTE": ""})
    assert got.code == 3
    assert got.doc["error"]["code"] == "snapshot_missing"
    assert snapshot in got.doc["error"]["message"]
    assert not (clone / "artifacts" / a).exists()
