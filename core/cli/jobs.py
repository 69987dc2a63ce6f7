"""Jobs: a factory command run in the background, its outcome kept in files.

`factory mcp` starts a command that may run for minutes (`Command.background`: training)
as a job instead of holding a call open past a client's timeout; `factory job ID` (and the
MCP `job` tool) reads it. A job is a folder `.factory/jobs/<job_id>/`:

- `job.json`: what was asked (command, argv, started_at, the runner's pid), written once;
- `stdout.json`: the envelope, exactly as `factory ... --json` printed it;
- `stderr.log`: the command's narration (progress lines);
- `result.json`: exit code and finish time, written atomically when the command ended.

Files, not memory: a job outlives the MCP server that started it, and a restarted server
(or a person with `factory jobs`) sees it. The runner (`python -m core.cli.jobs run DIR
ARGV...`) starts the real `factory` command, waits, and writes `result.json`; it runs in its
own session, so a client closing the server does not end a training half-way. A runner
killed before it wrote `result.json` leaves a `lost` job, never a false `finished`. Ended
jobs are kept for a month, and the newest 50 whatever their age (`forget_old_jobs`).
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import secrets
import subprocess
import sys
import time
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any, TypedDict

from core.foundation import clock
from core.foundation.atomic import write_json
from core.foundation.errors import FactoryError
from core.foundation.suggest import Next
from core.foundation.workspace import Workspace

SCHEMA = "factory.job/1"
JOB_ID = re.compile(r"^j-[0-9a-f]{12}$")
PROGRESS_LINES = 5
"""How many last lines of the command's narration a job shows (its progress)."""
KEEP_JOBS = 50
KEEP_JOB_DAYS = 30
"""A job that ended is forgotten when a new one starts once it is older than this many days
and not among the newest `KEEP_JOBS`: what a job did lives on in its runs, events and
reports; its folder is only the answer an MCP client came back for."""

_CHILDREN: dict[int, subprocess.Popen[bytes]] = {}
"""Runners this process started, by pid: polled before a liveness check, so a finished
child is reaped rather than read as a live zombie."""


def jobs_dir(ws: Workspace) -> Path:
    return ws.state_dir / "jobs"


@dataclass(frozen=True)
class Job:
    """One background command and what is known of it now."""

    job_id: str
    command: str
    """The command's name, e.g. `train`."""
    argv: list[str]
    """The arguments after `factory`, as the runner passed them."""
    status: str
    """`running`, `finished` (the command ended; see `exit_code` and `result`), or `lost`
    (its runner is gone without an outcome: killed, or the machine restarted)."""
    started_at: str
    finished_at: str | None
    seconds: float | None
    """Wall time so far (running) or in all (finished)."""
    exit_code: int | None
    """The command's exit code; None until finished, and for a command that finished after
    its runner was killed."""
    ok: bool | None
    """The envelope's `ok` (None until finished)."""
    result: dict[str, Any] | None
    """The command's envelope, as `factory ... --json` printed it (None until finished)."""
    progress: list[str]
    """The last lines the command wrote on stderr."""
    log: str
    """The command's full stderr, relative to the workspace."""
    reused: bool = False
    """A job with the same arguments was already running, and this is it."""

    def to_dict(self) -> dict[str, Any]:
        return {
            "job_id": self.job_id,
            "command": self.command,
            "argv": self.argv,
            "status": self.status,
            "started_at": self.started_at,
            "finished_at": self.finished_at,
            "seconds": self.seconds,
            "exit_code": self.exit_code,
            "ok": self.ok,
            "result": self.result,
            "progress": self.progress,
            "log": self.log,
            "reused": self.reused,
        }

    def summary(self) -> JobRow:
        """The listing's row: everything but the result and the progress lines."""
        return JobRow(
            job_id=self.job_id, command=self.command, argv=self.argv, status=self.status,
            started_at=self.started_at, finished_at=self.finished_at, seconds=self.seconds,
            exit_code=self.exit_code, ok=self.ok, log=self.log,
        )  # fmt: skip


class JobRow(TypedDict):
    """A job in `factory jobs`: `factory job ID` has its result and progress too."""

    job_id: str
    command: str
    argv: list[str]
    status: str
    started_at: str
    finished_at: str | None
    seconds: float | None
    exit_code: int | None
    ok: bool | None
    log: str


