"""`factory plan`, `factory card`, `factory cards` through the real command."""

from __future__ import annotations

from pathlib import Path

from core.foundation.workspace import Workspace
from tests.conftest import run_factory


def test_plan_defaults_validation_and_idempotence(ws: Workspace) -> None:
    args = ["plan", "rain", "--features", "weather_v1", "--intent", "same-day values only",
            "--expect", "auc >= 0.6", "--json"]  # fmt: skip
    first = run_factory(*args, cwd=ws.root)
    assert first.code == 0, first.stderr
    plan = first.doc["data"]
    assert plan["plan_id"].startswith("p-") and plan["status"] == "planned"
    # Unnamed components default to the model's factory.toml values.
    assert plan["components"] == {
        "features": "weather_v1", "labels": "rain_tomorrow_v2", "hparams": "h1", "arch": "catboost_v1",
    }  # fmt: skip
    assert f"factory train rain --plan {plan['plan_id']}" in [
        n["command"] for n in first.doc["next"]
    ]
    again = run_factory(*args, cwd=ws.root)
    assert again.doc["data"]["plan_id"] == plan["plan_id"]

    card = run_factory("card", "rain", "--json", cwd=ws.root)
    assert [p["plan_id"] for p in card.doc["data"]["plans"]] == [plan["plan_id"]]
    assert "same-day values only" in card.doc["data"]["body"]

    status = run_factory("status", "--json", cwd=ws.root)
    rain = next(m for m in status.doc["data"]["models"] if m["name"] == "rain")
    assert [p["plan_id"] for p in rain["open_plans"]] == [plan["plan_id"]]
    assert f"factory train rain --plan {plan['plan_id']}" in [
        n["command"] for n in status.doc["next"]
    ]

    unknown = run_factory(
        "plan", "rain", "--features", "weather_v9", "--intent", "x", "--json", cwd=ws.root
    )
    assert unknown.code == 3 and unknown.doc["error"]["code"] == "unknown_component"
    assert "weather_v2" in unknown.doc["error"]["hint"]
    no_model = run_factory("plan", "snow", "--intent", "x", "--json", cwd=ws.root)
    assert no_model.code == 3 and no_model.doc["error"]["code"] == "unknown_model"
    missing_intent = run_factory("plan", "rain", "--json", cwd=ws.root)
    assert missing_intent.code == 2

    listed = run_factory("cards", "--json", cwd=ws.root)
    cards = {c["model"]: c for c in listed.doc["data"]["cards"]}
    assert cards["rain"]["exists"] is True and cards["temp"]["exists"] is False


def test_plan_refuses_unreadable_or_impossible_expectations(ws: Workspace) -> None:
    def plan(expect: str) -> tuple[int, dict]:
        ran = run_factory(
            "plan",
            "rain",
            "--hparams",
            "h2",
            "--intent",
            "x",
            "--expect",
            expect,
            "--json",
            cwd=ws.root,
        )
        return ran.code, ran.doc

    code, doc = plan("auc > 0.7 in winter")
    assert code == 2 and doc["error"]["code"] == "expectation_unreadable"
    code, doc = plan("mae < 2.5")  # rain is a classifier: no mae
    assert code == 2 and doc["error"]["code"] == "unknown_metric"
    assert "auc" in doc["error"]["hint"]
    code, doc = plan("beats r-000000000000")
    assert code == 3 and doc["error"]["code"] == "unknown_run"
    code, doc = plan("AUC >= 0.7 and beats best")
    assert code == 0, doc
    code, again = plan("the curves should flatten sooner")
    # Same components and intent: the same plan, its expectation reworded before training.
    assert code == 0 and again["data"]["plan_id"] == doc["data"]["plan_id"]
    assert again["data"]["expect"] == "the curves should flatten sooner"
    assert not list((ws.root / "cards").glob(".*.tmp"))


def test_a_plan_that_pins_nothing_or_repeats_is_refused(workspace: Path) -> None:
    """`plan rain --intent ...` alone would plan the model's own recipe by mistake; a second
    open plan for the same components, or components already trained on the current data,
    would be carried out by the wrong plan or a reused run."""
    from tests.conftest import run_factory

    bare = run_factory("plan", "rain", "--intent", "a note to self", "--json", cwd=workspace)
    assert bare.code == 2 and bare.doc["error"]["code"] == "plan_without_components"
    on_purpose = run_factory(
        "plan", "rain", "--defaults", "--intent", "the recipe as it is", "--json", cwd=workspace
    )
    assert on_purpose.code == 0, on_purpose.stdout
    first = run_factory("plan", "rain", "--features", "weather_v1", "--intent", "same-day only",
                        "--json", cwd=workspace)  # fmt: skip
    assert first.code == 0
    again = run_factory("plan", "rain", "--features", "weather_v1", "--intent", "same-day only",
                        "--json", cwd=workspace)  # fmt: skip
    assert again.code == 0 and again.doc["data"]["plan_id"] == first.doc["data"]["plan_id"]
    other = run_factory("plan", "rain", "--features", "weather_v1", "--intent", "another why",
                        "--json", cwd=workspace)  # fmt: skip
    assert other.code == 2 and other.doc["error"]["code"] == "plan_duplicate"
    assert other.doc["error"]["details"]["plan_id"] == first.doc["data"]["plan_id"]
