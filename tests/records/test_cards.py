"""Model cards: human words survive, broken cards are refused, concurrent writes merge."""

from __future__ import annotations

import json
import multiprocessing
import os
from pathlib import Path
from typing import Any

import pytest

from core.foundation.errors import ExitCode, FactoryError
from core.foundation.workspace import Workspace
from core.records.card_store import read_card, update_card
from core.records.notes import add_note
from core.records.plans import get_plan
from core.records.runs import record_run
from core.records.summary import card_summary
from tests.conftest import run_factory

HUMAN = "The rain model feeds the cycling app; Mondays matter most. — Ana"


def _set_plan(ws: Workspace, plan_id: str, expect: str, features: str = "weather_v2") -> None:
    def add(meta: dict[str, Any]) -> None:
        meta["plans"].append(
            {
                "plan_id": plan_id,
                "components": {"features": features},
                "intent": "lags should help",
                "expect": expect,
                "status": "planned",
            }
        )

    update_card(ws, "rain", add)


def test_human_edits_survive_every_write(ws: Workspace, report_writer: Any) -> None:
    record_run(ws, report_writer("r-aaa", fold_values=[0.6, 0.61, 0.62, 0.6]))
    path = ws.cards_dir / "rain.md"
    text = path.read_text()
    # A human writes in the free part, inside a generated section and after the end.
    text = text.replace("## About this model\n", f"## About this model\n\n{HUMAN}\n", 1)
    text = text.replace(
        "<!-- factory:begin runs -->",
        "Runs table below is generated.\n\n<!-- factory:begin runs -->",
    )
    text = text.replace(
        "<!-- factory:end runs -->", "<!-- factory:end runs -->\n\nMy own table of doubts.", 1
    )
    text = text.replace("| `r-aaa` |", "| `r-HUMAN-EDIT` |")  # inside a marker: tool-owned
    text += "\n## Appendix\n\nWritten at the very end by hand.\n"
    path.write_text(text)
    # A human may also add their own frontmatter key.
    path.write_text(path.read_text().replace("model: rain\n", "model: rain\nowner: ana\n", 1))

    record_run(ws, report_writer("r-bbb", fold_values=[0.7, 0.7, 0.71, 0.7]))
    note = add_note(ws, "r-bbb", "v2 lags help", next_idea="try depth 6")
    update_card(ws, "rain", lambda meta: meta["tiers"].update({"dev": "r-bbb"}))

    after = path.read_text()
    for words in (
        HUMAN,
        "Runs table below is generated.",
        "My own table of doubts.",
        "Written at the very end by hand.",
    ):
        assert words in after
    assert "r-HUMAN-EDIT" not in after  # the generated section was regenerated
    assert "| `r-aaa` |" in after and "| `r-bbb` |" in after
    card = read_card(ws, "rain")
    assert card.meta["owner"] == "ana"
    assert [e["run_id"] for e in card.entries] == ["r-aaa", "r-bbb"]
    assert card.meta["tiers"] == {"dev": "r-bbb"}
    assert card.notes[0]["note_id"] == note.note_id and "try depth 6" in after
    # Hugging Face model-index carries the best run's walk-forward mean.
    metrics = card.meta["model-index"][0]["results"][0]["metrics"]
    best = json.loads((ws.reports_dir / "r-bbb.json").read_text())["primary_metric"]["mean"]
    assert metrics[0]["type"] == "auc" and metrics[0]["value"] == pytest.approx(best, abs=1e-6)


def test_record_run_and_note_are_idempotent(ws: Workspace, report_writer: Any) -> None:
    report = report_writer("r-aaa", fold_values=[0.6, 0.61, 0.62, 0.6])
    for _ in range(3):
        record_run(ws, report)
        add_note(ws, "r-aaa", "same finding")
    card = read_card(ws, "rain")
    assert len(card.entries) == 1 and len(card.notes) == 1


