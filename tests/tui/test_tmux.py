"""End to end: the real `factory tui` in a real terminal (tmux), driven by keys."""

from __future__ import annotations

import os
import shlex
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from core.foundation.workspace import Workspace
from tests.conftest import REPO
from tui.screens.base import TYPING

pytestmark = pytest.mark.slow

TMUX = shutil.which("tmux")


class Pane:
    """`factory tui` in a detached tmux session: send keys, read the screen, and its exit
    status, which the pane's shell writes to a file. tmux's own `pane_dead_status` was not
    used: on a loaded machine the tmux server once left the exited app a zombie for over
    10 s, so the status never came."""

    def __init__(self, socket: str, workspace: Path, status_file: Path) -> None:
        self.base = [str(TMUX), "-L", socket]
        self.status_file = status_file
        env = {
            **os.environ,
            "PYTHONPATH": str(REPO),
            "FACTORY_NOW": os.environ["FACTORY_NOW"],
            "FACTORY_SESSION": "tmux-e2e",
            "TERM": "xterm-256color",
        }
        app = f"{shlex.quote(sys.executable)} -m core.cli.main tui"
        command = (
            f"cd {shlex.quote(str(workspace))} && {app}; "
            f"echo $? > {shlex.quote(str(status_file))}.tmp && "
            f"mv {shlex.quote(str(status_file))}.tmp {shlex.quote(str(status_file))}"
        )
        subprocess.run(
            [*self.base, "new-session", "-d", "-s", "e2e", "-x", "120", "-y", "40", command],
            check=True,
            env=env,
        )
        # Keep the pane after the app exits, so a failure can show the last screen.
        self("set-option", "-t", "e2e", "remain-on-exit", "on")

    def __call__(self, *args: str) -> str:
        return subprocess.run(
            [*self.base, *args], capture_output=True, text=True, check=False
        ).stdout

    def keys(self, *keys: str) -> None:
        self("send-keys", "-t", "e2e", *keys)

    def screen(self) -> str:
        return self("capture-pane", "-p", "-t", "e2e")

    def wait(self, needle: str, timeout: float = 15.0, *, present: bool = True) -> str:
        deadline = time.monotonic() + timeout
        screen = ""
        while time.monotonic() < deadline:
            screen = self.screen()
            if (needle in screen) == present:
                return screen
            time.sleep(0.2)
        state = "not on" if present else "still on"
        raise AssertionError(f"{needle!r} {state} screen after {timeout}s:\n{screen}")

    def exit_status(self, timeout: float = 15.0) -> int | None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.status_file.exists():
                return int(self.status_file.read_text().strip())
            time.sleep(0.2)
        return None

    def close(self) -> None:
        self("kill-server")


@pytest.fixture
def pane(tui_ws: Workspace, tmp_path: Path) -> Iterator[Pane]:
    if TMUX is None:
        pytest.skip("tmux is not installed (.ci/run installs it)")
    opened = Pane(f"factory-tui-{os.getpid()}", tui_ws.root, tmp_path / "exit-status")
    try:
        yield opened
    finally:
        opened.close()


def test_factory_tui_in_tmux_navigates_queries_and_quits(pane: Pane) -> None:
    screen = pane.wait("classification on")  # the models are in, not just headings
    assert "rain" in screen and "o Overview" in screen
    pane.keys("s")
    pane.wait("Press / to write a SELECT")
    pane.keys("/")
    # Type only once the box shows it has focus: keys sent earlier are screen switches (a
    # loaded CI machine once took longer than a fixed 0.3 s to move focus).
    pane.wait(TYPING)
    pane.keys("C-u")
    pane.keys("-l", "SELECT count(*) AS total_events FROM events")
    pane.keys("Enter")
    screen = pane.wait("1 rows in")
    assert "total_events" in screen
    pane.keys("Escape")
    pane.wait(TYPING, present=False)
    pane.keys("h")
    pane.wait("read-only commands")  # the History screen's own summary line
    pane.keys("q")
    status = pane.exit_status()
    assert status == 0, f"factory tui exited {status} (None: still running):\n{pane.screen()}"
