"""End to end: the real `factory tui` in a real terminal (tmux), driven by keys."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from collections.abc import Callable, Iterator

import pytest

from core.workspace import Workspace
from tests.conftest import REPO
from tui.screens.base import TYPING

pytestmark = pytest.mark.slow

TMUX = shutil.which("tmux")


@pytest.fixture
def tmux(tui_ws: Workspace) -> Iterator[Callable[..., str]]:
    if TMUX is None:
        pytest.skip("tmux is not installed (.ci/run installs it)")
    socket = f"factory-tui-{os.getpid()}"
    base = [TMUX, "-L", socket]
    env = {
        **os.environ,
        "PYTHONPATH": str(REPO),
        "FACTORY_NOW": os.environ["FACTORY_NOW"],
        "FACTORY_SESSION": "tmux-e2e",
        "TERM": "xterm-256color",
    }
    command = f"cd {tui_ws.root} && exec {sys.executable} -m core.cli.main tui"
    subprocess.run(
        [*base, "new-session", "-d", "-s", "e2e", "-x", "120", "-y", "40", command],
        check=True,
        env=env,
    )
    # Keep the pane after the app exits, so the test can tell a clean quit from a crash.
    subprocess.run([*base, "set-option", "-t", "e2e", "remain-on-exit", "on"], check=True)

    def run(*args: str) -> str:
        return subprocess.run([*base, *args], capture_output=True, text=True, check=False).stdout

    try:
        yield run
    finally:
        subprocess.run([*base, "kill-server"], capture_output=True, check=False)


def wait_screen(
    tmux: Callable[..., str], needle: str, timeout: float = 15.0, *, present: bool = True
) -> str:
    deadline = time.monotonic() + timeout
    screen = ""
    while time.monotonic() < deadline:
        screen = tmux("capture-pane", "-p", "-t", "e2e")
        if (needle in screen) == present:
            return screen
        time.sleep(0.2)
    state = "not on" if present else "still on"
    raise AssertionError(f"{needle!r} {state} screen after {timeout}s:\n{screen}")


def test_factory_tui_in_tmux_navigates_queries_and_quits(tmux: Callable[..., str]) -> None:
    screen = wait_screen(tmux, "classification on")  # the models are in, not just headings
    assert "rain" in screen and "o Overview" in screen
    tmux("send-keys", "-t", "e2e", "s")
    wait_screen(tmux, "Press / to write a SELECT")
    tmux("send-keys", "-t", "e2e", "/")
    # Type only once the box shows it has focus: keys sent earlier are screen switches (a
    # loaded CI machine once took longer than a fixed 0.3 s to move focus).
    wait_screen(tmux, TYPING)
    tmux("send-keys", "-t", "e2e", "C-u")
    tmux("send-keys", "-t", "e2e", "-l", "SELECT count(*) AS total_events FROM events")
    tmux("send-keys", "-t", "e2e", "Enter")
    screen = wait_screen(tmux, "1 rows in")
    assert "total_events" in screen
    tmux("send-keys", "-t", "e2e", "Escape")
    wait_screen(tmux, TYPING, present=False)
    tmux("send-keys", "-t", "e2e", "h")
    wait_screen(tmux, "read-only commands")  # the History screen's own summary line
    tmux("send-keys", "-t", "e2e", "q")
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        dead, status, signal = (
            tmux(
                "display-message",
                "-p",
                "-t",
                "e2e",
                "#{pane_dead}|#{pane_dead_status}|#{pane_dead_signal}",
            ).strip()
            + "||"
        ).split("|")[:3]
        # tmux marks the pane dead a moment before it has reaped the exit status.
        if dead == "1" and (status or signal):
            screen = tmux("capture-pane", "-p", "-t", "e2e")
            assert (status, signal) == ("0", ""), (
                f"factory tui exited {status or signal}:\n{screen}"
            )
            return
        time.sleep(0.2)
    raise AssertionError("factory tui did not quit on q")