def test_broken_frontmatter_reported_with_line_and_never_overwritten(
    ws: Workspace, report_writer: Any
) -> None:
    report = report_writer("r-aaa", fold_values=[0.6, 0.61, 0.62, 0.6])
    record_run(ws, report)
    path = ws.cards_dir / "rain.md"
    lines = path.read_text().splitlines(keepends=True)
    bad_line = 4  # 1-based line in the file: the `primary_metric:` line
    assert lines[bad_line - 1].startswith("primary_metric:")
    lines[bad_line - 1] = "primary_metric: [auc\n"  # an unclosed flow sequence
    broken = "".join(lines)
    path.write_text(broken)

    with pytest.raises(FactoryError) as info:
        record_run(ws, report_writer("r-bbb", fold_values=[0.7, 0.7, 0.7, 0.7]))
    assert info.value.exit_code == ExitCode.INPUT
    assert info.value.code == "card_invalid"
    assert str(path) in info.value.message
    assert info.value.details["line"] is not None and info.value.details["line"] >= bad_line
    assert path.read_text() == broken

    ran = run_factory("note", "r-aaa", "anything", "--json", cwd=ws.root)
    assert ran.code == 3
    assert ran.doc["error"]["code"] == "card_invalid"
    assert f"rain.md:{info.value.details['line']}" in ran.doc["error"]["message"]
    assert path.read_text() == broken
    # status still answers, and names the problem instead of failing
    status = run_factory("status", "--json", cwd=ws.root)
    assert status.code == 0
    rain = next(m for m in status.doc["data"]["models"] if m["name"] == "rain")
    assert "rain.md" in rain["card"]["error"]


def test_unpaired_marker_is_refused(ws: Workspace, report_writer: Any) -> None:
    record_run(ws, report_writer("r-aaa", fold_values=[0.6, 0.61, 0.62, 0.6]))
    path = ws.cards_dir / "rain.md"
    damaged = path.read_text().replace("<!-- factory:end runs -->\n", "", 1)
    path.write_text(damaged)
    with pytest.raises(FactoryError, match="section 'runs' is not closed"):
        add_note(ws, "r-aaa", "x")
    assert path.read_text() == damaged


def _append_notes(root: str, worker: int, count: int) -> None:
    ws = Workspace(Path(root))
    for i in range(count):
        update_card(
            ws,
            "rain",
            lambda meta, i=i: meta["notes"].append(
                {"note_id": f"n-{worker}-{i}", "run_id": "r-x", "text": f"{worker}:{i}"}
            ),
        )


def test_concurrent_update_card_loses_no_update(ws: Workspace) -> None:
    workers, each = 4, 15
    context = multiprocessing.get_context("spawn")
    procs = [
        context.Process(target=_append_notes, args=(str(ws.root), w, each)) for w in range(workers)
    ]
    for proc in procs:
        proc.start()
    for proc in procs:
        proc.join(120)
        assert proc.exitcode == 0
    ids = {n["note_id"] for n in read_card(ws, "rain").notes}
    assert len(ids) == workers * each
    leftovers = [p for p in ws.cards_dir.iterdir() if p.name != "rain.md"]
    assert leftovers == []  # no temporary files left behind


