"""docs/errors.md is generated from the error code table and must match it."""

from __future__ import annotations

import subprocess
import sys

from core.foundation.error_codes import ERROR_CODES, generate
from tests.conftest import REPO

COMMAND = "python -m core.foundation.error_codes > docs/errors.md"


def test_docs_errors_md_matches_the_table() -> None:
    path = REPO / "docs" / "errors.md"
    assert path.exists(), f"docs/errors.md is missing: run `{COMMAND}`"
    assert path.read_text(encoding="utf-8") == generate(), (
        f"docs/errors.md is out of date: run `{COMMAND}`"
    )


def test_the_generator_lists_every_code_with_its_exit_code() -> None:
    text = generate()
    for code, row in ERROR_CODES.items():
        assert f"| `{code}` | {int(row.exit_code)} | {row.meaning} |" in text, code
    proc = subprocess.run(
        [sys.executable, "-m", "core.foundation.error_codes"],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == text
