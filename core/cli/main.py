"""The `factory` command: parse, run a registered command, render, exit.

stdout is data (one JSON document under `--json`), stderr is narration. Every invocation
inside a workspace appends a `command` event with its outcome.
"""

from __future__ import annotations

import argparse
import atexit
import contextlib
import dataclasses
import errno
import os
import sys
import time
from functools import cache
from typing import Any, NoReturn

from core.cli.registry import Command, Context, Reply
from core.foundation.errors import ExitCode, FactoryError, UsageError


@cache
def load_commands() -> dict[str, Command]:
    from core.cli.catalog import commands

    return commands()


class Parser(argparse.ArgumentParser):
    """An ArgumentParser whose errors become `UsageError`, so `--json` still gets an
    envelope and exit code 2."""

    def error(self, message: str) -> NoReturn:
        raise UsageError(f"{self.prog}: {message}", hint=f"Run `{self.prog} --help`.")


def _output_flags(parser: argparse.ArgumentParser, *, suppress: bool) -> None:
    default: Any = argparse.SUPPRESS if suppress else None
    group = parser.add_argument_group("output and workspace")
    group.add_argument(
        "--json",
        dest="output",
        action="store_const",
        const="json",
        default=default,
        help="print exactly one JSON document (the envelope) on stdout",
    )
    group.add_argument(
        "--md",
        dest="output",
        action="store_const",
        const="md",
        default=default,
        help="print Markdown",
    )
    group.add_argument(
        "--fields",
        metavar="KEYS",
        default=default,
        help="JSON with only these keys of `data`, e.g. `run_count,best_run.run_id` (a dot goes "
        "one level down, into each item of a list); implies --json",
    )
    group.add_argument(
        "--workspace",
        metavar="DIR",
        default=default,
        help="workspace folder (default: FACTORY_WORKSPACE, or the nearest folder above "
        "with factory.toml)",
    )


def build_parser(commands: dict[str, Command] | None = None) -> Parser:
    """The parser of every command, or of `commands` only (see `parser_for`)."""
    if commands is None:
        commands = load_commands()
    parser = Parser(
        prog="factory",
        description="A model factory: versioned components, walk-forward CatBoost runs, "
        "model cards, ADRs, events you can query, drift checks and promotion gates. "
        "Every command takes --json (one envelope on stdout) and --md.",
    )
    _output_flags(parser, suppress=False)
    sub = parser.add_subparsers(dest="command_path", metavar="COMMAND", parser_class=Parser)
    groups: dict[str, tuple[argparse.ArgumentParser, Any]] = {}

    def group_parser(words: list[str]) -> Any:
        """The subparsers object under which `words[-1]` goes, creating groups as needed."""
        container = sub
        for depth in range(1, len(words)):
            key = " ".join(words[:depth])
            if key not in groups:
                own = commands.get(key)
                help_text = own.help if own else f"{key} commands"
                grp = container.add_parser(
                    words[depth - 1], help=help_text, description=own.description if own else None
                )
                _output_flags(grp, suppress=True)
                if own:
                    for a in own.args:
                        grp.add_argument(*a.flags, **a.options)
                grp.set_defaults(command_name=key)
                groups[key] = (
                    grp,
                    grp.add_subparsers(
                        dest=f"sub_{depth}", metavar="SUBCOMMAND", parser_class=Parser
                    ),
                )
            container = groups[key][1]
        return container

    # Parents before children, so a group command (`alerts`) owns its parser.
    for name in sorted(commands, key=lambda n: (n.count(" "), n)):
        cmd = commands[name]
        words = name.split()
        if name in groups:
            continue
        has_children = any(other.startswith(name + " ") for other in commands)
        if has_children:
            group_parser([*words, "_"])
            continue
        container = group_parser(words)
        p = container.add_parser(words[-1], help=cmd.help, description=cmd.description or cmd.help)
        _output_flags(p, suppress=True)
        for a in cmd.args:
            p.add_argument(*a.flags, **a.options)
        p.set_defaults(command_name=name)
    return parser


def parser_for(argv: list[str]) -> tuple[Parser, dict[str, Command]]:
    """The parser for `argv` and the commands it knows: when the leading words name one
    command (not a group), only that command's module is imported and only its parser built,
    which parses the call exactly as the whole parser would; otherwise (help, a typo, a
    group alone) the whole parser, whose errors list every command."""
    from core.cli.command_index import commands_for, has_children, named_command

    name = named_command(argv)
    if name is not None and not has_children(name):
        commands = commands_for(name)
        return build_parser(commands), commands
    return build_parser(), load_commands()


def _wants_json(argv: list[str]) -> str:
    if "--json" in argv or any(a == "--fields" or a.startswith("--fields=") for a in argv):
        return "json"
    if "--md" in argv:
        return "md"
    return "rich"


