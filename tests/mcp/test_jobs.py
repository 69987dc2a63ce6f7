"""A command that trains answers with a job at once; the job is files, so it is polled to its
end, seen by a restarted server, never duplicated while running, and a killed runner leaves
a `lost` job rather than a false outcome."""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path
from typing import Any

import pytest

from core.cli.jobs import jobs_dir, read_job, start_job
from core.cli.main import load_commands
from core.foundation.errors import FactoryError
from core.foundation.workspace import Workspace
from core.mcp.server import EXIT_CODE_META, build_server
from tests.conftest import run_factory
from tests.mcp.conftest import ENV


async def _poll(client: Any, job_id: str, timeout: float = 120) -> dict[str, Any]:
    import anyio

    deadline = time.monotonic() + timeout
    while True:
        result = await client.call_tool("job", {"job_id": job_id})
        data: dict[str, Any] = result.structured_content["data"]
        if data["status"] != "running":
            return data
        assert time.monotonic() < deadline, "the job did not finish"
        await anyio.sleep(0.3)


def _wait(ws: Workspace, job_id: str, timeout: float = 120) -> Any:
    deadline = time.monotonic() + timeout
    while (job := read_job(ws, job_id)).status == "running":
        assert time.monotonic() < deadline, "the job did not finish"
        time.sleep(0.2)
    return job


@pytest.mark.slow
async def test_train_returns_a_job_whose_result_is_the_cli_answer(mcp_ws: dict[str, Any]) -> None:
    from mcp import Client

    root = mcp_ws["root"]
    arguments = {"model": "rain", "hparams": "tiny2", "features": "weather_v1", "threads": 2}
    server, _ = build_server(Workspace(root), allow_writes=True)
    started = time.monotonic()
    async with Client(server) as client:
        answer = await client.call_tool("train", arguments)
        took = time.monotonic() - started
        doc = answer.structured_content
        assert doc["ok"] is True and doc["schema"] == "factory.job/1", doc
        assert doc["command"] == "train" and doc["data"]["status"] == "running"
        assert (answer.meta or {})[EXIT_CODE_META] == 0
        job_id = doc["data"]["job_id"]
        assert doc["next"][0]["command"] == f"factory job {job_id}"
        # The same training asked again while it runs is the same job, not a second one.
        again = await client.call_tool("train", arguments)
        assert again.structured_content["data"]["job_id"] == job_id
        assert again.structured_content["data"]["reused"] is True
        finished = await _poll(client, job_id)
    assert took < 5, f"the call waited for the training ({took:.1f} s)"
    assert finished["status"] == "finished" and finished["exit_code"] == 0
    trained = finished["result"]
    assert trained["ok"] is True and trained["schema"] == load_commands()["train"].schema
    run_id = trained["data"]["run_id"]
    assert (root / "reports" / f"{run_id}.json").is_file()
    assert any("fold" in line for line in finished["progress"])
    # The same training on the command line now reuses that run: the same run, same data.
    cli = run_factory(
        "train", "rain", "--hparams", "tiny2", "--features", "weather_v1", "--threads", "2",
        "--json", cwd=root, env=ENV,
    )  # fmt: skip
    assert cli.code == 0 and cli.doc["data"]["run_id"] == run_id

    # A restarted server (a new process in real life) still knows the job.
    server, _ = build_server(Workspace(root), allow_writes=False)
    async with Client(server) as client:
        seen = await client.call_tool("job", {"job_id": job_id})
        listed = await client.call_tool("jobs", {})
    assert seen.structured_content["data"]["status"] == "finished"
    assert seen.structured_content["data"]["result"] == trained
    assert job_id in [j["job_id"] for j in listed.structured_content["data"]["jobs"]]
    # And so does the CLI, with the same data.
    shown = run_factory("job", job_id, "--json", cwd=root, env=ENV)
    assert shown.doc["data"] == seen.structured_content["data"]


async def test_bad_arguments_start_no_job(mcp_ws: dict[str, Any]) -> None:
    from mcp import Client

    root = mcp_ws["root"]
    before = sorted(p.name for p in jobs_dir(Workspace(root)).iterdir())
    server, _ = build_server(Workspace(root), allow_writes=True)
    async with Client(server) as client:
        typo = await client.call_tool("train", {"model": "rain", "threads": "two"})
        unknown = await client.call_tool("train", {"model": "rain", "epochs": 3})
        choice = await client.call_tool("gate", {"run": mcp_ws["run_a"], "to": "nowhere"})
    for result in (typo, unknown, choice):
        assert result.is_error is True
        assert result.structured_content["error"]["code"] == "usage"
        assert (result.meta or {})[EXIT_CODE_META] == 2
    assert sorted(p.name for p in jobs_dir(Workspace(root)).iterdir()) == before


