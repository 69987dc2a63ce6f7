"""`factory` ends without native teardown once its answer is out (ADR 0017)."""

from __future__ import annotations

import shlex
import subprocess
import sys
import textwrap
from pathlib import Path

from tests.conftest import REPO

# A stand-in for a native library's static object (whose destructor aborted the process
# with exit -6 after a correct answer): it reports when it is torn down. `atexit` handlers
# are Python's own and must still run.
PROGRAM = textwrap.dedent(
    """
    import atexit, sys

    class Static:
        def __del__(self):
            sys.__stderr__.write("torn down\\n")

    KEEP = Static()
    atexit.register(lambda: sys.stderr.write("exit handler ran\\n"))
    sys.argv = ["factory", *sys.argv[1:]]
    from core.cli.main import main
    main()
    """
)


ENV = {"PYTHONPATH": str(REPO), "PATH": "/usr/bin:/bin", "FACTORY_SESSION": "exit-test"}


def run(cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", PROGRAM, *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=60,
        env=ENV,
    )


def test_the_answer_and_code_survive_and_teardown_is_skipped(workspace: Path) -> None:
    done = run(workspace, "status", "--json")
    assert done.returncode == 0, done.stderr
    assert '"ok": true' in done.stdout and done.stdout.rstrip().endswith("}")
    assert "exit handler ran" in done.stderr
    assert "torn down" not in done.stderr


def test_a_failing_command_keeps_its_exit_code(workspace: Path) -> None:
    done = run(workspace, "show", "r-doesnotexist", "--json")
    assert done.returncode == 3, done.stderr
    assert '"ok": false' in done.stdout
    assert "torn down" not in done.stderr


def test_a_reader_that_stops_early_still_gets_a_clean_exit(workspace: Path) -> None:
    # `factory query --tables --md | head -1`: the reader may close the pipe before the
    # answer is all written.
    command = shlex.join([sys.executable, "-c", PROGRAM, "query", "--tables", "--md"])
    shell = subprocess.run(
        f"{command} | head -1",
        shell=True,
        cwd=workspace,
        capture_output=True,
        text=True,
        timeout=60,
        env=ENV,
    )
    assert shell.stdout.startswith("# factory query")
    assert "Traceback" not in shell.stderr
