"""`factory serve`: bind the socket, run uvicorn until SIGINT or SIGTERM, say what was served.

The socket is bound here (127.0.0.1 by default; `--port 0` picks a free port), so the port is
known, and printed on stderr (`factory serve: serving on http://127.0.0.1:PORT`), before the
first request. uvicorn's own signal handling would re-raise the signal after a graceful
shutdown and kill the process before the command's answer is printed: here SIGINT and SIGTERM
only ask uvicorn to stop, then the command returns its `ServeResult`, after writing each
served model's live figures into its card (`perf.record_on_card`).
"""

from __future__ import annotations

import contextlib
import errno
import signal
import socket
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from core.foundation import clock
from core.foundation.errors import FactoryError
from core.foundation.events import emit
from core.foundation.workspace import Workspace
from core.serve.engine import Engine


@dataclass(frozen=True)
class ServeResult:
    url: str
    host: str
    port: int
    pid: int
    started_at: str
    stopped_at: str
    seconds: float
    requests: int
    predictions: int
    errors: int
    logging: bool
    """Whether predictions were logged (`--no-log` turns it off)."""
    log_files: list[str]
    models: dict[str, dict[str, str | None]]
    """The runs each model's tiers held when the server stopped."""
    shadow: dict[str, int]
    stopped_by: str | None
    """The signal that stopped the server."""
    warnings: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {name: getattr(self, name) for name in self.__dataclass_fields__}


def bind(host: str, port: int) -> socket.socket:
    """A listening socket, or the error that says why not (port taken, address unknown)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    try:
        return socket.create_server((host, port), family=family, backlog=2048)
    except OSError as exc:
        taken = exc.errno == errno.EADDRINUSE
        raise FactoryError(
            "port_unavailable",
            f"Cannot listen on {host}:{port}: {exc.strerror or exc}",
            hint="Another process holds the port: pick another with --port (0 picks a free "
            "one), or stop the other server."
            if taken
            else "Give an address of this machine with --host (127.0.0.1 by default) and a "
            "port you may bind (above 1023 unless root).",
            details={"host": host, "port": port, "errno": errno.errorcode.get(exc.errno or 0)},
        ) from None


def serve(
    ws: Workspace,
    *,
    host: str = "127.0.0.1",
    port: int = 8000,
    log: bool = True,
    allow_changed: bool = False,
    shadow_queue: int = 64,
    interval: float = 0.25,
) -> ServeResult:
    """Serve every model's live tiers until SIGINT or SIGTERM."""
    import uvicorn

    from core.serve.app import build_app

    listener = bind(host, port)
    actual = int(listener.getsockname()[1])
    url = f"http://{'[' + host + ']' if ':' in host else host}:{actual}"
    warnings = []
    if host not in ("127.0.0.1", "localhost", "::1"):
        warnings.append(
            f"listening on {host}: anyone who reaches this machine can ask for predictions"
        )
    engine = Engine(
        ws,
        log=log,
        allow_changed=allow_changed,
        shadow_queue=shadow_queue,
        interval=interval,
        describe={"host": host, "port": actual},
    )
    started_at, started = clock.iso(), time.time()
    try:
        engine.start()
    except BaseException:
        listener.close()
        raise

    def ready() -> None:
        served = ", ".join(
            " ".join([name, *(f"{t}={r}" for t, r in state.tiers.items() if r)])
            for name, state in engine.models.items()
        )
        for warning in warnings:
            print(f"factory serve: warning: {warning}", file=sys.stderr, flush=True)
        print(f"factory serve: serving on {url} ({served})", file=sys.stderr, flush=True)

    config = uvicorn.Config(
        build_app(engine, ready),
        log_level="warning",
        access_log=False,
        lifespan="on",
        server_header=False,
        timeout_graceful_shutdown=5,
    )
    server = _Server(config)
    emit(ws.events_dir, "serve.started", url=url, pid=_pid(), logging=log)
    try:
        server.run(sockets=[listener])
    finally:
        engine.stop()
        listener.close()
    stopped_by = signal.Signals(server.signals[-1]).name if server.signals else None
    counts = dict(engine.counts)
    if log and counts["requests"]:
        warnings += _record_on_cards(ws, engine)
    emit(ws.events_dir, "serve.stopped", url=url, stopped_by=stopped_by, **counts)
    return ServeResult(
        url=url,
        host=host,
        port=actual,
        pid=_pid(),
        started_at=started_at,
        stopped_at=clock.iso(),
        seconds=round(time.time() - started, 3),
        requests=counts["requests"],
        predictions=counts["predictions"],
        errors=counts["errors"],
        logging=log,
        log_files=list(engine.log.files) if engine.log is not None else [],
        models={name: dict(state.tiers) for name, state in engine.models.items()},
        shadow=engine.shadow.stats(),
        stopped_by=stopped_by,
        warnings=warnings,
    )


def _record_on_cards(ws: Workspace, engine: Engine) -> list[str]:
    """Each served model's live figures into its card (`perf.record_on_card`); a card that
    cannot be written is a warning, never a lost answer."""
    from core.operations.perf import record_on_card

    problems = []
    for name, state in engine.models.items():
        if not any(state.tiers.values()):
            continue
        try:
            record_on_card(ws, name)
        except Exception as exc:  # the server's answer must not be lost over a card
            problems.append(f"{name}: the card's serving figures were not written: {exc}")
    return problems


def _pid() -> int:
    import os

    return os.getpid()


class _Server:
    """uvicorn's server, with SIGINT and SIGTERM only asking it to stop (no re-raise)."""

    def __init__(self, config: Any) -> None:
        import uvicorn

        outer = self
        self.signals: list[int] = []

        class Server(uvicorn.Server):
            @contextlib.contextmanager
            def capture_signals(self) -> Iterator[None]:
                if threading.current_thread() is not threading.main_thread():
                    yield
                    return

                def stop(sig: int, frame: Any) -> None:
                    outer.signals.append(sig)
                    if self.should_exit and sig == signal.SIGINT:
                        self.force_exit = True
                    self.should_exit = True

                previous = {s: signal.signal(s, stop) for s in (signal.SIGINT, signal.SIGTERM)}
                try:
                    yield
                finally:
                    for s, handler in previous.items():
                        signal.signal(s, handler)

        self.server = Server(config)

    def run(self, sockets: list[socket.socket]) -> None:
        self.server.run(sockets=sockets)