def test_a_killed_runner_leaves_a_lost_job(mcp_ws: dict[str, Any]) -> None:
    ws = Workspace(mcp_ws["root"])
    job = start_job(
        ws, "train", ["train", "--hparams=tiny2", "--features=weather_v1", "--", "temp"]
    )
    assert job.status == "running"
    pid = int(__import__("json").loads((jobs_dir(ws) / job.job_id / "job.json").read_text())["pid"])
    os.killpg(pid, signal.SIGKILL)  # the runner and the training it started
    deadline = time.monotonic() + 30
    while (found := read_job(ws, job.job_id)).status == "running":
        assert time.monotonic() < deadline
        time.sleep(0.1)
    assert found.status == "lost" and found.exit_code is None and found.result is None
    assert not (jobs_dir(ws) / job.job_id / "result.json").exists()
    leftovers = [p.name for p in (jobs_dir(ws) / job.job_id).iterdir() if p.name.startswith(".")]
    assert leftovers == [], "no temporary file is left behind"


def test_an_unknown_job_is_an_input_error(mcp_ws: dict[str, Any]) -> None:
    ws = Workspace(mcp_ws["root"])
    for job_id in ("j-000000000000", "../../etc", "j-"):
        with pytest.raises(FactoryError) as caught:
            read_job(ws, job_id)
        assert caught.value.code == "unknown_job"
    ran = run_factory("job", "j-000000000000", "--json", cwd=mcp_ws["root"], env=ENV)
    assert ran.code == 3 and ran.doc["error"]["code"] == "unknown_job"


def test_jobs_lists_newest_first(mcp_ws: dict[str, Any], tmp_path: Path) -> None:
    ws = Workspace(mcp_ws["root"])
    second = start_job(ws, "train", ["train", "--hparams=tiny", "--", "rain"])
    _wait(ws, second.job_id)
    ran = run_factory("jobs", "--json", cwd=mcp_ws["root"], env=ENV)
    listed = [j["job_id"] for j in ran.doc["data"]["jobs"]]
    assert listed[0] == second.job_id and mcp_ws["job_id"] in listed


def test_old_ended_jobs_are_forgotten_and_the_newest_and_running_kept(tmp_path: Path) -> None:
    import json
    import subprocess
    import sys
    from datetime import timedelta

    from core.cli.jobs import KEEP_JOB_DAYS, KEEP_JOBS, forget_old_jobs, list_jobs
    from core.foundation import clock
    from core.foundation.workspace_init import init_workspace

    init_workspace(tmp_path / "ws")
    ws = Workspace(tmp_path / "ws")

    def planted(n: int, days: float, pid: int = 0) -> str:  # minutes=n orders them
        job_id = f"j-{n:012x}"
        folder = jobs_dir(ws) / job_id
        folder.mkdir(parents=True)
        started = clock.iso(clock.now() - timedelta(days=days, minutes=n))
        spec = {"job_id": job_id, "command": "train", "argv": [], "started_at": started}
        (folder / "job.json").write_text(json.dumps({**spec, "pid": pid}))
        if not pid:
            ended = {"exit_code": 0, "finished_at": started}
            (folder / "result.json").write_text(json.dumps(ended))
        return job_id

    recent = [planted(n, 1) for n in range(KEEP_JOBS)]
    old = [planted(1000 + n, KEEP_JOB_DAYS + 1) for n in range(5)]
    newer_old = planted(2000, KEEP_JOB_DAYS - 3)  # past the newest 50, not a month old
    (jobs_dir(ws) / ".gone-j-00000000dead" / "job.json").parent.mkdir()  # a killed forget's
    # A runner still running a month later: its command line names its job, as a real one's.
    runner = subprocess.Popen(
        [sys.executable, "-c", "import time; time.sleep(60)", "j-000000000bb8"]
    )
    try:
        running = planted(3000, KEEP_JOB_DAYS + 5, pid=runner.pid)
        assert read_job(ws, running).status == "running"
        forgotten = forget_old_jobs(ws, list_jobs(ws))
    finally:
        runner.kill()
        runner.wait()
    assert sorted(forgotten) == sorted(old)
    assert {p.name for p in jobs_dir(ws).iterdir()} == {*recent, newer_old, running}
    # Fewer than the kept number: nothing goes, however old.
    assert forget_old_jobs(ws, list_jobs(ws)[-3:]) == []
