"""The README's eight questions hold: each command answers with `--json` and each SQL query
returns rows, on a copy of this repository's committed memory (issue 11, section 3).

The copy is what a fresh clone has (`factory.toml`, `cards/`, `reports/`, `adrs/`,
`components/`; no `logs/`, `data/` or `artifacts/`), plus what the README says to do in a
clone to trace a prediction: `factory rebuild rain:prod`, then `factory predict` on the
embedded `seattle-weather.csv`. The commands and queries are read from the README section
itself, so a question whose command or query stops working, or that is dropped, fails here.
"""

from __future__ import annotations

import re
import shutil
from typing import Any

import pytest

from tests.conftest import REPO, run_factory

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("readme_questions")]

ENV = {"FACTORY_THREADS": "2", "TZ": "UTC"}
HEADING = "## Eight questions, one command and one query each"
MEMORY = ("factory.toml", "cards", "reports", "adrs", "components")
"""What a clone of the repository holds of its workspace."""
REQUEST_ID = re.compile(r"rq-[0-9a-f]{16}")


def _section() -> str:
    text = (REPO / "README.md").read_text(encoding="utf-8")
    assert HEADING in text, f"README.md has no section {HEADING!r}"
    body = text.split(HEADING, 1)[1]
    return body.split("\n## ", 1)[0]


def _commands() -> list[str]:
    """The command column of the section's table, in question order."""
    found: dict[int, str] = {}
    for line in _section().splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) == 3 and cells[0].isdigit():
            command = re.fullmatch(r"`(factory [^`]+)`", cells[2])
            assert command, f"question {cells[0]}: no single `factory ...` command: {cells[2]}"
            found[int(cells[0])] = command.group(1)
    return [found[n] for n in sorted(found)]


def _queries() -> list[str]:
    return [q.strip() for q in re.findall(r"```sql\n(.*?)```", _section(), re.DOTALL)]


COMMANDS = _commands()
QUERIES = _queries()


def test_the_section_has_eight_questions_each_with_a_command_and_a_query() -> None:
    assert len(COMMANDS) == 8, COMMANDS
    assert len(QUERIES) == 8, [q[:40] for q in QUERIES]
    assert len(set(COMMANDS)) == 8


@pytest.fixture(scope="module")
def clone(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """A copy of the committed memory, with the prod rain model rebuilt and one prediction
    logged, as the README describes for a fresh clone."""
    from core.data.sources import embedded_path

    root = tmp_path_factory.mktemp("readme") / "ws"
    root.mkdir()
    for name in MEMORY:
        source = REPO / name
        if source.is_dir():
            shutil.copytree(source, root / name, ignore=shutil.ignore_patterns("__pycache__"))
        elif source.is_file():
            shutil.copy2(source, root / name)
    rebuilt = run_factory("rebuild", "rain:prod", "--json", cwd=root, env=ENV)
    assert rebuilt.code == 0, rebuilt.stdout + rebuilt.stderr
    predicted = run_factory(
        "predict", "rain", "--input", str(embedded_path("seattle-weather")),
        "--from", "2015-12-01", "--json", cwd=root, env=ENV,
    )  # fmt: skip
    assert predicted.code == 0, predicted.stdout + predicted.stderr
    return {"root": root, "request_id": predicted.doc["data"]["first_request_id"]}


def _as_written(text: str, clone: dict[str, Any]) -> str:
    """`text` with the README's request id (the only value a clone has to recreate) as the
    copy's own, so a later change to how ids are derived fails one test, not all eight."""
    return REQUEST_ID.sub(clone["request_id"], text)


def test_the_traced_request_id_is_the_one_the_readme_predict_logs(clone: dict[str, Any]) -> None:
    named = {m for text in [*COMMANDS, *QUERIES] for m in REQUEST_ID.findall(text)}
    assert named == {clone["request_id"]}


@pytest.mark.parametrize("number", range(1, 9))
def test_each_command_answers_ok(number: int, clone: dict[str, Any]) -> None:
    command = _as_written(COMMANDS[number - 1], clone)
    words = command.split()[1:]
    ran = run_factory(*words, "--json", cwd=clone["root"], env=ENV)
    assert ran.code == 0, f"question {number}: `{command}` exited {ran.code}: {ran.stdout}"
    doc = ran.doc
    assert doc["ok"] is True and doc["command"] == words[0] and doc["data"], doc


@pytest.mark.parametrize("number", range(1, 9))
def test_each_query_returns_rows(number: int, clone: dict[str, Any]) -> None:
    sql = _as_written(QUERIES[number - 1], clone)
    ran = run_factory("query", sql, "--json", cwd=clone["root"], env=ENV)
    assert ran.code == 0, f"question {number}: exited {ran.code}: {ran.stdout}\n{sql}"
    data = ran.doc["data"]
    assert data["row_count"] > 0 and data["rows"], f"question {number}: no rows\n{sql}"
    assert not any(all(v is None for v in row.values()) for row in data["rows"]), sql


def test_the_row_check_can_fail(clone: dict[str, Any]) -> None:
    """The row check above is not vacuous: question 2's query on a day without runs finds
    none."""
    sql = QUERIES[1].replace("2026-11-26", "2001-01-01")
    assert sql != QUERIES[1]
    ran = run_factory("query", sql, "--json", cwd=clone["root"], env=ENV)
    assert ran.code == 0 and ran.doc["data"]["row_count"] == 0
