"""Plans, expectations, `why` and `effects` on real (tiny) CatBoost runs, and the demo."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest

from core.foundation.workspace import Workspace
from tests.conftest import run_factory

pytestmark = pytest.mark.slow

TINY = "# Tiny trees for tests.\niterations = 30\nlearning_rate = 0.1\ndepth = {depth}\nl2_leaf_reg = 3.0\n"
ENV = {"FACTORY_THREADS": "2"}


@pytest.fixture(scope="module")
def trained(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """Three tiny rain runs: weather_v1 (d4), weather_v2 (d4, from a plan), weather_v2 (d6)."""
    from core.foundation.workspace_init import init_workspace

    root = tmp_path_factory.mktemp("records") / "ws"
    init_workspace(root)
    hparams = root / "components" / "hparams"
    hparams.mkdir(parents=True, exist_ok=True)
    config = root / "factory.toml"
    config.write_text(
        config.read_text().replace("seed = 42", "seed = 42\nleak_check_budget_s = 1.0")
    )
    (hparams / "tiny.toml").write_text(TINY.format(depth=4))
    (hparams / "tiny_d6.toml").write_text(TINY.format(depth=6))

    def train(*args: str) -> dict[str, Any]:
        ran = run_factory("train", "rain", *args, "--json", cwd=root, env=ENV)
        assert ran.code == 0, ran.stderr
        return ran.doc["data"]

    base = train("--features", "weather_v1", "--hparams", "tiny")
    planned = run_factory(
        "plan", "rain", "--features", "weather_v2", "--hparams", "tiny",
        "--intent", "lags should carry tomorrow's rain", "--expect", "beats best", "--json",
        cwd=root,
    )  # fmt: skip
    assert planned.code == 0, planned.stderr
    plan_id = planned.doc["data"]["plan_id"]
    lagged = train("--plan", plan_id)
    # No --plan: the run still carries out the open plan with the same components.
    high = run_factory(
        "plan", "rain", "--features", "weather_v2", "--hparams", "tiny_d6",
        "--intent", "deeper trees", "--expect", "auc > 0.99", "--json", cwd=root,
    )  # fmt: skip
    deep = train("--features", "weather_v2", "--hparams", "tiny_d6")
    return {
        "root": root,
        "base": base["run_id"],
        "lagged": lagged["run_id"],
        "deep": deep["run_id"],
        "plan_id": plan_id,
        "high_plan": high.doc["data"]["plan_id"],
    }


def _report(root: Path, run_id: str) -> dict[str, Any]:
    return json.loads((root / "reports" / f"{run_id}.json").read_text())


def _fold_auc(report: dict[str, Any]) -> list[float]:
    return [fold["metrics"]["auc"] for fold in report["folds"]]


def test_plan_train_verdict_on_the_card(trained: dict[str, Any]) -> None:
    from core.records.card_store import read_card
    from core.records.plans import get_plan

    ws = Workspace(trained["root"])
    plan = get_plan(ws, trained["plan_id"])
    assert plan.status == "trained" and plan.run_id == trained["lagged"]
    assert plan.verdict is not None
    deltas = [
        a - b
        for a, b in zip(
            _fold_auc(_report(ws.root, trained["lagged"])),
            _fold_auc(_report(ws.root, trained["base"])),
            strict=True,
        )
    ]
    check = plan.verdict["checks"][0]
    assert check["run_a"] == trained["base"]
    assert check["mean_delta"] == pytest.approx(sum(deltas) / len(deltas), abs=1e-6)
    # beats best: holds on better, fails on worse, cannot be told on inconclusive.
    assert plan.verdict["held"] is {"better": True, "worse": False}.get(check["verdict"])
    assert check["method"] == "delong-folds"

    high = get_plan(ws, trained["high_plan"])
    assert high.run_id == trained["deep"]
    assert high.verdict is not None and high.verdict["held"] is False
    assert "expected > 0.99" in high.verdict["reason"]

    card = read_card(ws, "rain")
    assert [e["run_id"] for e in card.entries] == [
        trained["base"],
        trained["lagged"],
        trained["deep"],
    ]
    entry = card.entries[1]
    assert entry["plan_id"] == trained["plan_id"]
    assert entry["components"]["features"] == "weather_v2"
    assert entry["metric"]["name"] == "auc" and 0.4 < entry["metric"]["mean"] < 1.0
    assert entry["expectation"]["plan_id"] == trained["plan_id"]
    assert "reproducibility" not in entry  # per-run detail stays in the report


def test_retrain_is_idempotent_on_the_card(trained: dict[str, Any], tmp_path: Path) -> None:
    root = tmp_path / "ws"
    shutil.copytree(trained["root"], root)
    ran = run_factory("train", "rain", "--plan", trained["plan_id"], "--json", cwd=root, env=ENV)
    assert ran.code == 0 and ran.doc["data"]["reused"] is True
    text = (root / "cards" / "rain.md").read_text()
    assert text.count(f"- run_id: {trained['lagged']}") == 1
    reworded = run_factory(
        "plan", "rain", "--features", "weather_v2", "--hparams", "tiny",
        "--intent", "lags should carry tomorrow's rain", "--expect", "auc >= 0.5", "--json",
        cwd=root,
    )  # fmt: skip
    assert reworded.code == 2 and reworded.doc["error"]["code"] == "plan_already_trained"
    assert (root / "cards" / "rain.md").read_text() == text


def test_why_component(trained: dict[str, Any], tmp_path: Path) -> None:
    root = tmp_path / "ws"
    shutil.copytree(trained["root"], root)
    note = run_factory(
        "note", trained["base"], "weather_v1 misses the pressure trend",
        "--next", "add pressure deltas", "--json", cwd=root,
    )  # fmt: skip
    assert note.code == 0, note.stderr
    adr = run_factory(
        "adr", "new", "Reject features/weather_v1 for rain", "--status", "accepted", cwd=root
    )
    assert adr.code == 0, adr.stderr
    ran = run_factory("why", "features/weather_v1", "--json", cwd=root)
    assert ran.code == 0, ran.stderr
    data = ran.doc["data"]
    assert [r["run_id"] for r in data["runs"]] == [trained["base"]]
    assert data["runs"][0]["verdict"] == "no baseline"  # nothing earlier to compare with
    assert [n["text"] for n in data["notes"]] == ["weather_v1 misses the pressure trend"]
    assert [a["number"] for a in data["adrs"]] == [1]

    v2 = run_factory("why", "features/weather_v2", "--json", cwd=root).doc["data"]
    assert [r["run_id"] for r in v2["runs"]] == [trained["lagged"], trained["deep"]]
    first = v2["runs"][0]
    assert first["baseline_run_id"] == trained["base"]
    assert first["baseline_version"] == "weather_v1" and first["differs_in"] == ["features"]
    assert first["one_factor"] is True and first["comparison"]["comparable"] is True
    assert first["verdict"] in {"better", "worse", "inconclusive"}
    assert [p["plan_id"] for p in v2["plans"]] == [trained["plan_id"], trained["high_plan"]]
    assert sum(v2["tally"].values()) == 2

    unknown = run_factory("why", "weather_v2", "--json", cwd=root)
    assert unknown.code == 2
    typo = run_factory("why", "features/weather_v22", "--json", cwd=root)
    assert typo.code == 3 and typo.doc["error"]["code"] == "unknown_component"
    assert "weather_v2" in typo.doc["error"]["hint"]


def test_effects_from_one_factor_pairs(trained: dict[str, Any]) -> None:
    ran = run_factory("effects", "rain", "--json", cwd=trained["root"])
    assert ran.code == 0, ran.stderr
    data = ran.doc["data"]
    assert data["runs"] == 3 and data["pairs"] == 2  # base-deep differs in two things
    by_factor = {e["factor"]: e for e in data["effects"]}
    assert set(by_factor) == {"features", "hparams.depth"}
    features = by_factor["features"]
    assert features["change"] == "weather_v1 -> weather_v2" and features["pairs"] == 1
    assert features["runs"] == [[trained["base"], trained["lagged"]]]
    root = trained["root"]
    deltas = [
        a - b
        for a, b in zip(
            _fold_auc(_report(root, trained["lagged"])),
            _fold_auc(_report(root, trained["base"])),
            strict=True,
        )
    ]
    assert features["mean_delta"] == pytest.approx(sum(deltas) / 4, abs=1e-6)
    low, high = features["interval"]
    assert low <= features["improvement"] <= high
    expected = "helps" if low > 0 else "hurts" if high < 0 else "inconclusive"
    assert features["verdict"] == expected and features["pair_verdicts"] == [expected]
    assert by_factor["hparams.depth"]["change"] == "4 -> 6"
    sizes = [abs(e["mean_delta"]) for e in data["effects"]]
    assert sizes == sorted(sizes, reverse=True)

    missing = run_factory("effects", "snow", "--json", cwd=root)
    assert missing.code == 3 and missing.doc["error"]["code"] == "unknown_model"


def test_demo_end_to_end(tmp_path: Path) -> None:
    from core.foundation.workspace_init import init_workspace

    target = tmp_path / "demo"
    outer = tmp_path / "outer"  # run from inside another workspace: it must not log the demo
    init_workspace(outer)
    ran = run_factory("demo", str(target), "--json", cwd=outer, env=ENV, timeout=300)
    assert ran.code == 0, ran.stderr
    assert not list(outer.glob("logs/events/**/*.jsonl"))
    logged = [
        json.loads(line)
        for path in target.glob("logs/events/**/*.jsonl")
        for line in path.read_text().splitlines()
    ]
    assert any(e.get("event") == "command" and e.get("command") == "demo" for e in logged)
    assert ran.stdout.lstrip().startswith("{")  # narration stays on stderr
    assert "demo: snapshot" in ran.stderr
    data = ran.doc["data"]
    runs = data["runs"]
    assert {r["model"] for r in runs} == {"rain", "temp"} and len(runs) == 7
    assert {r["components"]["features"] for r in runs} == {"weather_v1", "weather_v2"}
    assert len({r["run_id"] for r in runs}) == 7
    assert all(r["expectation"] is not None for r in runs)
    assert {c["model"] for c in data["comparisons"]} == {"rain", "temp"}
    assert data["effects"]["rain"] and data["effects"]["temp"]
    assert data["adr"].startswith("adrs/") and (target / data["adr"]).is_file()
    # The demo's suggestions name its workspace, so they run from the folder it ran in.
    assert f"factory --workspace {target} status" in [n["command"] for n in ran.doc["next"]]
    for model in ("rain", "temp"):
        card = (target / "cards" / f"{model}.md").read_text()
        assert "weather_v2 against weather_v1" in card
    status = run_factory("status", "--json", cwd=target)
    assert status.code == 0
    rain = next(m for m in status.doc["data"]["models"] if m["name"] == "rain")
    # A stopped story trains no retrain: say why rather than only that a run is missing.
    assert data["story_stopped"] is None, data["story_stopped"]
    # The 4 planned runs and the story's: day-one, challenger, the retrain on newer data.
    assert rain["next_ideas"] and rain["card"]["run_count"] == 7
    _assert_story(target, data)

    adrs = sorted(p.name for p in (target / "adrs").glob("*.md"))
    again = run_factory("demo", str(target), "--json", cwd=tmp_path, env=ENV, timeout=300)
    assert again.code == 0, again.stderr
    assert all(r["reused"] for r in again.doc["data"]["runs"])
    story = {s["step"]: s for s in again.doc["data"]["story"]}
    assert all(story[k]["reused"] for k in ("served", "shadowed", "canaried", "retired"))
    assert sorted(p.name for p in (target / "adrs").glob("*.md")) == adrs
    assert (target / "cards" / "rain.md").read_text().count("note_id:") == 1

    busy = tmp_path / "busy"
    busy.mkdir()
    (busy / "thesis.tex").write_text("mine")
    refused = run_factory("demo", str(busy), "--json", cwd=tmp_path)
    assert refused.code == 3 and refused.doc["error"]["code"] == "demo_target_not_empty"
    assert sorted(p.name for p in busy.iterdir()) == ["thesis.tex"]


def _assert_story(target: Path, data: dict[str, Any]) -> None:
    """Each step of the demo's loop happened, in the workspace's own files and commands."""
    import hashlib

    from core.foundation.workspace import Workspace
    from core.records.card_store import read_card

    assert data["story_stopped"] is None, data["story_stopped"]
    steps = data["story"]
    by_step: dict[str, list[dict[str, Any]]] = {}
    for step in steps:
        by_step.setdefault(step["step"], []).append(step)
        assert step["command"].startswith(f"factory --workspace {target} ")
    assert set(by_step) >= {
        "trained", "gated", "promoted", "served", "shadowed", "canaried", "new data",
        "outcomes", "degrading", "retrained", "new-data", "retired", "predict retired",
    }  # fmt: skip
    day_one, challenger = (s["numbers"]["run_id"] for s in by_step["trained"])
    # The first snapshot ends before the newer data: the retrain is on another snapshot.
    retrained = run_factory("runs", "rain", "--json", cwd=target).doc["data"]
    snapshots = {r["run_id"]: r.get("snapshot_id") for r in retrained["runs"]}
    new = by_step["new data"][0]["numbers"]["snapshot_id"]
    assert snapshots[by_step["retrained"][0]["numbers"]["run_id"]] == new
    assert snapshots[day_one] == data["snapshot_id"] != new
    # The staged cause is said, in the answer, on the steps it stands on and in the ADR.
    assert "inches" in data["staged"] and data["story_adr"]
    assert by_step["degrading"][0]["staged"] and not by_step["canaried"][0]["staged"]
    adr = (target / data["story_adr"]).read_text()
    assert "staged" in adr and "inches" in adr

    # Promoted, then moved out of prod by the canary, as the card's tier history says.
    history = read_card(Workspace(target), "rain").meta["tier_history"]
    canary = by_step["canaried"][0]["numbers"]
    assert any(h["run_id"] == day_one and h["tier"] == "prod" for h in history)
    by_rollout = [h for h in history if h.get("rollout_id") == canary["rollout_id"]]
    assert by_rollout and by_rollout[0]["run_id"] == challenger
    assert canary["decision"] == "promoted" and (target / canary["report"]).is_file()
    verdict = json.loads((target / canary["report"]).read_text())
    assert verdict["decision"] == "promoted" and verdict["challenger"] == challenger
    assert by_step["shadowed"][0]["verdict"] == "passed"

    # Served: the inference log holds the engine's online lines of both runs.
    online: dict[str, int] = {}
    for path in target.glob("logs/inference/date=*/*.jsonl"):
        for raw in path.read_text().splitlines():
            line = json.loads(raw)
            if line.get("mode") == "online" and line.get("status", "ok") == "ok":
                online[line["run_id"]] = online.get(line["run_id"], 0) + 1
    assert online.get(day_one, 0) >= 100 and online.get(challenger, 0) >= 100

    # Degrading: what the demo reports is what the check itself says, run again here.
    check = run_factory("check", "degrading", "rain", "--json", cwd=target)
    said = by_step["degrading"][0]
    assert check.doc["data"]["verdict"] == said["verdict"]
    assert check.doc["data"]["labelled"] == said["numbers"]["labelled"]
    assert check.code == (1 if said["verdict"] == "degrading" else 0)

    # Retired: an archive manifest whose hashes match, and predict says what replaced it.
    retired = by_step["retired"][0]["numbers"]
    assert retired["run_id"] == day_one and retired["successor"] == challenger
    manifest_path = target / retired["archive"]
    manifest = json.loads(manifest_path.read_text())
    assert manifest["files"]
    for entry in manifest["files"]:
        body = (manifest_path.parent / entry["path"]).read_bytes()
        assert hashlib.sha256(body).hexdigest() == entry["sha256"], entry["path"]
    feed = next(target.glob("data/*feed*.csv")).relative_to(target)
    refused = run_factory(
        "predict", "rain", "--input", str(feed), "--tier", "dev", "--run", day_one, "--json",
        cwd=target,
    )  # fmt: skip
    assert refused.code == 3 and refused.doc["error"]["code"] == "run_retired"
    assert challenger in refused.doc["error"]["message"]
    assert by_step["predict retired"][0]["verdict"] == "run_retired"
