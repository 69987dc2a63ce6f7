"""Atomic writes: whole or nothing, and shared files get the permissions `open()` would
give them under the process umask (cards, reports and ADRs go to git and teammates)."""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest

from core.foundation.atomic import append_line, atomic_path, file_lock, write_json, write_text

UMASKS = [0o022, 0o002, 0o027, 0o077, 0o000]


@pytest.fixture(params=UMASKS, ids=[f"umask-{u:03o}" for u in UMASKS])
def umask(request: pytest.FixtureRequest) -> Iterator[int]:
    value: int = request.param
    previous = os.umask(value)
    try:
        yield value
    finally:
        os.umask(previous)


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_written_files_get_0666_less_the_umask(tmp_path: Path, umask: int) -> None:
    expected = 0o666 & ~umask
    write_text(tmp_path / "cards" / "rain.md", "---\n---\n")
    write_json(tmp_path / "reports" / "r-1.json", {"a": 1})
    with atomic_path(tmp_path / "artifacts" / "model.cbm") as tmp:
        tmp.write_bytes(b"model")
    append_line(tmp_path / "logs" / "events.jsonl", "{}")
    with file_lock(tmp_path / "locks" / "card.lock"):
        pass
    for path in (
        tmp_path / "cards" / "rain.md",
        tmp_path / "reports" / "r-1.json",
        tmp_path / "artifacts" / "model.cbm",
        tmp_path / "logs" / "events.jsonl",
        tmp_path / "locks" / "card.lock",
    ):
        assert mode(path) == expected, (path.name, oct(mode(path)), oct(expected))


def test_rewriting_a_file_of_0600_gives_it_the_umasks_mode(tmp_path: Path, umask: int) -> None:
    target = tmp_path / "rain.md"
    target.write_text("old")
    target.chmod(0o600)
    write_text(target, "new")
    assert mode(target) == 0o666 & ~umask and target.read_text() == "new"


def test_a_failed_write_leaves_the_target_and_no_temporary_file(tmp_path: Path) -> None:
    target = tmp_path / "reports" / "r-1.json"
    write_json(target, {"version": 1})
    before = target.read_bytes()
    with pytest.raises(OSError, match="disk went away"), atomic_path(target) as tmp:
        tmp.write_bytes(b'{"version": 2, "trunc')
        raise OSError("disk went away")
    assert target.read_bytes() == before
    assert sorted(p.name for p in target.parent.iterdir()) == ["r-1.json"]


def test_a_write_error_names_the_target_not_the_temporary_file(tmp_path: Path) -> None:
    target = tmp_path / "r-1.json"
    with pytest.raises(OSError) as raised, atomic_path(target):
        raise OSError(28, "No space left on device")  # as a write() reports it: no path
    assert raised.value.filename == str(target)
    assert list(tmp_path.iterdir()) == []
