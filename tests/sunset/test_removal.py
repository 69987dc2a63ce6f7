"""`factory sunset removal-list`: two models share the workspace's `shared_v1` features; one
run of rain also used a private `private_v1`. Retiring that run lists the private version and
not the shared one, `--apply` moves it into archive/ with its hash, and a second `--apply`
changes nothing."""

from __future__ import annotations

import hashlib
import json
from typing import Any

from tests.sunset.conftest import passed_rollout


def _retire_private(su: dict[str, Any]) -> None:
    passed_rollout(su["ws"], "rain", su["run_p"], su["run_s"])
    done = su["run"](
        "sunset", "retire", su["run_p"], "--successor", su["run_s"], "--reason", "replaced"
    )
    assert done.code == 0, done.stdout + done.stderr


def test_the_private_version_is_listed_and_the_shared_one_kept(su: dict[str, Any]) -> None:
    _retire_private(su)
    done = su["run"]("sunset", "removal-list", "rain")
    assert done.code == 0, done.stdout + done.stderr
    data = done.doc["data"]
    assert data["runs"] == [su["run_p"]] and data["model_retired"] is False
    removed = {(i["kind"], i["name"]): i for i in data["remove"]}
    kept = {(i["kind"], i["name"]): i for i in data["keep"]}
    assert ("component", "features/private_v1") in removed
    assert ("component", "features/shared_v1") not in removed
    assert ("component", "features/shared_v1") not in kept  # the retired run never used it
    assert removed[("component", "features/private_v1")]["paths"] == [
        "components/features/private_v1.py"
    ]
    assert ("artifact", f"artifacts/{su['run_p']}") in removed
    # hparams/tiny stays: run A (not retired) used it too, and the list says so.
    assert ("component", "hparams/tiny") in kept
    assert su["run_a"] in kept[("component", "hparams/tiny")]["reason"]
    assert ("config", "[models.rain]") in kept
    assert not (su["root"] / "archive" / "removals").exists()  # a dry run
    assert done.doc["next"][0]["command"] == "factory sunset removal-list rain --apply"


def test_retiring_the_shared_users_run_keeps_the_version_for_the_other_model(
    su: dict[str, Any],
) -> None:
    passed_rollout(su["ws"], "rain", su["run_s"], su["run_a"])
    done = su["run"]("sunset", "retire", su["run_s"], "--successor", su["run_a"], "--reason", "x")
    assert done.code == 0, done.stdout + done.stderr
    listed = su["run"]("sunset", "removal-list", "rain").doc["data"]
    kept = {(i["kind"], i["name"]): i for i in listed["keep"]}
    assert "[models.temp] names it" in kept[("component", "features/shared_v1")]["reason"]
    assert ("component", "features/shared_v1") not in {
        (i["kind"], i["name"]) for i in listed["remove"]
    }


def test_apply_moves_with_hashes_and_a_second_apply_changes_nothing(su: dict[str, Any]) -> None:
    _retire_private(su)
    source = su["root"] / "components" / "features" / "private_v1.py"
    digest = hashlib.sha256(source.read_bytes()).hexdigest()
    done = su["run"]("sunset", "removal-list", "rain", "--apply")
    assert done.code == 0, done.stdout + done.stderr
    data = done.doc["data"]
    assert data["applied"] is True
    assert not source.exists()
    assert (su["root"] / "components" / "features" / "shared_v1.py").is_file()
    manifest = json.loads((su["root"] / data["manifest"]).read_text())
    moved = {f["source"]: f for f in manifest["files"]}
    assert moved["components/features/private_v1.py"]["sha256"] == digest
    folder = (su["root"] / data["manifest"]).parent
    assert (
        hashlib.sha256(
            (folder / moved["components/features/private_v1.py"]["path"]).read_bytes()
        ).hexdigest()
        == digest
    )
    assert not (su["root"] / "artifacts" / su["run_p"]).exists()  # archived copy matched
    before = sorted(p.relative_to(su["root"]) for p in su["root"].rglob("*") if p.is_file())
    again = su["run"]("sunset", "removal-list", "rain", "--apply")
    assert again.code == 0, again.stderr
    assert again.doc["data"]["applied"] is False and again.doc["data"]["remove"] == []
    after = sorted(p.relative_to(su["root"]) for p in su["root"].rglob("*") if p.is_file())
    # Logs and `.factory/` (the index, the compacted lens) are regenerable state.
    durable = ("logs", ".factory")
    assert [p for p in after if not str(p).startswith(durable)] == [
        p for p in before if not str(p).startswith(durable)
    ]
    # The workspace still answers: the runs that stay are listed, the other model is intact.
    runs = su["run"]("runs", "rain")
    assert runs.code == 0, runs.stdout + runs.stderr
    status = su["run"]("status")
    assert status.code == 0, status.stdout + status.stderr


def test_an_apply_killed_mid_way_is_completed_by_the_next(su: dict[str, Any]) -> None:
    _retire_private(su)
    source = su["root"] / "components" / "features" / "private_v1.py"
    killed = su["run"](
        "sunset", "removal-list", "rain", "--apply", env={"FACTORY_CRASH_AT": "removal.after_step"}
    )
    assert killed.code == -9, killed.stdout + killed.stderr
    dry = su["run"]("sunset", "removal-list", "rain")
    assert dry.doc["data"]["pending"]  # the journal of the killed apply
    done = su["run"]("sunset", "removal-list", "rain", "--apply")
    assert done.code == 0, done.stdout + done.stderr
    assert not source.exists()
    assert len(done.doc["data"]["completed"]) == 1  # the killed journal, finished first
    assert done.doc["data"]["remove"] == []
    again = su["run"]("sunset", "removal-list", "rain", "--apply")
    assert again.doc["data"]["applied"] is False and again.doc["data"]["remove"] == []
