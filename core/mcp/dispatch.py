"""Run a tool call through the CLI's own driver, in this process.

A call runs `core.cli.main.run(argv + --json)`, the very function `factory` runs, with
`sys.stdout` pointed at a buffer for the call: the envelope, the exit code, the events and
the error mapping are the CLI's own, so a tool's answer is what `factory X --json` prints.
One call at a time (a lock): the buffer is process-wide, and the core was written for one
command per process (component modules load into `sys.modules`, for one).

A command that trains (`Command.background`) is not run here: it becomes a job
(`core.cli.jobs`), a real `factory X --json` process whose envelope is read later.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import sys
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from core.foundation.errors import ExitCode, FactoryError
from core.foundation.workspace import WORKSPACE_ENV, Workspace
from core.mcp.tools import ToolSpec

_LOCK = threading.Lock()

PATH_ARGUMENTS = frozenset({"source", "file", "folder", "input", "output"})
"""Arguments that name a file or folder: an assistant's call may only reach inside its
workspace (a prompt can ask it to `validate /etc/passwd`, whose errors quote lines)."""
URL_ARGUMENTS = frozenset({"url"})
"""Arguments that name a server to call: loopback only (no request leaves the machine)."""
LOOPBACK = frozenset({"127.0.0.1", "localhost", "::1"})


@dataclass(frozen=True)
class Answer:
    """What a tool call returns: the envelope and the exit code `factory` would have ended
    with."""

    envelope: dict[str, Any]
    exit_code: int

    @property
    def text(self) -> str:
        """The envelope as compact JSON: the same document `--json` prints, without the
        indentation that only costs an assistant's context."""
        return json.dumps(self.envelope, ensure_ascii=False, separators=(",", ":"), default=str)


def _with_json(argv: list[str]) -> list[str]:
    """`argv` with `--json` before any `--` (after it, it would be read as a positional)."""
    at = argv.index("--") if "--" in argv else len(argv)
    return [*argv[:at], "--json", *argv[at:]]


def _document(text: str) -> dict[str, Any] | None:
    """The envelope in what the driver printed. Anything printed before it (a library that
    wrote on stdout, a bug the CLI would have too) goes to stderr, never to the client."""
    try:
        found = json.loads(text)
    except ValueError:
        start = text.rfind("\n{\n")
        if start < 0:
            return None
        sys.stderr.write(text[: start + 1])
        text = text[start + 1 :]
        try:
            found = json.loads(text)
        except ValueError:
            return None
    return found if isinstance(found, dict) and "ok" in found else None


def _failure(spec: ToolSpec, error: FactoryError) -> Answer:
    from core.render import envelope

    doc = envelope.failure(spec.command.name, spec.command.schema, error, [])
    return Answer(doc, int(error.exit_code))


def run_cli(argv: list[str], ws: Workspace) -> tuple[int, str]:
    """`factory ARGV` run in this process as the CLI runs it in `ws`: its exit code and its
    stdout. For the call's duration `sys.argv` is the call's (its `command` event records
    this call) and `FACTORY_WORKSPACE` names `ws`: the workspace is not given as
    `--workspace`, so `next` reads as from inside it, as an assistant bound to it needs."""
    from core.cli.main import run

    buffer = io.StringIO()
    with _LOCK:
        saved_argv, saved_ws = sys.argv, os.environ.get(WORKSPACE_ENV)
        sys.argv = ["factory", *argv]
        os.environ[WORKSPACE_ENV] = str(ws.root)
        try:
            with contextlib.redirect_stdout(buffer):
                try:
                    code = int(run(argv))
                except SystemExit as exc:  # argparse's --help, a command that exits
                    code = exc.code if isinstance(exc.code, int) else ExitCode.INTERNAL
        finally:
            sys.argv = saved_argv
            if saved_ws is None:
                os.environ.pop(WORKSPACE_ENV, None)
            else:
                os.environ[WORKSPACE_ENV] = saved_ws
    return code, buffer.getvalue()


def confine(arguments: dict[str, Any] | None, ws: Workspace) -> None:
    """Refuse a path argument outside the workspace (symlinks resolved), a URL that is not
    loopback, and a `remote` other than the configured one: the CLI lets a person point
    anywhere; a tool call may have been written by whoever wrote the assistant's input."""
    root = ws.root.resolve()
    for name, value in (arguments or {}).items():
        if value is None:
            continue
        if name in PATH_ARGUMENTS and value != "-":
            path = Path(str(value)).expanduser()
            resolved = (path if path.is_absolute() else ws.root / path).resolve()
            if not resolved.is_relative_to(root):
                raise FactoryError(
                    "outside_workspace",
                    f"{name} {str(value)!r} is outside the workspace {root}",
                    hint="Over MCP a tool reads and writes only inside its workspace: copy the "
                    "file into it, or run `factory` yourself for a path elsewhere.",
                    details={"argument": name, "value": str(value), "workspace": str(root)},
                )
        elif name in URL_ARGUMENTS:
            host = urlsplit(str(value)).hostname or ""
            if host not in LOOPBACK:
                raise FactoryError(
                    "outside_workspace",
                    f"{name} {str(value)!r} is not a server on this machine",
                    hint="Over MCP, `serve check --url` calls only 127.0.0.1 or localhost.",
                    details={"argument": name, "value": str(value)},
                )
        elif name == "remote":
            raise FactoryError(
                "outside_workspace",
                f"remote {str(value)!r}: over MCP the remote is the configured one",
                hint="Set `[remote] url` in factory.toml (or FACTORY_REMOTE) and call without "
                "`remote`.",
                details={"argument": name, "value": str(value)},
            )


def call(spec: ToolSpec, arguments: dict[str, Any] | None, ws: Workspace) -> Answer:
    """Answer one call of `spec` with `arguments`, in the workspace `ws`."""
    try:
        confine(arguments, ws)
        argv = spec.argv(arguments)
    except FactoryError as refused:
        return _failure(spec, refused)
    if spec.command.background:
        return _start_job(spec, argv, ws)
    code, text = run_cli(_with_json(argv), ws)
    found = _document(text)
    if found is None:
        error = FactoryError(
            "internal",
            f"{spec.command.name} printed no envelope (exit code {code})",
            hint="This is a bug in factory. Re-run with FACTORY_DEBUG=1 for the traceback.",
            details={"exit_code": code},
        )
        return _failure(spec, error)
    return Answer(found, code)


def _start_job(spec: ToolSpec, argv: list[str], ws: Workspace) -> Answer:
    """Check the arguments as `factory` would, then start the command as a job and answer
    with the job (schema `factory.job/1`) and how to follow it."""
    from core.cli.jobs import SCHEMA, start_job, still_running
    from core.cli.main import build_parser
    from core.foundation.plain import to_plain
    from core.render import envelope

    with _LOCK:
        try:
            build_parser().parse_args(_with_json(argv))
            job = start_job(ws, spec.command.name, argv)
        except FactoryError as error:
            return _failure(spec, error)
    doc = envelope.success(spec.command.name, SCHEMA, to_plain(job), [still_running(job)])
    return Answer(doc, int(ExitCode.OK))