def _emit_command_event(
    ctx: Context, cmd: Command, exit_code: int, started: float, error: str | None
) -> None:
    """Record the invocation; never let logging break the command itself."""
    try:
        workspace = ctx.workspace
    except FactoryError:
        return
    try:
        from core.foundation.events import emit

        emit(
            workspace.events_dir,
            "command",
            command=cmd.name,
            mutating=cmd.mutating,
            exit_code=int(exit_code),
            ok=error is None,
            error_code=error,
            duration_ms=round((time.perf_counter() - started) * 1000, 1),
            argv=sys.argv[1:],
        )
    except Exception as exc:
        print(f"factory: could not write the event log: {exc}", file=sys.stderr)


def _print(
    output: str,
    cmd_name: str | None,
    schema: str | None,
    reply: Reply | None,
    error: FactoryError | None,
    workspace: str | None = None,
) -> None:
    """Render the reply or the error; `workspace` is the `--workspace` the caller gave,
    which every suggested command then names too."""
    from core.foundation.plain import to_plain
    from core.foundation.suggest import within

    steps = within(reply.steps if reply else [], workspace)
    if output == "json":
        from core.render import envelope

        if error is not None:
            doc = envelope.failure(
                cmd_name, schema, error, steps, workspace=workspace, runs=runs_as_written
            )
        else:
            assert reply is not None and cmd_name is not None and schema is not None
            doc = envelope.success(cmd_name, schema, to_plain(reply.data), steps)
        sys.stdout.write(envelope.dumps(doc) + "\n")
        return
    if output == "md":
        from core.render import markdown

        if error is not None:
            sys.stdout.write(markdown.render_error(cmd_name, error.to_dict()))
        else:
            assert reply is not None and cmd_name is not None and schema is not None
            sys.stdout.write(markdown.render(cmd_name, schema, to_plain(reply.data), steps))
        return
    from rich.console import Console

    from core.render import rich_text

    if error is not None:
        rich_text.render_error(Console(stderr=True), cmd_name, error.to_dict())
    else:
        assert reply is not None and cmd_name is not None and schema is not None
        rich_text.render(Console(), cmd_name, schema, to_plain(reply.data), steps)


_NOT_WRITABLE = frozenset({errno.EACCES, errno.EPERM, errno.EROFS})
_DISK_FULL = frozenset({errno.ENOSPC, errno.EDQUOT, errno.EFBIG})


def environment_error(exc: BaseException) -> FactoryError | None:
    """The system's refusal behind `exc` (a read-only folder or file system, a missing
    permission, a full disk or quota, the file-size limit) as the input error it is, naming
    the path; None when `exc` is not one (then it is a bug).

    Files are written through `core.foundation.atomic`, so such a failure leaves no
    half-written file, and the error names the file factory meant to write, not its
    temporary name.
    """
    found: BaseException | None = exc
    while found is not None and not (
        isinstance(found, OSError) and found.errno in _NOT_WRITABLE | _DISK_FULL
    ):
        found = found.__cause__
    if not isinstance(found, OSError) or found.errno is None:
        return None
    reason = found.strerror or os.strerror(found.errno)
    path = os.fsdecode(found.filename) if found.filename is not None else None
    folder = (os.path.dirname(path) or ".") if path is not None else None
    details = {
        "path": path,
        "folder": folder,
        "errno": errno.errorcode.get(found.errno, str(found.errno)),
        "reason": reason,
    }
    message = f"{path or 'a file factory writes'}: {reason}"
    again = "No file was left half-written: run the command again once that is fixed."
    if found.errno in _DISK_FULL:
        hint = f"Free space on the disk of {folder or 'the workspace'} (`df -h {folder or '.'}`), "
        hint += "or raise the quota or the file-size limit (`ulimit -f`). "
        return FactoryError("disk_full", message, hint=hint + again, details=details)
    if found.errno == errno.EROFS:
        hint = f"{folder or 'The workspace'} is on a read-only file system: mount it "
        hint += "read-write, or work in a copy of the workspace on a writable disk. "
    else:
        hint = f"Give this user write access to {folder or 'the workspace'} and read access "
        hint += f"to what it holds (`ls -ld {folder or '.'}`, `chmod u+rwX`), or work in a "
        hint += "copy of the workspace you may write. "
    return FactoryError("not_writable", message, hint=hint + again, details=details)


def unexpected_error(exc: Exception) -> FactoryError:
    """What the driver reports for an exception no command turned into a `FactoryError`:
    the environment's refusal when it is one, else an internal error (a bug)."""
    found = environment_error(exc)
    if found is not None:
        return found
    return FactoryError(
        "internal",
        f"internal error: {type(exc).__name__}: {exc}",
        hint="This is a bug in factory. Re-run with FACTORY_DEBUG=1 for the traceback.",
        details={"type": type(exc).__name__},
    )


