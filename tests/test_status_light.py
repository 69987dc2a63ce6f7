"""`factory status --json` stays light: no catboost, evidently, textual or pandas.

Measured the Harlequin way: run the real CLI driver in a fresh interpreter, then list which
heavy modules ended up in `sys.modules`.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from tests.conftest import REPO

HEAVY = ("catboost", "evidently", "textual", "pandas", "duckdb", "pandera", "numpy", "rich")
FORBIDDEN = {"catboost", "evidently", "textual", "pandas"}

WRAPPER = """
import contextlib, io, json, sys
from core.cli.main import run
out = io.StringIO()
with contextlib.redirect_stdout(out):
    code = run(sys.argv[1:])
loaded = [m for m in {heavy!r} if m in sys.modules]
print(json.dumps({{"code": int(code), "loaded": loaded, "stdout": out.getvalue()}}))
"""


def _loaded_after(args: list[str], cwd: Path) -> dict[str, object]:
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    env.pop("FACTORY_WORKSPACE", None)
    env.pop("FACTORY_SESSION", None)
    proc = subprocess.run(
        [sys.executable, "-c", WRAPPER.format(heavy=HEAVY), *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout.strip().splitlines()[-1])


def test_status_json_imports_no_heavy_library(workspace: Path) -> None:
    result = _loaded_after(["status", "--json"], workspace)
    assert result["code"] == 0
    assert json.loads(str(result["stdout"]))["ok"] is True
    loaded = set(result["loaded"])  # type: ignore[arg-type]
    assert not loaded & FORBIDDEN, f"factory status --json imported {sorted(loaded & FORBIDDEN)}"


def test_history_json_imports_no_heavy_library(workspace: Path) -> None:
    result = _loaded_after(["history", "--json"], workspace)
    assert result["code"] == 0
    loaded = set(result["loaded"])  # type: ignore[arg-type]
    assert not loaded & (FORBIDDEN | {"duckdb"}), sorted(loaded)


def test_import_core_does_not_import_textual() -> None:
    code = (
        "import sys, core\n"
        "import core.cli.main, core.overview.status, core.overview.history, core.lens.store, core.render.rich_text\n"
        "print(','.join(m for m in ('textual', 'tui') if m in sys.modules))"
    )
    proc = subprocess.run(
        [sys.executable, "-c", code],
        env={**os.environ, "PYTHONPATH": str(REPO)},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "", f"core pulled in {proc.stdout.strip()}"
