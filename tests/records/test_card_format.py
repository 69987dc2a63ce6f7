"""The card format of adrs/0023: a card keeps the best, the recent and every named run; any
other run's facts come from the run index; old cards are migrated without losing a human's
words; a key written twice is refused."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from core.experiments.index import model_stats
from core.foundation.errors import ExitCode, FactoryError
from core.foundation.workspace import Workspace
from core.records import fileformat, sections
from core.records.card_store import read_card, update_card
from core.records.kept_runs import RECENT_RUNS
from core.records.migration import migrate_cards
from core.records.notes import add_note
from core.records.runs import record_run, run_entry
from tests.conftest import REPO, run_factory

HUMAN = "The rain model feeds the cycling app; Mondays matter most. — Ana\n"
_GENERATED = re.compile(
    r"(<!-- factory:begin ([a-z0-9_-]+) -->).*?(<!-- factory:end \2 -->)", re.DOTALL
)


def _at(n: int) -> str:
    return f"2026-01-{1 + n // 24:02d}T{n % 24:02d}:00:00Z"


def _quality(n: int) -> list[float]:
    """r-02 is the best run by far; the others sit near 0.6."""
    base = 0.9 if n == 2 else 0.6 + 0.001 * n
    return [base, base + 0.01, base - 0.01, base]


def _runs(report_writer: Any, count: int, **kwargs: Any) -> list[dict[str, Any]]:
    return [
        report_writer(f"r-{n:02d}", fold_values=_quality(n), created_at=_at(n), **kwargs)
        for n in range(count)
    ]


def _ids(ws: Workspace) -> list[str]:
    return [e["run_id"] for e in read_card(ws, "rain").entries]


def test_a_card_keeps_the_best_the_recent_and_every_named_run(
    ws: Workspace, report_writer: Any
) -> None:
    reports = _runs(report_writer, 20)
    ws.adrs_dir.mkdir(parents=True, exist_ok=True)
    (ws.adrs_dir / "0001-keep-r-04.md").write_text(
        "---\nstatus: accepted\n---\n# 0001. Keep r-04\n\nr-04 is our reference run.\n"
    )
    for n, report in enumerate(reports):
        record_run(ws, report)
        if n == 0:
            update_card(ws, "rain", lambda meta: meta["tiers"].update({"dev": "r-00"}))
        if n == 1:
            add_note(ws, "r-01", "first look")
    card = read_card(ws, "rain")
    recent = [f"r-{n:02d}" for n in range(20 - RECENT_RUNS, 20)]
    assert _ids(ws) == ["r-00", "r-01", "r-02", "r-04", *recent]
    kept_for = {e["run_id"]: e["kept_for"] for e in card.entries}
    assert kept_for["r-00"] == ["tier dev"]
    assert kept_for["r-01"][0].startswith("note n-")
    assert kept_for["r-02"] == ["best"]
    assert kept_for["r-04"] == ["adr 0001"]
    assert kept_for["r-19"] == ["recent"]
    assert card.meta["best_run"] == "r-02" and card.meta["run_count"] == 20
    assert "entries" not in card.meta and card.meta["card_format"] == 2
    entry = next(e for e in card.entries if e["run_id"] == "r-19")
    assert set(entry) == {"run_id", "created_at", "kept_for", "plan_id", "snapshot_id", "cohort",
                          "leaky", "components", "metric", "baseline", "expectation",
                          "component_changed"}  # fmt: skip
    assert "6 other runs are in `factory runs`" in card.body
    shown = card.to_dict()
    assert shown["entries"] == 20 and shown["kept_runs"] == 14
    assert shown["best"]["run_id"] == "r-02"
    # A note on a run that left the card brings it back, with its facts from the index.
    add_note(ws, "r-07", "a second look")
    back = next(e for e in read_card(ws, "rain").entries if e["run_id"] == "r-07")
    assert back["kept_for"][0].startswith("note n-")
    mean = json.loads((ws.reports_dir / "r-07.json").read_text())["primary_metric"]["mean"]
    assert back["metric"]["mean"] == pytest.approx(mean, abs=1e-6)
    # No cache holds a copy of the card.
    assert not list(ws.state_dir.glob("cache/cards/rain*"))


def test_a_run_that_left_the_card_is_still_found_from_the_index(
    ws: Workspace, report_writer: Any
) -> None:
    for report in _runs(report_writer, 14):
        record_run(ws, report)
    card = read_card(ws, "rain")
    assert "r-01" not in _ids(ws)
    entry = run_entry(ws, card, "r-01")
    assert entry is not None and entry["kept_for"] == []
    report = json.loads((ws.reports_dir / "r-01.json").read_text())
    assert entry["metric"]["mean"] == pytest.approx(report["primary_metric"]["mean"], abs=1e-6)
    assert entry["components"]["features"] == "weather_v1" and entry["created_at"] == _at(1)
    assert run_entry(ws, card, "r-nope") is None
    # A plan's expectation naming a run that left the card is still checked against it.
    update_card(
        ws,
        "rain",
        lambda meta: meta["plans"].append(
            {"plan_id": "p-v2", "components": {"features": "weather_v2"}, "intent": "lags",
             "expect": "beats r-01", "status": "planned"}
        ),
    )  # fmt: skip
    record_run(
        ws,
        report_writer("r-v2", features="weather_v2", fold_values=[0.9, 0.91, 0.9, 0.92],
                      created_at=_at(30)),
    )  # fmt: skip
    plan = next(p for p in read_card(ws, "rain").plans if p.plan_id == "p-v2")
    assert plan.verdict is not None and plan.verdict["checks"][0]["run_a"] == "r-01"


def test_the_cards_best_run_is_the_one_status_names(ws: Workspace, report_writer: Any) -> None:
    reports = _runs(report_writer, 4)
    # A leaky run scores best of all: never the best run, on the card or in status.
    leaky = report_writer("r-leak", fold_values=[0.99] * 4, created_at=_at(9))
    leaky["leaky"] = {"pit_id": "pit-x", "version": "weather_v1"}
    (ws.reports_dir / "r-leak.json").write_text(json.dumps(leaky))
    for report in [*reports, leaky]:
        record_run(ws, report)
    card = read_card(ws, "rain")
    status = run_factory("status", "--json", cwd=ws.root)
    assert status.code == 0, status.stderr
    rain = next(m for m in status.doc["data"]["models"] if m["name"] == "rain")
    assert card.meta["best_run"] == rain["best_run"]["run_id"] == "r-02"
    assert model_stats(ws, "rain")["best"]["run_id"] == "r-02"
    assert "best run: `r-02`" in card.body
    assert rain["card"]["run_count"] == 5
    index = card.meta["model-index"][0]["results"][0]["metrics"][0]
    assert "r-02" in index["name"]


def _version_1_card(ws: Workspace, count: int) -> str:
    """A card as `record_run` wrote it before adrs/0023: every run's entry in the
    frontmatter, with every metric and the reproducibility block, and a person's words."""
    import yaml

    entries = []
    for n in range(count):
        report = json.loads((ws.reports_dir / f"r-{n:02d}.json").read_text())
        mean = report["primary_metric"]["mean"]
        entries.append(
            {
                "run_id": f"r-{n:02d}", "plan_id": None, "created_at": _at(n),
                "snapshot_id": "ds-test",
                "components": {"features": "weather_v1", "hparams": "h1"},
                "metric": {"name": "auc", "direction": "maximize", "mean": round(mean, 6),
                           "std": 0.01},
                "metrics": {"auc": round(mean, 6)}, "component_changed": [],
                "reproducibility": {"seed": 42, "python": "3.11.0", "git.dirty": True},
                "expectation": None, "cohort": "c-old", "leaky": False, "baseline": None,
            }
        )  # fmt: skip
    meta = {
        "model": "rain", "task": "classification", "primary_metric": "auc",
        "direction": "maximize", "dataset": "weather", "owner": "ana", "model-index": [],
        "tiers": {"prod": "r-01"}, "tier_history": [], "plans": [], "entries": entries,
        "notes": [],
    }  # fmt: skip
    body = sections.initial_body("rain")
    body = body.replace("## About this model\n", f"## About this model\n\n{HUMAN}", 1)
    body = body.replace("<!-- factory:end runs -->", "<!-- factory:end runs -->\n\nMy doubts.")
    body += "\n## Appendix\n\nWritten at the very end, by hand.   \n\n\n"
    front = yaml.safe_dump(meta, sort_keys=False, allow_unicode=True)
    return f"---\n{front}---\n\n{body}"  # a blank line under the frontmatter, as people write


