"""`factory adr new|list|show|supersede` through the real command."""

from __future__ import annotations

import multiprocessing
from pathlib import Path

from core.foundation.workspace import Workspace
from core.records import adrs
from tests.conftest import run_factory


def test_new_list_show_supersede(ws: Workspace) -> None:
    first = run_factory(
        "adr", "new", "Use calendar-day folds", "--context", "Rows per date vary.", "--json",
        cwd=ws.root,
    )  # fmt: skip
    assert first.code == 0, first.stderr
    data = first.doc["data"]
    assert data["number"] == 1 and data["status"] == "proposed"
    assert data["path"] == "adrs/0001-use-calendar-day-folds.md"  # relative to the workspace
    path = ws.root / data["path"]
    text = path.read_text()
    for heading in (
        "# 0001. Use calendar-day folds",
        "## Context and problem statement",
        "## Considered options",
        "## Decision outcome",
        "### Consequences",
        "## Links",
    ):
        assert heading in text
    assert "Rows per date vary." in text

    second = run_factory(
        "adr", "new", "Pin pandas below 3", "--status", "accepted", "--json", cwd=ws.root
    )
    assert second.doc["data"]["number"] == 2

    body_before = path.read_text().split("---", 2)[2]
    sup = run_factory(
        "adr", "supersede", "1", "Use calendar-day folds with gaps", "--json", cwd=ws.root
    )
    assert sup.code == 0, sup.stderr
    assert sup.doc["data"]["new"]["number"] == 3
    assert sup.doc["data"]["new"]["supersedes"] == 1
    assert sup.doc["data"]["old"]["status"] == "superseded"
    assert sup.doc["data"]["old"]["superseded_by"] == 3
    after = path.read_text()
    assert after.split("---", 2)[2] == body_before  # the old body is untouched
    assert "context: " not in after

    listed = run_factory("adr", "list", "--json", cwd=ws.root)
    rows = {a["number"]: a for a in listed.doc["data"]["adrs"]}
    assert [rows[n]["status"] for n in (1, 2, 3)] == ["superseded", "accepted", "accepted"]
    assert rows[1]["superseded_by"] == 3 and rows[3]["supersedes"] == 1
    assert rows[2]["title"] == "Pin pandas below 3"

    shown = run_factory("adr", "show", "0002", "--json", cwd=ws.root)
    assert "# 0002. Pin pandas below 3" in shown.doc["data"]["body"]

    again = run_factory("adr", "supersede", "1", "Another", "--json", cwd=ws.root)
    assert again.code == 3 and again.doc["error"]["code"] == "adr_already_superseded"
    missing = run_factory("adr", "show", "42", "--json", cwd=ws.root)
    assert missing.code == 3 and missing.doc["error"]["code"] == "unknown_adr"
    bad = run_factory("adr", "show", "x1", "--json", cwd=ws.root)
    assert bad.code == 2


def _new(root: str, worker: int) -> None:
    for i in range(5):
        adrs.new_adr(Workspace(Path(root)), f"decision {worker} {i}")


def test_numbering_under_concurrency(ws: Workspace) -> None:
    context = multiprocessing.get_context("spawn")
    procs = [context.Process(target=_new, args=(str(ws.root), w)) for w in range(3)]
    for proc in procs:
        proc.start()
    for proc in procs:
        proc.join(60)
        assert proc.exitcode == 0
    numbers = [a.number for a in adrs.list_adrs(ws).adrs]
    assert numbers == list(range(1, 16))


def test_broken_adr_named_with_line(ws: Workspace) -> None:
    ws.adrs_dir.mkdir(exist_ok=True)
    (ws.adrs_dir / "0001-x.md").write_text("---\nstatus: [oops\n---\n# 0001. X\n")
    ran = run_factory("adr", "list", "--json", cwd=ws.root)
    assert ran.code == 3
    assert "0001-x.md:" in ran.doc["error"]["message"]


def test_adr_links_are_written_listed_and_resolved(workspace: Path) -> None:
    """`adr list` says what each ADR is about, from the frontmatter `adr new --link` wrote;
    an unknown run named as a link is refused, not written."""
    from tests.conftest import run_factory

    made = run_factory("adr", "new", "Keep weather_v2", "--link", "features/weather_v2",
                       "--link", "rain", "--json", cwd=workspace)  # fmt: skip
    assert made.code == 0, made.stdout
    assert made.doc["data"]["links"] == ["features/weather_v2", "rain"]
    listed = run_factory("adr", "list", "--json", cwd=workspace).doc["data"]["adrs"]
    assert listed[0]["links"] == ["features/weather_v2", "rain"]
    text = (workspace / made.doc["data"]["path"]).read_text()
    assert "- features/weather_v2\n- rain\n" in text
    bad = run_factory("adr", "new", "About nothing", "--link", "r-000000000000", "--json",
                      cwd=workspace)  # fmt: skip
    assert bad.code == 3 and bad.doc["error"]["code"] == "unknown_run"
    assert len(list((workspace / "adrs").glob("*.md"))) == 1