class JobListData(TypedDict):
    jobs: list[JobRow]


@dataclass(frozen=True)
class JobList:
    jobs: list[Job]

    def to_dict(self) -> JobListData:
        return {"jobs": [job.summary() for job in self.jobs]}


def _read_json(path: Path) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def _alive(pid: int, job_id: str) -> bool:
    """Whether the runner `pid` of `job_id` still runs (not a zombie, not a reused pid)."""
    child = _CHILDREN.get(pid)
    if child is not None and child.poll() is not None:
        _CHILDREN.pop(pid, None)
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    proc = Path("/proc") / str(pid)
    if proc.is_dir():
        try:
            stat = (proc / "stat").read_text()
            if stat.rsplit(")", 1)[1].split()[0] == "Z":
                return False
            return job_id.encode() in (proc / "cmdline").read_bytes()
        except (OSError, IndexError):
            return False
    return True


def _tail(path: Path, lines: int) -> list[str]:
    try:
        with open(path, "rb") as handle:
            handle.seek(0, os.SEEK_END)
            size = handle.tell()
            handle.seek(max(0, size - 16384))
            text = handle.read().decode("utf-8", errors="replace")
    except OSError:
        return []
    # A progress bar redraws with carriage returns: keep what it showed last.
    shown = [line.rsplit("\r", 1)[-1].rstrip() for line in text.splitlines()]
    return [line for line in shown if line.strip()][-lines:]


def read_job(ws: Workspace, job_id: str) -> Job:
    """The job `job_id` as it stands now; `unknown_job` when there is none."""
    folder = jobs_dir(ws) / job_id
    spec = _read_json(folder / "job.json") if JOB_ID.match(job_id) else None
    if not isinstance(spec, dict):
        known = [job.job_id for job in list_jobs(ws)[:5]]
        raise FactoryError(
            "unknown_job",
            f"No job {job_id!r} in {jobs_dir(ws)}",
            hint="`factory jobs` lists the jobs (a job is started by `factory mcp` for a "
            "command that trains).",
            details={"job_id": job_id, "recent": known},
        )
    outcome = _read_json(folder / "result.json")
    started = str(spec.get("started_at"))
    result: dict[str, Any] | None = None
    if isinstance(outcome, dict):
        status = "finished"
        finished_at: str | None = str(outcome.get("finished_at"))
        exit_code: int | None = int(outcome.get("exit_code", 4))
        envelope = _read_json(folder / "stdout.json")
        result = envelope if isinstance(envelope, dict) else None
        seconds = outcome.get("seconds")
    else:
        status = "running" if _alive(int(spec.get("pid", 0)), job_id) else "lost"
        finished_at = None
        exit_code = None
        try:
            seconds = round((clock.now() - clock.parse_iso(started)).total_seconds(), 1)
        except ValueError:
            seconds = None
        if status == "lost":
            # The runner died, but the command may have ended first: its envelope is
            # written in one piece at the very end, so a whole one is its outcome.
            envelope = _read_json(folder / "stdout.json")
            if isinstance(envelope, dict) and "ok" in envelope:
                status, result, seconds = "finished", envelope, None
    return Job(
        job_id=job_id,
        command=str(spec.get("command")),
        argv=[str(a) for a in spec.get("argv", [])],
        status=status,
        started_at=started,
        finished_at=finished_at,
        seconds=seconds,
        exit_code=exit_code,
        ok=bool(result.get("ok")) if result is not None else None,
        result=result,
        progress=_tail(folder / "stderr.log", PROGRESS_LINES),
        log=str((folder / "stderr.log").relative_to(ws.root)),
    )


def list_jobs(ws: Workspace) -> list[Job]:
    """Every job, newest first."""
    try:
        names = [p.name for p in jobs_dir(ws).iterdir() if JOB_ID.match(p.name)]
    except OSError:
        return []
    found = []
    for name in names:
        with contextlib.suppress(FactoryError):
            found.append(read_job(ws, name))
    return sorted(found, key=lambda job: (job.started_at, job.job_id), reverse=True)


