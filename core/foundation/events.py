"""The event log: one JSON line per thing that happened.

Events append to `logs/events/date=YYYY-MM-DD/<session_id>.jsonl` (Hive-partitioned, so
DuckDB, Athena or Spark read it as is). Every event has the same top-level keys, absent
ids as null, and its specifics under `data`, so the `events` view has a stable shape.
"""

from __future__ import annotations

import io
import json
import os
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

from core.foundation import clock
from core.foundation.atomic import append_line
from core.foundation.errors import ExitCode, FactoryError
from core.foundation.ids import NAME_PATTERN

if TYPE_CHECKING:
    from core.foundation.log_archive import LogSource
    from core.foundation.workspace import Workspace

SESSION_ENV = "FACTORY_SESSION"
ID_KEYS = ("run_id", "model", "model_version", "request_id", "dataset_id")
_process_session: str | None = None


def session_id() -> str:
    """`FACTORY_SESSION` when set (an assistant sets one per conversation), else one per
    process."""
    global _process_session
    named = os.environ.get(SESSION_ENV)
    if named:
        if not NAME_PATTERN.match(named) or ".." in named or len(named) > 128:
            raise FactoryError(
                "invalid_session",
                f"{SESSION_ENV}={named!r} is not a valid session id "
                "(lowercase letters, digits, '.', '_', '-')",
                hint=f"export {SESSION_ENV}=chat-2026-11-26",
                exit_code=ExitCode.USAGE,
            )
        return named
    if _process_session is None:
        stamp = clock.now().strftime("%Y%m%dt%H%M%S")
        _process_session = f"p-{stamp}-{os.getpid()}-{os.urandom(2).hex()}"
    return _process_session


def event_path(events_dir: Path, ts: str, session: str) -> Path:
    return events_dir / f"date={ts[:10]}" / f"{session}.jsonl"


def make_event(event: str, **fields: Any) -> dict[str, Any]:
    """Build an event record: standard keys first, anything else under `data`."""
    record: dict[str, Any] = {"ts": clock.iso(), "session_id": session_id(), "event": event}
    for key in ID_KEYS:
        record[key] = fields.pop(key, None)
    record["command"] = fields.pop("command", None)
    record["pid"] = os.getpid()
    record["data"] = fields
    return record


def emit(events_dir: Path, event: str, **fields: Any) -> dict[str, Any]:
    """Append one event; returns the record written."""
    record = make_event(event, **fields)
    line = json.dumps(record, separators=(",", ":"), default=str, ensure_ascii=False)
    append_line(event_path(events_dir, record["ts"], record["session_id"]), line)
    return record


def event_files(events_dir: Path, since_date: str | None = None) -> list[Path]:
    """Event files, oldest partition first; partitions before `since_date` are skipped
    without being opened."""
    if not events_dir.is_dir():
        return []
    files: list[Path] = []
    for part in sorted(events_dir.iterdir()):
        if not part.name.startswith("date="):
            continue
        if since_date and part.name[5:] < since_date:
            continue
        files.extend(sorted(part.glob("*.jsonl")))
    return files


def event_sources(
    ws: Workspace, since_date: str | None = None, until_date: str | None = None
) -> list[LogSource]:
    """The event log's files from `since_date` to `until_date` (inclusive), oldest partition
    first, pruned ones included (`core.foundation.log_archive`): what `read_events` reads."""
    from core.foundation.log_archive import log_sources

    return log_sources(ws, "events", ws.events_dir, since_date, until_date)


def line_recorded(ws: Workspace, since_date: str | None, *needles: bytes) -> bool:
    """Whether an event line since `since_date` (YYYY-MM-DD) holds every one of `needles`,
    pruned partitions included; scanned as bytes, only matching lines looked at."""
    for source in event_sources(ws, since_date):
        try:
            data = source.data()
        except OSError:
            continue
        if all(n in data for n in needles):
            for line in data.splitlines():
                if all(n in line for n in needles):
                    return True
    return False


def read_events(files: Iterable[Path | LogSource]) -> Iterator[dict[str, Any]]:
    """Events from `files` (paths, or the log's sources: `event_sources`); a torn or garbled
    line (a writer killed mid-append) is skipped.

    A small file (one command's, most of them) is parsed once per process while it stays
    the same file (inode, size and modification time: an append changes the size): `status`
    reads the newest partitions for its sessions and again for the last activity, and a day
    of commands is hundreds of such files. Its records come out as fresh dicts, so a reader
    that edits one changes nothing another reader sees at its top level. A large file is
    streamed and never kept."""
    for item in files:
        path = item if isinstance(item, Path) else item.path
        try:
            if path is None:
                raise FileNotFoundError
            handle = open(path, encoding="utf-8", errors="replace")  # noqa: SIM115 (closed below)
        except FileNotFoundError:
            if not isinstance(item, Path):
                # Pruned: its lines live in the Parquet (`data` reads them there, also
                # when a pruner deleted the file since it was listed).
                text = item.data().decode("utf-8", errors="replace")
                yield from _records(io.StringIO(text))
            continue
        with handle:
            found = os.fstat(handle.fileno())
            if found.st_size > KEEP_PARSED_BYTES:
                yield from _records(handle)
                continue
            identity = (found.st_dev, found.st_ino, found.st_size, found.st_mtime_ns)
            kept = _PARSED.get(str(path))
            if kept is None or kept[0] != identity:
                # A file that grows while it is read is kept under its size before, so the
                # next read parses it again.
                kept = (identity, list(_records(handle)))
                _PARSED[str(path)] = kept
        for record in kept[1]:
            yield dict(record)


KEEP_PARSED_BYTES = 64 * 1024
_PARSED: dict[str, tuple[tuple[int, int, int, int], list[dict[str, Any]]]] = {}
"""Small event file path -> (its identity when parsed, its whole lines' records)."""


def _records(lines: Iterator[str]) -> Iterator[dict[str, Any]]:
    for line in lines:
        if not line.endswith("\n"):
            continue  # torn last line: its writer has not finished or died
        try:
            record = json.loads(line)
        except json.JSONDecodeError:
            continue
        if isinstance(record, dict) and record.get("ts") and record.get("event"):
            yield record