def runs_as_written(command: str) -> bool:
    """Whether `command` (`factory ...`) names a command with every argument it needs and
    gives back an answer (not the TUI or the MCP server, which hold the terminal): what an
    error's hint may offer in `next`. `--help` always runs."""
    import shlex

    try:
        words = shlex.split(command)[1:]
    except ValueError:
        return False
    if "--help" in words or "-h" in words:
        return True
    try:
        parser, commands = parser_for(words)
        args = parser.parse_args(words)
    except (FactoryError, SystemExit):
        return False
    found = commands.get(str(getattr(args, "command_name", None)))
    return found is not None and not found.interactive


def _workspace_flag(argv: list[str]) -> str | None:
    """The `--workspace DIR` (or `--workspace=DIR`) given before any `--` in `argv`."""
    for position, word in enumerate(argv):
        if word == "--":
            break
        if word == "--workspace" and position + 1 < len(argv):
            return argv[position + 1]
        if word.startswith("--workspace="):
            return word.split("=", 1)[1]
    return None


def _named_command(argv: list[str]) -> Command | None:
    """The command the leading words of `argv` name (`predict` in `factory --json predict
    rain`), found when parsing failed after them, so a usage error's envelope still says
    which command it was about; None when they name none."""
    from core.cli.command_index import commands_for, named_command

    name = named_command(argv)
    return commands_for(name).get(name) if name is not None else None


def run(argv: list[str]) -> int:
    output = _wants_json(argv)
    cmd: Command | None = None
    try:
        if not argv and sys.stdin.isatty() and sys.stdout.isatty():
            argv = ["tui"]
        parser, commands = parser_for(argv)
        if not argv:
            parser.print_help()
            return ExitCode.OK
        args = parser.parse_args(argv)
        name = getattr(args, "command_name", None)
        if name is None:
            raise UsageError("no command given", hint="Run `factory --help`.")
        if name not in commands:  # a group without a default command
            raise UsageError(
                f"`factory {name}` needs a subcommand", hint=f"Run `factory {name} --help`."
            )
        cmd = commands[name]
        output = getattr(args, "output", None) or "rich"
        fields = _fields(args, output)
        if fields is not None:
            output = "json"
    except FactoryError as exc:
        named = cmd or _named_command(argv)
        where = _workspace_flag(argv)
        _print(
            output, named.name if named else None, named.schema if named else None, None, exc, where
        )
        return exc.exit_code
    ctx = Context(args=args, command=cmd.name, output=output)
    started = time.perf_counter()
    try:
        from core.foundation.events import session_id

        session_id()  # refuse a bad FACTORY_SESSION before doing anything unlogged
        if cmd.needs_workspace:
            ctx.workspace.config  # noqa: B018 - fail early on a broken factory.toml
        reply = cmd.run(ctx)
    except FactoryError as exc:
        _emit_command_event(ctx, cmd, exc.exit_code, started, exc.code)
        _print(output, cmd.name, cmd.schema, None, exc, getattr(args, "workspace", None))
        return exc.exit_code
    except KeyboardInterrupt:
        print("factory: interrupted", file=sys.stderr)
        return 130
    except Exception as exc:
        if os.environ.get("FACTORY_DEBUG"):
            import traceback

            traceback.print_exc()
        error = unexpected_error(exc)
        _emit_command_event(ctx, cmd, error.exit_code, started, error.code)
        _print(output, cmd.name, cmd.schema, None, error, getattr(args, "workspace", None))
        return error.exit_code
    _emit_command_event(ctx, cmd, reply.exit_code, started, None)
    if fields is not None:
        from core.foundation.plain import to_plain
        from core.render.fields import pick

        try:
            reply = dataclasses.replace(reply, data=pick(to_plain(reply.data), fields))
        except FactoryError as exc:
            _print(output, cmd.name, cmd.schema, None, exc, getattr(args, "workspace", None))
            return exc.exit_code
    _print(
        output, cmd.name, reply.schema or cmd.schema, reply, None, getattr(args, "workspace", None)
    )
    return reply.exit_code


def _fields(args: argparse.Namespace, output: str) -> list[str] | None:
    """The keys `--fields` asks for (None without it); JSON only."""
    text = getattr(args, "fields", None)
    if text is None:
        return None
    if output == "md":
        raise UsageError("--fields picks keys of the JSON answer; it cannot go with --md")
    from core.render.fields import parse

    return parse(text)


def main() -> None:
    try:
        code = run(sys.argv[1:])
        sys.stdout.flush()
    except BrokenPipeError:  # `factory runs | head` must not print a traceback
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        code = 0
    leave(int(code))


def leave(code: int) -> NoReturn:
    """End the process with `code` once the answer is out, without native teardown (ADR 0017).

    Arrow's and DuckDB's C++ thread pools can abort a process while its static objects are
    destroyed ("terminate called without an active exception", exit -6), after every byte was
    written: a right answer with a wrong exit code. Python's exit handlers still run and the
    standard streams are flushed; only the interpreter's and libraries' teardown is skipped."""
    atexit._run_exitfuncs()
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(OSError, ValueError):
            stream.flush()
    os._exit(code)


if __name__ == "__main__":
    main()
