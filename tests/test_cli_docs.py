"""docs/cli.md is generated from the parser and must match it."""

from __future__ import annotations

import subprocess
import sys

from core.cli.docs import generate
from tests.conftest import REPO


def test_docs_cli_md_matches_the_parser() -> None:
    path = REPO / "docs" / "cli.md"
    assert path.exists(), "docs/cli.md is missing: run `python -m core.cli.docs > docs/cli.md`"
    assert path.read_text(encoding="utf-8") == generate(), (
        "docs/cli.md is out of date: run `python -m core.cli.docs > docs/cli.md`"
    )


def test_generator_covers_every_command() -> None:
    from core.cli.main import load_commands

    text = generate()
    for name in load_commands():
        assert f"## `factory {name}`" in text, name
    proc = subprocess.run(
        [sys.executable, "-m", "core.cli.docs"],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == text