def still_running(job: Job) -> Next:
    """The suggestion to look at a running job again."""
    return Next(
        f"factory job {job.job_id}",
        f"`{job.command}` is still running ({job.seconds or 0:.0f} s so far): ask again for "
        "its outcome",
        "high",
    )


def forget_old_jobs(ws: Workspace, jobs: list[Job]) -> list[str]:
    """Delete the folders of ended jobs (of `jobs`, newest first) past `KEEP_JOBS` and
    `KEEP_JOB_DAYS`; a running job is never touched. Returns the ids forgotten."""
    import shutil

    cutoff = clock.now() - timedelta(days=KEEP_JOB_DAYS)
    forgotten = []
    for job in jobs[KEEP_JOBS:]:
        try:
            old = clock.parse_iso(job.started_at) < cutoff
        except ValueError:
            old = False
        if job.status != "running" and old:
            # Out of sight in one rename, then deleted: a kill -9 half-way leaves a hidden
            # folder, swept by the next call, never a job with half its files.
            gone = jobs_dir(ws) / f".gone-{job.job_id}"
            with contextlib.suppress(OSError):
                (jobs_dir(ws) / job.job_id).rename(gone)
                forgotten.append(job.job_id)
    for left in jobs_dir(ws).glob(".gone-*") if jobs_dir(ws).is_dir() else []:
        shutil.rmtree(left, ignore_errors=True)
    return forgotten


def start_job(ws: Workspace, command: str, argv: list[str]) -> Job:
    """Start `factory ARGV --json` in the background (or return the same command's job that
    is still running) and return the job; ended jobs past the kept ones are forgotten."""
    jobs = list_jobs(ws)
    for job in jobs:
        if job.status == "running" and job.argv == argv:
            return Job(**{**job.__dict__, "reused": True})
    forget_old_jobs(ws, jobs)
    job_id = "j-" + secrets.token_hex(6)
    folder = jobs_dir(ws) / job_id
    folder.mkdir(parents=True)
    started_at = clock.iso()
    runner = [sys.executable, "-m", "core.cli.jobs", "run", str(folder), str(ws.root), *argv]
    env = {**os.environ, "FACTORY_WORKSPACE": str(ws.root)}
    with open(os.devnull, "rb") as devnull:
        child = subprocess.Popen(
            runner,
            cwd=ws.root,
            env=env,
            stdin=devnull,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
    _CHILDREN[child.pid] = child
    spec = {
        "job_id": job_id,
        "command": command,
        "argv": argv,
        "started_at": started_at,
        "pid": child.pid,
    }
    write_json(folder / "job.json", spec)
    return read_job(ws, job_id)


def _run(folder: Path, root: str, argv: list[str]) -> int:
    """The runner: `factory ARGV --json` in the workspace ROOT (its folder and
    `FACTORY_WORKSPACE`, not `--workspace`, so the answer's `next` reads as from inside it)
    with its streams in the job's files, then `result.json`."""
    started = time.perf_counter()
    # A flag after `--` would be read as a positional: put ours before it.
    at = argv.index("--") if "--" in argv else len(argv)
    command = [sys.executable, "-m", "core.cli.main", *argv[:at], "--json", *argv[at:]]
    env = {**os.environ, "FACTORY_WORKSPACE": root}
    with (
        open(folder / "stdout.json", "wb") as out,
        open(folder / "stderr.log", "wb") as err,
        open(os.devnull, "rb") as devnull,
    ):
        try:
            code = subprocess.call(
                command, cwd=root, env=env, stdin=devnull, stdout=out, stderr=err
            )
        except OSError as exc:
            err.write(f"factory: could not start the command: {exc}\n".encode())
            code = 4
    write_json(
        folder / "result.json",
        {
            "exit_code": code,
            "finished_at": clock.iso(),
            "seconds": round(time.perf_counter() - started, 1),
        },
    )
    return 0


def main(argv: list[str]) -> int:
    if len(argv) < 3 or argv[0] != "run":
        print("usage: python -m core.cli.jobs run JOB_DIR WORKSPACE ARGV...", file=sys.stderr)
        return 2
    return _run(Path(argv[1]), argv[2], argv[3:])


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
