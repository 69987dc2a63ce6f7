"""A `promote --override` killed half-way (a real SIGKILL at a named step) is repaired by
the next run of the same command: the card's change gets its ADR and its event, once each,
and the answer says what was repaired instead of a bare `changed: false`. Rollouts end
through the same tier machinery, so their promotions and rollbacks are repaired alike."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

REASON = "hotfix: the prod model is broken"


def _events(root: Path, name: str) -> list[dict[str, Any]]:
    found = []
    for path in sorted((root / "logs" / "events").glob("date=*/*.jsonl")):
        for line in path.read_text().splitlines():
            record = json.loads(line)
            if record.get("event") == name:
                found.append({**record, **(record.get("data") or {})})
    return found


def _adrs_naming(root: Path, change_id: str) -> list[Path]:
    return [p for p in sorted((root / "adrs").glob("*.md")) if change_id in p.read_text()]


@pytest.mark.slow
@pytest.mark.parametrize("step", ["tiers.after_card", "tiers.after_adr", "tiers.after_event"])
def test_a_killed_override_is_completed_by_running_it_again(ro: dict[str, Any], step: str) -> None:
    root, other = ro["root"], ro["other"]
    args = ("promote", other, "--to", "staging", "--override", REASON)
    killed = ro["run"](*args, env={"FACTORY_CRASH_AT": step})
    assert killed.code == -9, killed.stdout + killed.stderr  # SIGKILL, no handler ran
    import frontmatter

    meta = frontmatter.load(root / "cards" / "rain.md").metadata
    assert meta["tiers"]["staging"] == other  # the card changed before the kill
    entry = meta["tier_history"][-1]
    assert entry["action"] == "override" and entry["reason"] == REASON
    change_id = entry["change_id"]
    assert len(_adrs_naming(root, change_id)) == (0 if step == "tiers.after_card" else 1)
    assert list((root / ".factory" / "intents").glob("tc-*.json"))  # the intent survived

    again = ro["run"](*args)
    assert again.code == 0, again.stdout + again.stderr
    data = again.doc["data"]
    assert data["changed"] is False and data["change_id"] == change_id
    # It says what it completed (after the event, only the intent was left to clear).
    assert bool(data["repaired"]) == (step != "tiers.after_event"), data
    assert all(line.startswith(change_id) for line in data["repaired"])
    adrs = _adrs_naming(root, change_id)
    assert len(adrs) == 1 and data["adr"] and Path(data["adr"]).name == adrs[0].name
    overridden = [e for e in _events(root, "tier.overridden") if e.get("change_id") == change_id]
    assert len(overridden) == 1
    assert not list((root / ".factory" / "intents").glob("tc-*.json"))
    # A third run finds nothing left to do and writes nothing.
    third = ro["run"](*args).doc["data"]
    assert third["repaired"] == [] and len(_adrs_naming(root, change_id)) == 1
    assert (
        len([e for e in _events(root, "tier.overridden") if e.get("change_id") == change_id]) == 1
    )


def test_a_rollout_abort_killed_before_its_tier_change_is_finished_by_the_next_tick(
    ro: dict[str, Any],
) -> None:
    ro["run"]("rollout", "start", "rain", "--run", ro["challenger"], "--steps", "50")
    killed = ro["run"](
        "rollout", "abort", "rain", "--reason", "stop", env={"FACTORY_CRASH_AT": "tiers.after_card"}
    )
    assert killed.code == -9
    status = ro["run"]("rollout", "status", "rain").doc["data"]
    assert status["status"] == "aborting"
    finished = ro["run"]("rollout", "tick", "rain")
    view = finished.doc["data"]
    assert view["status"] == "aborted" and view["changed"]
    assert view["tier_change"]["repaired"] or view["tier_change"]["changed"] is False
    rid = view["rollout_id"]
    rollbacks = [e for e in _events(ro["root"], "tier.rolled_back") if e.get("rollout_id") == rid]
    assert len(rollbacks) == 1
    alerts = [a for a in ro["run"]("alerts").doc["data"]["alerts"] if rid in json.dumps(a)]
    assert len(alerts) == 1
    assert len(_events(ro["root"], "rollout.aborted")) == 1