def _human_part(text: str) -> str:
    """The body with each generated section's content removed: what belongs to a person."""
    body = text[text.index("\n---\n", 4) + 5 :]
    return _GENERATED.sub(r"\1\3", body)


def test_an_old_card_is_migrated_keeping_human_words_byte_for_byte(
    ws: Workspace, report_writer: Any
) -> None:
    _runs(report_writer, 15)
    old = _version_1_card(ws, 15)
    path = ws.cards_dir / "rain.md"
    ws.cards_dir.mkdir(parents=True, exist_ok=True)
    path.write_text(old, encoding="utf-8")
    assert len(read_card(ws, "rain").entries) == 15  # still readable before migrating
    stale = ws.state_dir / "cache" / "cards"
    stale.mkdir(parents=True)
    for name in ("rain.parsed.json", "rain.json"):
        (stale / name).write_text("{}")  # what version-1 cards kept beside them

    ran = run_factory("migrate", "cards", "--json", cwd=ws.root)
    assert ran.code == 0, ran.stderr
    assert ran.doc["data"]["cards"] == [
        {"model": "rain", "path": str(path), "format_before": 1, "runs_before": 15,
         "runs_after": 12, "rewritten": True}
    ]  # fmt: skip
    after = path.read_text(encoding="utf-8")
    assert _human_part(after) == _human_part(old)
    assert not list(stale.iterdir())
    card = read_card(ws, "rain")
    assert "entries" not in card.meta and card.meta["owner"] == "ana"
    assert _ids(ws) == ["r-01", "r-02", *[f"r-{n:02d}" for n in range(5, 15)]]
    assert all("reproducibility" not in e and "metrics" not in e for e in card.entries)
    assert card.meta["run_count"] == 15 and card.meta["best_run"] == "r-02"

    again = run_factory("migrate", "cards", "rain", "--json", cwd=ws.root)
    assert again.code == 0 and again.doc["data"]["rewritten"] == 0
    assert path.read_text(encoding="utf-8") == after

    # Without the command, the next write of any kind migrates the card too.
    path.write_text(old, encoding="utf-8")
    add_note(ws, "r-14", "seen")
    noted = path.read_text(encoding="utf-8")
    assert "\nentries:" not in noted and "card_format: 2" in noted
    assert _human_part(noted) == _human_part(old)
    assert HUMAN in noted and noted.endswith("Written at the very end, by hand.   \n\n\n")


