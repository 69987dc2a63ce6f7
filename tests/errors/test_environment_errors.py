"""A read-only folder or a full disk is the environment's fault, not a bug: exit 3 with a
code naming the path, and nothing half-written.

Real `factory` processes meet real refusals from the kernel:
- EACCES: the folder is `chmod 0o555`. Root ignores that through CAP_DAC_OVERRIDE, so when
  the tests run as root the launcher first drops that capability (and CAP_DAC_READ_SEARCH,
  CAP_FOWNER) from its bounding set with `prctl`; after `exec` the process is a root that
  obeys file modes like any user. The test skips when that is not possible.
- EFBIG: the launcher sets RLIMIT_FSIZE (`ulimit -f`) below the size of the report, so the
  kernel refuses to grow the file part-way through the write. That takes the same way
  through the CLI driver as ENOSPC and EDQUOT (a tmpfs small enough to fill is not
  available here), and it leaves a part-written temporary file behind if anything would.
"""

from __future__ import annotations

import errno
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from core.cli.main import environment_error, unexpected_error
from core.foundation.errors import ExitCode
from tests.conftest import REPO, Ran, run_factory

LAUNCHER = """
import ctypes, os, resource, sys

mode, limit = sys.argv[1], int(sys.argv[2])
if mode == "obey-modes" and os.geteuid() == 0:
    libc = ctypes.CDLL(None, use_errno=True)
    PR_CAPBSET_DROP = 24
    for cap in (1, 2, 3):  # CAP_DAC_OVERRIDE, CAP_DAC_READ_SEARCH, CAP_FOWNER
        if libc.prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) != 0:
            sys.exit(97)
if mode == "file-size":
    resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))
os.execv(sys.executable, [sys.executable, *sys.argv[3:]])
"""


