"""Golden files: the machine output (`--json`) of each command shape, checked in.

A reviewer reads a change of the JSON contract as a diff of `tests/golden/*.json`
(adrs/0003-json-envelope-and-versioned-schemas.md). Clock, session and time zone are
pinned and the workspace path is replaced by `<WORKSPACE>`. After an intended change run
`UPDATE_GOLDEN=1 .venv/bin/pytest tests/test_golden.py` and commit the diff.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import run_factory

GOLDEN = Path(__file__).resolve().parent / "golden"
PINNED = {"FACTORY_NOW": "2026-11-21T14:30:00Z", "FACTORY_SESSION": "golden", "TZ": "UTC"}
# Commands typed by a person the day before (no FACTORY_SESSION): two work sessions, as
# the second pair comes more than 30 minutes after the first (adrs/0006).
TYPED = ("2026-11-20T09:00:00Z", "2026-11-20T09:10:00Z", "2026-11-20T11:00:00Z")
CASES = (
    ("init", ["init", "{ws}", "--json"]),
    ("typed", ["init", "{ws}", "--json"]),
    ("status", ["status", "--json"]),
    ("history", ["history", "--all", "--json"]),
    ("query-tables", ["query", "--tables", "--json"]),
)


def _normalize(value: Any, root: str) -> Any:
    if isinstance(value, str):
        return value.replace(root, "<WORKSPACE>")
    if isinstance(value, list):
        return [_normalize(v, root) for v in value]
    if isinstance(value, dict):
        return {k: _normalize(v, root) for k, v in value.items()}
    return value


@pytest.fixture(scope="module")
def outputs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """Each case's envelope, run in order on one fresh workspace."""
    root = tmp_path_factory.mktemp("golden") / "ws"
    docs: dict[str, Any] = {}
    for name, argv in CASES:
        args = [a.format(ws=root) for a in argv]
        if name == "typed":
            for moment in TYPED:
                env = {**PINNED, "FACTORY_NOW": moment, "FACTORY_SESSION": ""}
                assert run_factory(*args, env=env).code == 0
                assert run_factory("query", "--tables", "--json", cwd=root, env=env).code == 0
            continue
        ran = run_factory(*args, cwd=root if root.exists() else root.parent, env=PINNED)
        assert ran.code == 0, ran.stdout + ran.stderr
        docs[name] = _normalize(ran.doc, str(root))
    return docs


@pytest.mark.parametrize("name", [case[0] for case in CASES if case[0] != "typed"])
def test_output_matches_golden_file(outputs: dict[str, Any], name: str) -> None:
    path = GOLDEN / f"{name}.json"
    actual = json.dumps(outputs[name], indent=2, sort_keys=True, ensure_ascii=False) + "\n"
    if os.environ.get("UPDATE_GOLDEN") == "1":
        path.write_text(actual, encoding="utf-8")
    assert path.exists(), f"{path} missing: run UPDATE_GOLDEN=1 pytest tests/test_golden.py"
    expected = path.read_text(encoding="utf-8")
    assert actual == expected, (
        f"`factory {name}` JSON changed. If intended, bump its schema version when the change "
        f"breaks a key (adrs/0003), then run UPDATE_GOLDEN=1 pytest tests/test_golden.py"
    )