def test_migrating_an_unknown_model_is_an_input_error(ws: Workspace) -> None:
    ran = run_factory("migrate", "cards", "snow", "--json", cwd=ws.root)
    assert ran.code == 3 and ran.doc["error"]["code"] == "unknown_model"
    with pytest.raises(FactoryError):
        migrate_cards(ws, "snow")
    assert migrate_cards(ws).cards == []  # no card files: nothing to do


def test_a_key_written_twice_is_refused_with_its_line(ws: Workspace, report_writer: Any) -> None:
    record_run(ws, report_writer("r-aaa", fold_values=[0.6, 0.61, 0.62, 0.6]))
    path = ws.cards_dir / "rain.md"
    text = path.read_text()
    first = text[: text.index("\ntiers:") + 1].count("\n") + 1
    closing = text.index("\n---\n", 4) + 1
    broken = text[:closing] + "tiers:\n  prod: r-aaa\n" + text[closing:]
    second = broken[:closing].count("\n") + 1
    path.write_text(broken)

    with pytest.raises(FactoryError) as info:
        read_card(ws, "rain")
    assert info.value.code == "card_invalid" and info.value.exit_code == ExitCode.INPUT
    assert info.value.details["line"] == second
    assert f"rain.md:{second}: key 'tiers' is written twice" in info.value.message
    assert f"first on line {first}" in info.value.message

    ran = run_factory("note", "r-aaa", "anything", "--json", cwd=ws.root)
    assert ran.code == 3 and ran.doc["error"]["code"] == "card_invalid"
    assert f"rain.md:{second}" in ran.doc["error"]["message"]
    assert path.read_text() == broken
    status = run_factory("status", "--json", cwd=ws.root)
    assert status.code == 0
    rain = next(m for m in status.doc["data"]["models"] if m["name"] == "rain")
    assert "written twice" in rain["card"]["error"]


def test_a_nested_key_written_twice_is_refused_too(tmp_path: Path) -> None:
    text = "---\nmodel: rain\ntiers:\n  prod: r-a\n  prod: r-b\n---\nbody\n"
    with pytest.raises(FactoryError) as info:
        fileformat.split(tmp_path / "rain.md", text)
    assert info.value.details["line"] == 5 and "key 'prod'" in info.value.message
    # A YAML merge key is not a duplicate.
    merged = "---\nbase: &b {a: 1}\nother:\n  <<: *b\n  a: 2\n---\n"
    assert fileformat.split(tmp_path / "x.md", merged)[0]["other"] == {"a": 2}


def test_the_repositorys_own_cards_are_in_the_current_layout() -> None:
    for model in ("rain", "temp"):
        path = REPO / "cards" / f"{model}.md"
        meta, body = fileformat.split(path, path.read_text(encoding="utf-8"))
        assert meta["card_format"] == 2 and "entries" not in meta, path
        assert meta["best_run"] in {e["run_id"] for e in meta["runs"]}
        assert "## About this model" in body


def test_records_benchmark_builds_a_slim_card_and_times_its_reads(tmp_path: Path) -> None:
    from bench.records import build, cold_reads, legacy_text

    ws = build(tmp_path / "ws", runs=30)
    card = read_card(ws, "rain")
    assert card.run_count == 30 and len(card.entries) <= RECENT_RUNS + 1
    seconds = cold_reads(ws, reads=2)
    assert len(seconds) == 2 and min(seconds) > 0
    meta, _body = fileformat.split(ws.cards_dir / "rain.md", legacy_text(ws))
    assert len(meta["entries"]) == 30 and "card_format" not in meta
