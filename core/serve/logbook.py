"""The online half of the inference log (adrs/0015): whole lines, one write per request, to a
file of this process only.

`logs/inference/date=YYYY-MM-DD/o-<session>.<pid>-<hex>.jsonl`: no other process appends to
it, so a line torn by a kill can only be this file's last, and never swallows another
writer's line (several servers and batches may share one `FACTORY_SESSION`). Before the first
line of a run in a file goes the run's record (`"kind": "batch"`, the same shape as a batch's
first line: session, run, components and inference version with their hashes, allowed
changes), so `factory trace` finds everything about a request in its file.
"""

from __future__ import annotations

import json
import os
import secrets
import threading
from pathlib import Path
from typing import Any

from core.foundation import clock
from core.foundation.events import session_id
from core.foundation.ids import hash_inputs
from core.foundation.workspace import Workspace
from core.operations.predict import Scorer, batch_record, partition, record_line


def dumps(value: dict[str, Any]) -> bytes:
    return (json.dumps(value, separators=(",", ":"), default=str, allow_nan=False) + "\n").encode()


class OnlineLog:
    """Appends a request's lines with one `write` on an `O_APPEND` descriptor."""

    def __init__(self, ws: Workspace, *, extra: dict[str, Any] | None = None) -> None:
        self.ws = ws
        self.token = f"{os.getpid()}-{secrets.token_hex(3)}"
        self.extra = dict(extra or {})
        self._lock = threading.Lock()
        self._fd: int | None = None
        self._path: Path | None = None
        self._records: set[str] = set()
        """Batch ids whose record is in the current file."""
        self._torn = False
        """The last write was cut short: the next one starts on a new line."""
        self.lines = 0
        self.files: list[str] = []

    def batch_id(self, run_id: str, day: str) -> str:
        """The id of this process's record of `run_id` in the file of `day`."""
        return "o-" + hash_inputs(
            {"process": self.token, "session": session_id(), "run": run_id, "day": day}
        )

    def _file(self, ts: str) -> tuple[int, Path]:
        path = partition(self.ws, ts) / f"o-{session_id()}.{self.token}.jsonl"
        if self._path != path or self._fd is None:
            if self._fd is not None:
                os.close(self._fd)
            path.parent.mkdir(parents=True, exist_ok=True)
            self._fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_CLOEXEC, 0o666)
            self._path = path
            self._records = set()
            self.files.append(str(path))
        return self._fd, path

    def _write(self, fd: int, data: bytes) -> None:
        if self._torn:
            data = b"\n" + data
        view = memoryview(data)
        try:
            while view:
                written = os.write(fd, view)
                view = view[written:]
        except OSError:
            self._torn = bool(len(view) and len(view) < len(data))
            raise
        self._torn = False

    def write(self, scorers: list[Scorer], lines: list[dict[str, Any]]) -> str:
        """Write `lines` (each completed with its run's `batch_id`), after the record of any
        run not yet in today's file, in one write; returns the file."""
        ts = clock.iso()
        with self._lock:
            fd, path = self._file(ts)
            day = ts[:10]
            ids: dict[str, str] = {}
            head = bytearray()
            for scorer in scorers:
                batch = self.batch_id(scorer.run_id, day)
                ids[scorer.run_id] = batch
                if batch not in self._records:
                    record = batch_record(
                        batch_id=batch, mode="online", scorer=scorer, tier=None, extra=self.extra
                    )
                    head += record_line(record)
            body = bytearray(head)
            for line in lines:
                run_id = line.get("run_id")
                line["batch_id"] = ids.get(str(run_id)) if run_id else None
                body += dumps(line)
            if body:
                self._write(fd, bytes(body))
                self._records.update(ids.values())
                self.lines += len(lines)
            return str(path)

    def close(self) -> None:
        with self._lock:
            if self._fd is not None:
                os.close(self._fd)
                self._fd = None
