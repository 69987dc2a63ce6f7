"""`factory mcp`: the same commands for any MCP client, over stdio; `factory job(s)`: the
commands it runs in the background.

The MCP server is a face above the CLI (`core.mcp`), so the CLI never imports it: it is
found through the `factory.faces` entry point (`mcp = "core.mcp.server:run"` in
pyproject.toml), as the dashboard is (`core/cli/commands/tui.py`)."""

from __future__ import annotations

from core.cli.commands.tui import face
from core.cli.registry import Context, Reply, arg, command


@command(
    "mcp",
    help="serve these commands to an MCP client over stdio (read-only unless --allow-writes)",
    description="Serve factory's commands as MCP tools over stdin/stdout, for an assistant's "
    "client (Claude Desktop, Claude Code, Cursor, ...). Each tool returns the envelope "
    "`factory X --json` prints. Read-only unless started with --allow-writes; commands that "
    "train run as jobs to poll with the `job` tool.",
    schema="factory.mcp/1",
    args=[
        arg(
            "--allow-writes",
            action="store_true",
            help="also offer the commands that write (plan, train, promote, note, adr, ...)",
        )
    ],
    mutating=False,
    interactive=True,
)
def mcp(ctx: Context) -> Reply:
    served = face("mcp")(ctx.workspace, allow_writes=ctx.args.allow_writes)
    return Reply({"closed": True, "calls": served})


@command(
    "job",
    help="a background command's status and, once finished, its envelope",
    schema="factory.job/1",
    args=[arg("job_id", help="job id (j-...), as `factory mcp` returned it")],
    mutating=False,
)
def job(ctx: Context) -> Reply:
    from core.cli.jobs import read_job, still_running

    found = read_job(ctx.workspace, ctx.args.job_id)
    later = [still_running(found)] if found.status == "running" else []
    return Reply(found, next=[*later, *((found.result or {}).get("next") or [])])


@command(
    "jobs", help="the background commands, newest first", schema="factory.jobs/1", mutating=False
)
def jobs(ctx: Context) -> Reply:
    from core.cli.jobs import JobList, list_jobs, still_running

    found = list_jobs(ctx.workspace)
    return Reply(JobList(found), next=[still_running(j) for j in found if j.status == "running"])


COMMANDS = (mcp, job, jobs)
