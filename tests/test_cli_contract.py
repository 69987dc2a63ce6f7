"""The CLI contract: one JSON envelope on stdout, exit codes, Markdown, errors."""

from __future__ import annotations

import json
from pathlib import Path

from tests.conftest import run_factory


def test_init_creates_workspace_and_is_idempotent(tmp_path: Path) -> None:
    target = tmp_path / "new"
    first = run_factory("init", str(target), "--json")
    assert first.code == 0, first.stderr
    assert first.doc["ok"] is True
    assert first.doc["schema"] == "factory.init/1"
    assert "factory.toml" in first.doc["data"]["created"]
    for folder in ("cards", "adrs", "reports"):
        assert (target / folder).is_dir()
    gitignore = (target / ".gitignore").read_text()
    for line in ("logs/", "data/snapshots/", "artifacts/"):
        assert line in gitignore
    config_before = (target / "factory.toml").read_bytes()

    second = run_factory("init", str(target), "--json")
    assert second.code == 0
    assert second.doc["data"]["changed"] is False
    assert second.doc["data"]["created"] == []
    assert (target / "factory.toml").read_bytes() == config_before


def test_unknown_command_is_usage_error_with_envelope(tmp_path: Path) -> None:
    ran = run_factory("no-such-command", "--json", cwd=tmp_path)
    assert ran.code == 2
    doc = ran.doc
    assert doc["ok"] is False and doc["error"]["code"] == "usage"
    assert set(doc) == {"envelope", "ok", "command", "schema", "data", "error", "next"}
    assert doc["envelope"] == "factory.envelope/2"


def test_outside_workspace_is_input_error(tmp_path: Path) -> None:
    ran = run_factory("status", "--json", cwd=tmp_path)
    assert ran.code == 3
    assert ran.doc["error"]["code"] == "workspace_not_found"
    assert "factory init" in ran.doc["error"]["hint"]


def test_workspace_found_from_subfolder_and_env(workspace: Path, tmp_path: Path) -> None:
    sub = workspace / "cards"
    ran = run_factory("status", "--json", cwd=sub)
    assert ran.code == 0, ran.stdout
    assert ran.doc["data"]["workspace"] == str(workspace)
    elsewhere = run_factory(
        "status", "--json", cwd=tmp_path, env={"FACTORY_WORKSPACE": str(workspace)}
    )
    assert elsewhere.doc["data"]["workspace"] == str(workspace)
    flag = run_factory("--workspace", str(workspace), "status", "--json", cwd=tmp_path)
    assert flag.doc["data"]["workspace"] == str(workspace)


def test_invalid_config_names_file_and_line(workspace: Path) -> None:
    config = workspace / "factory.toml"
    text = config.read_text().replace("folds = 4", 'folds = "four"')
    config.write_text(text)
    line = next(i for i, ln in enumerate(text.splitlines(), 1) if ln.startswith("folds"))
    ran = run_factory("status", "--json", cwd=workspace)
    assert ran.code == 3
    err = ran.doc["error"]
    assert err["code"] == "config_invalid"
    assert f"factory.toml:{line}" in err["message"]
    assert err["details"]["line"] == line


def test_toml_syntax_error_names_line(workspace: Path) -> None:
    config = workspace / "factory.toml"
    config.write_text(config.read_text() + "\n[broken\n")
    ran = run_factory("status", "--json", cwd=workspace)
    assert ran.code == 3
    assert ran.doc["error"]["details"]["line"] is not None


def test_markdown_and_rich_outputs(workspace: Path) -> None:
    md = run_factory("status", "--md", cwd=workspace)
    assert md.code == 0
    assert md.stdout.startswith("# factory status")
    assert "| rain |" in md.stdout
    assert "no runs yet: `factory train rain`" in md.stdout
    # Only fields that hold something: no `- **staging**: ` with nothing after it.
    assert not [line for line in md.stdout.splitlines() if line.rstrip().endswith("**:")]
    rich = run_factory("status", cwd=workspace)
    assert rich.code == 0
    assert "rain" in rich.stdout
    # Not JSON: the default is for people.
    try:
        json.loads(rich.stdout)
        raise AssertionError("default output must not be JSON")
    except json.JSONDecodeError:
        pass


def test_every_command_accepts_json_flag() -> None:
    """Every command parses `--json` (and `--md`) into its output choice, after its own
    arguments, as an assistant types it; a command that lost the flag fails here."""
    from core.cli.main import build_parser, load_commands

    parser = build_parser()
    commands = load_commands()
    assert len(commands) > 30
    for name, cmd in commands.items():
        words = name.split()
        required: list[str] = []
        for a in cmd.args:
            options = a.options
            if a.flags[0].startswith("-"):
                if options.get("required"):
                    choices = options.get("choices")
                    required += [a.flags[0], str(choices[0]) if choices else "x"]
            elif options.get("nargs") not in ("?", "*"):
                required.append("x")
        for flag, output in (("--json", "json"), ("--md", "md")):
            args = parser.parse_args([*words, *required, flag])
            assert args.output == output, (name, flag)
            assert args.command_name == name


def test_query_refuses_writes(workspace: Path) -> None:
    for sql in (
        "COPY (SELECT 1) TO 'x.csv'",
        "CREATE TABLE t (a INT)",
        "INSERT INTO events SELECT * FROM events",
        "ATTACH 'x.db'",
        "INSTALL httpfs",
        "SELECT 1; DROP VIEW events",
        "SET threads = 1",
    ):
        ran = run_factory("query", sql, "--json", cwd=workspace)
        assert ran.code == 2, sql
        assert ran.doc["error"]["code"] == "read_only", sql
    assert not (workspace / "x.csv").exists()
    assert not (workspace / "x.db").exists()


def test_query_reads_events(workspace: Path) -> None:
    run_factory("status", "--json", cwd=workspace)
    ran = run_factory(
        "query",
        "SELECT event, command FROM events WHERE command = 'status'",
        "--json",
        cwd=workspace,
    )
    assert ran.code == 0, ran.stdout
    assert ran.doc["data"]["rows"] == [{"event": "command", "command": "status"}]


def test_files_shared_through_git_get_the_permissions_of_the_umask(tmp_path: Path) -> None:
    """factory.toml, .gitignore and ADRs are written as `open()` would under the user's
    umask (0o666 less it), never 0o600, so a teammate or a shared checkout can read them."""
    import os
    import stat

    for umask in (0o022, 0o002):
        target = tmp_path / f"ws-{umask:03o}"
        previous = os.umask(umask)  # the child inherits it
        try:
            made = run_factory("init", str(target), "--json")
            adr = run_factory("adr", "new", "Share the records", "--json", cwd=target)
        finally:
            os.umask(previous)
        assert made.code == 0 and adr.code == 0, made.stdout + adr.stdout
        written = [target / "factory.toml", target / ".gitignore", *target.glob("adrs/*.md")]
        assert len(written) >= 3
        for path in written:
            assert stat.S_IMODE(path.stat().st_mode) == 0o666 & ~umask, path


def test_an_error_ends_with_the_exit_code_of_its_row_in_the_table(tmp_path: Path) -> None:
    """Each failure's code and exit code agree with docs/errors.md."""
    from core.foundation.error_codes import ERROR_CODES

    for args in (("no-such-command",), ("status",), ("show", "nope!")):
        ran = run_factory(*args, "--json", cwd=tmp_path)
        code = ran.doc["error"]["code"]
        assert ran.code == ERROR_CODES[code].exit_code, (args, code)