def test_expectation_threshold_and_beats(ws: Workspace, report_writer: Any) -> None:
    record_run(ws, report_writer("r-base", fold_values=[0.60, 0.62, 0.61, 0.63]))
    _set_plan(ws, "p-beats", "beats best and auc >= 0.65")
    record_run(
        ws,
        report_writer(
            "r-new",
            features="weather_v2",
            fold_values=[0.80, 0.82, 0.81, 0.83],
            created_at="2026-01-02T00:00:00Z",
            plan_id="p-beats",
        ),
    )
    plan = get_plan(ws, "p-beats")
    assert plan.status == "trained" and plan.run_id == "r-new"
    assert plan.verdict is not None and plan.verdict["held"] is True
    beats = plan.verdict["checks"][0]
    assert beats["run_a"] == "r-base" and beats["wins_b"] == 4
    assert beats["verdict"] == "better" and beats["method"] == "delong-folds"
    folds = [
        [
            f["metrics"]["auc"]
            for f in json.loads((ws.reports_dir / f"{r}.json").read_text())["folds"]
        ]
        for r in ("r-base", "r-new")
    ]
    assert beats["mean_delta"] == pytest.approx(
        sum(b - a for a, b in zip(*folds, strict=True)) / 4, abs=1e-9
    )

    # A threshold that fails, found by matching components without --plan.
    _set_plan(ws, "p-high", "auc > 0.9", features="weather_v3")
    record_run(
        ws,
        report_writer(
            "r-v3",
            features="weather_v3",
            fold_values=[0.61, 0.6, 0.6, 0.62],
            created_at="2026-01-03T00:00:00Z",
        ),
    )
    high = get_plan(ws, "p-high")
    assert high.run_id == "r-v3" and high.verdict is not None
    assert high.verdict["held"] is False
    v3 = json.loads((ws.reports_dir / "r-v3.json").read_text())["primary_metric"]["mean"]
    assert high.verdict["checks"][0]["actual"] == pytest.approx(v3, abs=1e-6)

    # Free text waits for a human.
    _set_plan(ws, "p-free", "the curves should flatten later", features="weather_v4")
    record_run(
        ws,
        report_writer(
            "r-v4",
            features="weather_v4",
            fold_values=[0.6, 0.6, 0.6, 0.6],
            created_at="2026-01-04T00:00:00Z",
        ),
    )
    free = get_plan(ws, "p-free")
    assert free.verdict == {"held": None, "reason": "needs a human verdict", "checks": []}
    entry = next(e for e in read_card(ws, "rain").entries if e["run_id"] == "r-v4")
    assert entry["plan_id"] == "p-free" and entry["expectation"]["held"] is None


def test_beats_named_run_worse_and_minimize(ws: Workspace, report_writer: Any) -> None:
    record_run(
        ws,
        report_writer("r-t1", model="temp", metric="mae", direction="minimize",
                      fold_values=[2.0, 2.1, 2.2, 2.0]),
    )  # fmt: skip

    def add(meta: dict[str, Any]) -> None:
        meta["plans"].append(
            {"plan_id": "p-t", "components": {"features": "weather_v2"}, "intent": "x",
             "expect": "beats r-t1", "status": "planned"}
        )  # fmt: skip

    update_card(ws, "temp", add)
    record_run(
        ws,
        report_writer("r-t2", model="temp", metric="mae", direction="minimize",
                      features="weather_v2", fold_values=[2.3, 2.4, 2.5, 2.35],
                      created_at="2026-01-02T00:00:00Z"),
    )  # fmt: skip
    plan = get_plan(ws, "p-t")
    check = plan.verdict["checks"][0] if plan.verdict else {}
    assert plan.verdict is not None and plan.verdict["held"] is False
    assert check["verdict"] == "worse" and check["wins_b"] == 0


