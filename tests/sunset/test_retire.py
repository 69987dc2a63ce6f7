"""`factory sunset retire`: only after the successor passed a rollout (or with an override in
an ADR); archives under `archive/` with a manifest of hashes; `predict` then says when the
run retired and what replaced it."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

from tests.sunset.conftest import passed_rollout


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_retiring_without_a_successor_that_passed_a_rollout_exits_1(su: dict[str, Any]) -> None:
    run, successor = su["run_a"], su["run_s"]
    done = su["run"]("sunset", "retire", run, "--successor", successor, "--reason", "replaced")
    assert done.code == 1, done.stdout + done.stderr
    assert done.doc["error"]["code"] == "successor_not_rolled_out"
    # A rollout that ended aborted is not a pass either.
    passed_rollout(su["ws"], "rain", run, successor, decision="aborted")
    done = su["run"]("sunset", "retire", run, "--successor", successor, "--reason", "replaced")
    assert done.code == 1
    assert done.doc["error"]["code"] == "successor_not_rolled_out"
    no_successor = su["run"]("sunset", "retire", run, "--reason", "old")
    assert no_successor.code == 1
    assert not (su["root"] / "archive").exists()
    card = (su["root"] / "cards" / "rain.md").read_text()
    assert "retired_on" not in card


def test_retire_archives_with_hashes_and_predict_says_what_replaced_it(su: dict[str, Any]) -> None:
    run, successor, root = su["run_a"], su["run_s"], su["root"]
    rollout = passed_rollout(su["ws"], "rain", run, successor)
    logged = root / "logs" / "rollouts" / "rain" / rollout
    logged.mkdir(parents=True)
    (logged / "spec.json").write_text(json.dumps({"stable": run, "challenger": successor}))
    (logged / "state.json").write_text(json.dumps({"status": "passed"}))
    artifact = {p.name: _sha(p) for p in (root / "artifacts" / run).iterdir() if p.is_file()}
    done = su["run"](
        "sunset", "retire", run, "--successor", successor, "--reason", "beaten in the shadow"
    )
    assert done.code == 0, done.stdout + done.stderr
    data = done.doc["data"]
    assert data["retired"]["successor"] == successor
    assert data["retired"]["rollout_id"] == rollout
    assert data["archive"] == f"archive/runs/{run}/manifest.json"
    folder = root / "archive" / "runs" / run
    manifest = json.loads((folder / "manifest.json").read_text())
    assert manifest["schema"] == "factory.archive/1"
    assert manifest["successor"] == successor and manifest["reason"] == "beaten in the shadow"
    kinds = {f["kind"] for f in manifest["files"]}
    assert {"report", "card_entry", "artifact", "rollout", "adr_links"} <= kinds
    for item in manifest["files"]:
        assert _sha(folder / item["path"]) == item["sha256"], item["path"]
    # The rollout's logged folder keeps its layout under rollouts/, its verdict beside it.
    assert {(f["path"], f["source"]) for f in manifest["files"] if f["kind"] == "rollout"} == {
        (f"rollouts/{rollout}.json", f"reports/{rollout}.json"),
        (f"rollouts/rain/{rollout}/spec.json", f"logs/rollouts/rain/{rollout}/spec.json"),
        (f"rollouts/rain/{rollout}/state.json", f"logs/rollouts/rain/{rollout}/state.json"),
    }
    # The archived model files are the artifact's bytes; the report is the committed one.
    archived = {
        Path(f["path"]).name: f["sha256"] for f in manifest["files"] if f["kind"] == "artifact"
    }
    assert archived == artifact
    assert _sha(folder / "report.json") == _sha(root / "reports" / f"{run}.json")
    # Nothing was deleted: the artifact is still where it was.
    assert {p.name for p in (root / "artifacts" / run).iterdir()} >= set(artifact)
    card = (root / "cards" / "rain.md").read_text()
    assert run in card and "retired_on" in card and successor in card
    # predict on the retired run says when it retired and what replaced it (exit 3).
    scored = su["run"]("predict", "rain", "--input", "input.csv", "--tier", "dev", "--run", run)
    assert scored.code == 3, scored.stdout + scored.stderr
    error = scored.doc["error"]
    assert error["code"] == "run_retired"
    retired_on = data["retired"]["retired_on"][:10]
    assert f"retired on {retired_on}" in error["message"] and successor in error["message"]
    assert error["details"]["successor"] == successor
    # Retiring again changes nothing.
    again = su["run"]("sunset", "retire", run, "--successor", successor, "--reason", "again")
    assert again.code == 0
    assert again.doc["data"]["changed"] is False
    assert json.loads((folder / "manifest.json").read_text()) == manifest


def test_an_override_retires_and_is_recorded_in_an_adr(su: dict[str, Any]) -> None:
    run = su["run_b"]
    done = su["run"](
        "sunset", "retire", run, "--reason", "a dead end", "--override", "it never served"
    )
    assert done.code == 0, done.stdout + done.stderr
    adr = su["root"] / done.doc["data"]["adr"]
    text = adr.read_text()
    assert run in text and "it never served" in text and "a dead end" in text
    assert json.loads((su["root"] / done.doc["data"]["archive"]).read_text())["override"] == (
        "it never served"
    )


def test_a_run_that_still_serves_does_not_retire(su: dict[str, Any]) -> None:
    from core.operations.tiers import promote

    run, successor = su["run_a"], su["run_s"]
    promote(su["ws"], run, "staging", override="serves in this test")
    passed_rollout(su["ws"], "rain", run, successor)
    done = su["run"]("sunset", "retire", run, "--successor", successor, "--reason", "replaced")
    assert done.code == 1, done.stdout + done.stderr
    assert done.doc["error"]["code"] == "run_in_use"
    assert not (su["root"] / "archive" / "runs" / run / "manifest.json").exists()


def test_a_retire_killed_at_each_step_is_completed_by_the_next(su: dict[str, Any]) -> None:
    run, successor, root = su["run_a"], su["run_s"], su["root"]
    passed_rollout(su["ws"], "rain", run, successor)
    args = ("sunset", "retire", run, "--successor", successor, "--reason", "replaced")
    for point in ("sunset.after_archive_files", "sunset.after_manifest"):
        killed = su["run"](*args, env={"FACTORY_CRASH_AT": point})
        assert killed.code == -9, (point, killed.stdout, killed.stderr)
        assert "retired_on" not in (root / "cards" / "rain.md").read_text()  # not retired yet
    done = su["run"](*args)
    assert done.code == 0, done.stdout + done.stderr
    assert done.doc["data"]["changed"] is True
    folder = root / "archive" / "runs" / run
    manifest = json.loads((folder / "manifest.json").read_text())
    for item in manifest["files"]:
        assert _sha(folder / item["path"]) == item["sha256"], item["path"]
    assert not [p for p in folder.rglob("*") if p.name.startswith(".")]  # no temporary file left