def launch(mode: str, python_args: list[str], *, cwd: Path, limit: int = 0) -> Ran:
    """Run Python with `python_args` under `mode`: "obey-modes" (file modes bind even
    root) or "file-size" (no file may grow past `limit` bytes)."""
    env = {**os.environ, "PYTHONPATH": str(REPO), "NO_COLOR": "1", "COLUMNS": "120"}
    env.pop("FACTORY_WORKSPACE", None)
    env["FACTORY_SESSION"] = "env-errors"
    proc = subprocess.run(
        [sys.executable, "-c", LAUNCHER, mode, str(limit), *python_args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    return Ran(proc.returncode, proc.stdout, proc.stderr)


def run_limited(mode: str, *args: str, cwd: Path, limit: int = 0) -> Ran:
    """Run the real `factory` command under `mode` (see `launch`)."""
    return launch(mode, ["-m", "core.cli.main", *args], cwd=cwd, limit=limit)


@pytest.fixture
def read_only(tmp_path: Path) -> Iterator[Any]:
    """Make folders read-only for a process started by `run_limited("obey-modes", ...)`;
    skips when the kernel would still let it write; restores the modes afterwards."""
    probe = tmp_path / "probe"
    probe.mkdir()
    probe.chmod(0o555)
    tried = launch("obey-modes", ["-c", f"open({str(probe / 'x')!r}, 'w')"], cwd=tmp_path)
    if tried.code == 97 or "PermissionError" not in tried.stderr:
        probe.chmod(0o755)
        pytest.skip("cannot make a folder read-only for this user here")
    locked: list[Path] = [probe]

    def lock(folder: Path) -> None:
        folder.chmod(0o555)
        locked.append(folder)

    yield lock
    for folder in locked:
        folder.chmod(0o755)


@pytest.fixture
def snapshotted(workspace: Path) -> Path:
    made = run_factory("data", "snapshot", "--json", cwd=workspace)
    assert made.code == 0, made.stdout + made.stderr
    return workspace


def leftovers(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir())


@pytest.mark.slow
def test_a_read_only_reports_folder_is_exit_3_naming_the_report(
    snapshotted: Path, read_only: Any
) -> None:
    reports = snapshotted / "reports"
    read_only(reports)
    ran = run_limited(
        "obey-modes", "check", "features", "weather_v2", "--budget", "1", "--json",
        cwd=snapshotted,
    )  # fmt: skip
    assert ran.code == ExitCode.INPUT, ran.stdout + ran.stderr
    error = ran.doc["error"]
    assert error["code"] == "not_writable"
    path = Path(error["details"]["path"])
    assert path.parent == reports and path.name.startswith("pit-") and path.suffix == ".json"
    assert str(path) in error["message"] and "Permission denied" in error["message"]
    assert error["details"]["errno"] == "EACCES"
    assert str(reports) in error["hint"] and "bug" not in error["hint"]
    assert leftovers(reports) == []


def test_a_read_only_logs_folder_does_not_fail_a_read(snapshotted: Path, read_only: Any) -> None:
    events = snapshotted / "logs" / "events"
    for folder in [*events.iterdir(), events]:  # the day's partition exists already
        read_only(folder)
    ran = run_limited("obey-modes", "status", "--json", cwd=snapshotted)
    assert ran.code == 0, ran.stdout + ran.stderr
    assert "could not write the event log" in ran.stderr
    assert "Permission denied" in ran.stderr


@pytest.mark.slow
def test_a_full_disk_is_exit_3_and_leaves_nothing_half_written(snapshotted: Path) -> None:
    reports = snapshotted / "reports"
    ran = run_limited(
        "file-size", "check", "features", "weather_v2", "--budget", "1", "--json",
        cwd=snapshotted, limit=1024,
    )  # fmt: skip
    assert ran.code == ExitCode.INPUT, ran.stdout + ran.stderr
    error = ran.doc["error"]
    assert error["code"] == "disk_full"
    path = Path(error["details"]["path"])
    assert path.parent == reports and path.name.startswith("pit-") and path.suffix == ".json"
    assert error["details"]["errno"] == "EFBIG"
    assert "df -h" in error["hint"] and "bug" not in error["hint"]
    assert leftovers(reports) == []
    again = run_factory("check", "features", "weather_v2", "--budget", "1", "--json",
                        cwd=snapshotted)  # fmt: skip
    assert again.code == 0, again.stdout
    assert leftovers(reports) == [path.name]


@pytest.mark.parametrize(
    ("number", "code"),
    [
        (errno.EACCES, "not_writable"),
        (errno.EPERM, "not_writable"),
        (errno.EROFS, "not_writable"),
        (errno.ENOSPC, "disk_full"),
        (errno.EDQUOT, "disk_full"),
        (errno.EFBIG, "disk_full"),
    ],
)
def test_each_refusal_maps_to_its_code_naming_the_path(number: int, code: str) -> None:
    error = unexpected_error(OSError(number, os.strerror(number), "/ws/cards/rain.md"))
    assert error.code == code and error.exit_code == ExitCode.INPUT
    assert error.message == f"/ws/cards/rain.md: {os.strerror(number)}"
    assert error.details["folder"] == "/ws/cards"
    assert "/ws/cards" in (error.hint or "")


def test_a_refusal_behind_another_exception_is_still_found() -> None:
    cause = OSError(errno.ENOSPC, "No space left on device", "/ws/reports/r-1.json")
    try:
        raise RuntimeError("writer failed") from cause
    except RuntimeError as exc:
        error = unexpected_error(exc)
    assert error.code == "disk_full"


def test_other_failures_stay_internal_errors() -> None:
    for exc in (
        FileNotFoundError(errno.ENOENT, "No such file or directory", "/x"),
        OSError("no errno"),
        KeyError("run_id"),
    ):
        assert environment_error(exc) is None
        error = unexpected_error(exc)
        assert error.code == "internal" and error.exit_code == ExitCode.INTERNAL