def test_card_summary_follows_the_card_text_exactly_whatever_its_cache_holds(
    ws: Workspace, report_writer: Any
) -> None:
    """The summary kept in `.factory/cache/cards` (so `status` need not import YAML) is used
    only for the exact card text it was read from: a hand edit, a note, a damaged or a
    planted cache file never change what the card says."""
    import json

    from core.records import summary as summaries

    assert card_summary(ws, "rain").exists is False
    record_run(ws, report_writer("r-aaa", fold_values=[0.6, 0.61, 0.62, 0.6]))
    _set_plan(ws, "p-open", "auc >= 0.7")
    first = card_summary(ws, "rain")
    assert first.entries == 1 and [p["plan_id"] for p in first.open_plans] == ["p-open"]
    assert first.best is not None and first.best["run_id"] == "r-aaa"
    cache = ws.state_dir / "cache" / "cards" / "rain.json"
    path = ws.cards_dir / "rain.md"
    kept = json.loads(cache.read_text())
    assert kept["text"] == path.read_text() and kept["summary"] == first.to_dict()
    # In a new process (nothing kept in memory), the cache answers without parsing.
    summaries._KEPT.clear()
    assert card_summary(ws, "rain") == first
    # A hand edit shows at once, in this process and the next.
    path.write_text(path.read_text().replace("intent: lags should help", "intent: by hand", 1))
    assert card_summary(ws, "rain").open_plans[0]["intent"] == "by hand"
    summaries._KEPT.clear()
    assert card_summary(ws, "rain").open_plans[0]["intent"] == "by hand"
    add_note(ws, "r-aaa", "found", next_idea="try weather_v2")
    fresh = card_summary(ws, "rain")
    assert fresh.entries == 1 and fresh.next_ideas[0]["idea"] == "try weather_v2"
    # A planted summary for other text, or for the same text by other code, is never used.
    planted = json.loads(cache.read_text())
    planted["summary"]["tiers"] = {"prod": "r-forged"}
    for forged in ({**planted, "text": planted["text"] + " "}, {**planted, "code": [[0, 0]]}):
        cache.write_text(json.dumps(forged))
        summaries._KEPT.clear()
        assert card_summary(ws, "rain").tiers.get("prod") != "r-forged"
    # ... while for the same text and code it is what answers (and keeps YAML out of status).
    cache.write_text(json.dumps(planted))
    summaries._KEPT.clear()
    assert card_summary(ws, "rain").tiers.get("prod") == "r-forged"
    # A damaged cache is read past, and written anew.
    cache.write_text("{not json")
    summaries._KEPT.clear()
    assert card_summary(ws, "rain") == fresh
    assert json.loads(cache.read_text())["summary"] == fresh.to_dict()


def test_note_on_unknown_run_is_an_input_error(ws: Workspace) -> None:
    ran = run_factory("note", "r-nope", "text", "--json", cwd=ws.root)
    assert ran.code == 3 and ran.doc["error"]["code"] == "unknown_run"
    assert not (ws.cards_dir / "rain.md").exists()


def test_views_plans_and_notes(ws: Workspace, report_writer: Any) -> None:
    empty = run_factory("query", "select count(*) as n from plans", "--json", cwd=ws.root)
    assert empty.code == 0, empty.stderr
    record_run(ws, report_writer("r-aaa", fold_values=[0.6, 0.61, 0.62, 0.6]))
    _set_plan(ws, "p-open", "auc >= 0.7")
    add_note(ws, "r-aaa", "first finding", next_idea="more lags")
    ran = run_factory("query", "select model, plan_id, status from plans", "--json", cwd=ws.root)
    assert ran.code == 0, ran.stderr
    assert "p-open" in ran.stdout
    notes = run_factory("query", "select text, next from notes", "--json", cwd=ws.root)
    assert "more lags" in notes.stdout
    assert os.path.exists(ws.cards_dir / "rain.md")


def test_wrong_type_key_is_reported_with_its_line(ws: Workspace, report_writer: Any) -> None:
    record_run(ws, report_writer("r-aaa", fold_values=[0.6, 0.61, 0.62, 0.6]))
    path = ws.cards_dir / "rain.md"
    text = path.read_text()
    start = text.index("\nnotes:") + 1
    end = text.index("\n---", start) + 1
    broken = text[:start] + "notes: just a sentence\n" + text[end:]
    path.write_text(broken)
    with pytest.raises(FactoryError) as info:
        add_note(ws, "r-aaa", "x")
    line = broken[:start].count("\n") + 1
    assert info.value.details["line"] == line
    assert f"rain.md:{line}: frontmatter key 'notes' must be a list" in info.value.message
    assert path.read_text() == broken


def test_update_card_writes_any_plain_value_safely(ws: Workspace) -> None:
    def mutate(meta: dict[str, Any]) -> None:
        meta["tiers"] = {"staging": "r-aaa"}
        meta["tier_history"].append({"tier": "staging", "runs": ("r-aaa", "r-bbb"), "at": {1}})

    update_card(ws, "rain", mutate)
    card = read_card(ws, "rain")
    assert card.meta["tier_history"] == [{"tier": "staging", "runs": ["r-aaa", "r-bbb"], "at": [1]}]
    assert card.meta["tiers"] == {"staging": "r-aaa"}
