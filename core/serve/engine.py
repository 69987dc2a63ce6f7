"""What `factory serve` does for a request, away from HTTP: plain functions the app runs in a
worker thread, returning the status and the JSON body.

A request to a model's prod tier asks `core.operations.rollouts.route` which run serves it
(per row: the row's entity values, or its request id for a dataset without entity columns);
a request to staging gets the tier's run. Which run holds a tier is read from the card: a
watcher thread looks at the card file's inode, mtime and size every `interval` seconds (and
re-reads it while its mtime is younger than the file system's clock can be trusted with),
loads a newly tiered run before it swaps the tier map in one assignment, so a promote or
rollback in another process is served within about a second, with no restart and no failed
request. Loaded runs stay in a cache keyed by run id.

Rows are validated against the dataset's schema as a batch file is (same errors: which row,
which column, what to do), merged with the server's recent rows of the same entities
(`History`), and scored by the run's `Scorer`, the inference component `factory predict`
uses. Every prediction, and every failed request of a known model, is logged (`OnlineLog`)
before the response goes out. A route's shadow run scores the request after the response is
sent, through a bounded queue that drops (and counts) work rather than delay a response,
and starts a job only while no request is being served. A third thread asks the rollouts
every `ROLLOUT_TICK_S` whether an analysis is due (`rollouts.actions.tick_due`).
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import queue
import secrets
import sys
import threading
import time
import traceback
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from core.foundation import clock
from core.foundation.errors import DataInvalidError, ExitCode, FactoryError
from core.foundation.suggest import Next, factory
from core.foundation.workspace import Workspace
from core.serve.history import POSITION, History, duration
from core.serve.logbook import OnlineLog
from core.serve.memo import FeatureMemo

if TYPE_CHECKING:
    import numpy as np
    import pandas as pd

    from core.foundation.config import DatasetConfig, ModelConfig
    from core.operations.predict import Scorer
    from core.operations.rollouts import Route
    from core.serve.rowcheck import RowCheck

SERVED_TIERS = ("prod", "staging")
MAX_ROWS = 10_000
"""Rows one request may carry."""
MAX_BODY_BYTES = 16 * 1024 * 1024
MAX_LOADED = 8
"""Runs kept loaded beyond those holding a tier."""
ROLLOUT_TICK_S = 2.0
"""How often the server asks `rollouts.actions.tick_due` whether a rollout's analysis is
due (the rollout's own interval decides; this is only how often it is asked)."""

SCHEMA = {
    "predict": "factory.serve.predict/1",
    "tiers": "factory.serve.tiers/1",
    "health": "factory.serve.health/1",
}

STATUS = {
    "request_invalid": 400,
    "invalid_name": 404,
    "unknown_model": 404,
    "unknown_tier": 404,
    "unknown_route": 404,
    "tier_empty": 404,
    "request_too_large": 413,
    "data_invalid": 422,
    "features_mismatch": 422,
    "component_input": 422,
    "internal": 500,
}
"""HTTP status per error code; other codes: 400 for usage errors, else 503 (the server
cannot serve that run now: missing artifact, changed code, unreadable card)."""


def http_status(error: FactoryError) -> int:
    if error.code in STATUS:
        return STATUS[error.code]
    if error.exit_code == ExitCode.USAGE:
        return 400
    if error.exit_code == ExitCode.CHECK_FAILED:
        return 422
    return 503


def to_json(document: Any) -> bytes:
    return json.dumps(document, separators=(",", ":"), ensure_ascii=False, default=str).encode()


def error_body(schema: str, error: FactoryError, next_commands: list[Next]) -> bytes:
    """The CLI's error envelope, for HTTP."""
    from core.render.envelope import failure

    return to_json(failure("serve", schema, error, next_commands))


def internal_error(exc: BaseException) -> FactoryError:
    """A bug as the envelope says it: type and message, never a traceback (that goes to the
    server's stderr)."""
    return FactoryError(
        "internal",
        f"internal error: {type(exc).__name__}",
        hint="This is a bug in factory; the server's stderr has the traceback.",
        details={"type": type(exc).__name__},
    )


@dataclass(frozen=True)
class Outcome:
    status: int
    body: bytes
    shadow: list[ShadowJob] = field(default_factory=list)


@dataclass(frozen=True)
class ShadowJob:
    """A request to score again with a shadow run, after its response is sent."""

    model: str
    run_id: str
    tier: str
    arm: str
    rollout_id: str | None
    frame: Any
    """The merged frame the primary scored (history and request rows)."""
    mask: Any
    order: list[int]
    """Request positions of the masked rows, in frame order."""
    rows: list[dict[str, Any]]
    """Per request position: request id, time, entity, input hash, input."""


SHADOW_MAX_WAIT_S = 1.0
"""How long a shadow job waits for the server to have no request in progress before it is
dropped (and counted as `stale`)."""


class ShadowQueue:
    """A bounded queue of shadow work and the thread that does it: a full queue drops the
    job and counts it, so shadow scoring never delays a response. With `idle`, a job starts
    only while `idle()` says no request is being served (scoring shares the interpreter with
    the served requests); one that waited `max_wait` seconds for that is dropped as stale."""

    def __init__(
        self,
        size: int,
        work: Callable[[ShadowJob], None],
        *,
        idle: Callable[[], bool] | None = None,
        max_wait: float = SHADOW_MAX_WAIT_S,
    ) -> None:
        self.size = size
        self._queue: queue.Queue[ShadowJob | None] = queue.Queue(maxsize=max(size, 1))
        self._work = work
        self._idle = idle
        self._max_wait = max_wait
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self.queued = self.dropped = self.done = self.failed = self.stale = 0

    def offer(self, job: ShadowJob) -> bool:
        if self.size <= 0:
            accepted = False
        else:
            try:
                self._queue.put_nowait(job)
                accepted = True
            except queue.Full:
                accepted = False
        with self._lock:
            if accepted:
                self.queued += 1
            else:
                self.dropped += 1
        return accepted

    def _wait_idle(self) -> bool:
        """Wait until no request is being served; False after `max_wait` or on stop."""
        if self._idle is None:
            return True
        deadline = time.monotonic() + self._max_wait
        while not self._idle():
            if time.monotonic() >= deadline or self._stopping.is_set():
                return False
            time.sleep(0.002)
        return True

    def _loop(self) -> None:
        while True:
            job = self._queue.get()
            if job is None:
                return
            if not self._wait_idle():
                with self._lock:
                    self.dropped += 1
                    self.stale += 1
                continue
            try:
                self._work(job)
                with self._lock:
                    self.done += 1
            except Exception:  # a shadow run's failure is logged by `work`; never stop
                traceback.print_exc()
                with self._lock:
                    self.failed += 1

    def start(self) -> None:
        self._thread = threading.Thread(target=self._loop, name="factory-shadow", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 5.0) -> None:
        """Stop after the job at hand; jobs still queued are dropped (and counted)."""
        self._stopping.set()
        pending = 0
        while True:
            try:
                if self._queue.get_nowait() is not None:
                    pending += 1
            except queue.Empty:
                break
        with self._lock:
            self.dropped += pending
        if self._thread is not None:
            self._queue.put(None)
            self._thread.join(timeout)

    def stats(self) -> dict[str, int]:
        with self._lock:
            return {
                "size": self.size,
                "waiting": self._queue.qsize(),
                "queued": self.queued,
                "dropped": self.dropped,
                "done": self.done,
                "failed": self.failed,
                "stale": self.stale,
            }


@dataclass
class ModelState:
    """One model as the server sees it: the runs in its tiers, from its card."""

    name: str
    config: ModelConfig
    dataset: DatasetConfig
    tiers: dict[str, str | None] = field(default_factory=lambda: dict.fromkeys(SERVED_TIERS))
    stamp: tuple[int, int, int] | None = None
    problem: str | None = None


def versions() -> dict[str, str | None]:
    """Python and the libraries that compute a prediction, as this process has them."""
    import platform
    from importlib import metadata

    from core.experiments.repro import LIBRARIES

    found: dict[str, str | None] = {"python": platform.python_version()}
    for name in (*LIBRARIES, "starlette", "uvicorn"):
        try:
            found[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            found[name] = None
    return found


def _finite(value: Any) -> float | None:
    number = float(value)
    return number if math.isfinite(number) else None


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON number")


def parse_rows(body: bytes) -> list[dict[str, Any]]:
    """The request's rows, each an object of column -> scalar value."""
    hint = 'Send {"rows": [{"column": value, ...}, ...]} as JSON, in the dataset\'s own columns.'
    if len(body) > MAX_BODY_BYTES:
        raise FactoryError(
            "request_too_large",
            f"The request body has {len(body):,} bytes; at most {MAX_BODY_BYTES:,} are served",
            hint="Send fewer rows per request, or score a file with `factory predict`.",
        )
    try:
        document = json.loads(body, parse_constant=_refuse_constant)
    except (ValueError, UnicodeDecodeError) as exc:
        raise FactoryError(
            "request_invalid", f"The request body is not JSON: {exc}", hint=hint
        ) from None
    if not isinstance(document, dict) or "rows" not in document:
        raise FactoryError("request_invalid", 'The request body has no "rows"', hint=hint)
    rows = document["rows"]
    if not isinstance(rows, list) or not rows:
        raise FactoryError(
            "request_invalid", '"rows" must be a non-empty list of objects', hint=hint
        )
    if len(rows) > MAX_ROWS:
        raise FactoryError(
            "request_too_large",
            f"The request has {len(rows):,} rows; at most {MAX_ROWS:,} are served per request",
            hint="Split the rows over several requests, or score a file with `factory predict`.",
            details={"rows": len(rows), "max_rows": MAX_ROWS},
        )
    for number, row in enumerate(rows, 1):
        if not isinstance(row, dict):
            raise FactoryError(
                "request_invalid",
                f"Row {number} is {type(row).__name__}, not an object of column -> value",
                hint=hint,
                details={"row": number},
            )
        for column, value in row.items():
            if column == POSITION or not (value is None or isinstance(value, str | int | float)):
                raise FactoryError(
                    "request_invalid",
                    f"Row {number}, column {column!r}: {json.dumps(value)[:60]} is not a "
                    "single value (text, number, true/false or null)",
                    hint=hint,
                    details={"row": number, "column": column},
                )
    return rows


class _Unsure:
    """The fast accept of a dataset whose schema it does not model: never sure."""

    @staticmethod
    def accept(rows: list[dict[str, Any]], frame: pd.DataFrame) -> None:
        return None


_UNSURE = _Unsure()


class Engine:
    """The state of one `factory serve` process and what it does per request."""

    def __init__(
        self,
        ws: Workspace,
        *,
        log: bool = True,
        allow_changed: bool = False,
        shadow_queue: int = 64,
        interval: float = 0.25,
        describe: dict[str, Any] | None = None,
        rollout_ticks: bool = True,
        fast_rows: bool = True,
        memo: int = 16,
    ) -> None:
        self.ws = ws
        self.allow_changed = allow_changed
        self.interval = interval
        self.models: dict[str, ModelState] = {}
        for name, config in ws.config.models.items():
            dataset = ws.config.datasets[config.dataset]
            self.models[name] = ModelState(name, config, dataset)
        self.histories: dict[str, History] = {}
        self.log = OnlineLog(ws, extra=describe) if log else None
        self._in_flight = 0
        """Predict requests being served now (shadow work waits for none)."""
        self.shadow = ShadowQueue(
            shadow_queue, self._score_shadow, idle=lambda: self._in_flight == 0
        )
        self._fast_rows = fast_rows
        self.memo = FeatureMemo(memo)
        self._row_checks: dict[str, tuple[Any, RowCheck | _Unsure]] = {}
        self._scorers: OrderedDict[str, Scorer] = OrderedDict()
        self._loading: dict[str, threading.Lock] = {}
        self._cache_lock = threading.Lock()
        self._stats_lock = threading.Lock()
        self._stop = threading.Event()
        self._watcher: threading.Thread | None = None
        self._ticker: threading.Thread | None = None
        self.rollout_ticks = rollout_ticks
        self.started = time.time()
        self.counts = {"requests": 0, "errors": 0, "predictions": 0}
        self.versions = versions()

    # ------------------------------------------------------------------ lifecycle

    def start(self) -> None:
        """Seed each dataset's history from its newest snapshot, read every card and load
        (and warm) the tiered runs, then start the watcher and the shadow worker."""
        for name, dataset in {s.dataset.name: s.dataset for s in self.models.values()}.items():
            history = History(dataset, self._default_span())
            snapshot, frame = self._snapshot(dataset.name)
            history.seed(snapshot, frame)
            self.histories[name] = history
        for state in self.models.values():
            self._refresh(state, announce=False)
        if self.log is not None:  # what `factory serve check` replays the requests on
            self.log.extra["history"] = {
                name: {"snapshot_id": h.snapshot_id, "span": duration(h.span)}
                for name, h in self.histories.items()
            }
        self.shadow.start()
        self._watcher = threading.Thread(target=self._watch, name="factory-cards", daemon=True)
        self._watcher.start()
        if self.rollout_ticks:
            self._ticker = threading.Thread(
                target=self._tick_rollouts, name="factory-rollouts", daemon=True
            )
            self._ticker.start()

    def stop(self) -> None:
        self._stop.set()
        for thread in (self._watcher, self._ticker):
            if thread is not None:
                thread.join(5)
        self.shadow.stop()
        if self.log is not None:
            self.log.close()

    def _default_span(self) -> timedelta:
        from core.operations.predict import DEFAULT_HISTORY

        return DEFAULT_HISTORY

    def _snapshot(self, dataset: str) -> tuple[str | None, pd.DataFrame | None]:
        from core.data.snapshots import load_snapshot
        from core.operations.common import newest_snapshot_id

        snapshot = newest_snapshot_id(self.ws, dataset)
        if snapshot is None:
            return None, None
        try:
            return snapshot, load_snapshot(self.ws, snapshot)
        except (FactoryError, OSError) as exc:
            self._say(f"cannot seed history from {snapshot}: {exc}")
            return None, None

    @staticmethod
    def _say(message: str) -> None:
        print(f"factory serve: {message}", file=sys.stderr, flush=True)

    # ------------------------------------------------------------- tiers and runs

    def _watch(self) -> None:
        while not self._stop.wait(self.interval):
            for state in self.models.values():
                try:
                    self._refresh(state)
                except Exception:  # the watcher must outlive any one card
                    traceback.print_exc()

    def _tick_rollouts(self) -> None:
        """Run each rollout's analysis when it is due (`factory rollout tick` does the same
        from a shell); a decision that changes a tier reaches the card, and the watcher."""
        last = ""
        while not self._stop.wait(ROLLOUT_TICK_S):
            try:
                from core.operations.rollouts.actions import tick_due

                for view in tick_due(self.ws):
                    self._say(f"rollout {view.rollout_id} of {view.model}: {view.status}")
                last = ""
            except Exception as exc:  # a rollout's trouble never stops serving
                said = f"{type(exc).__name__}: {exc}"
                if said != last:
                    self._say(f"rollout analysis failed: {said}")
                last = said

    def _refresh(self, state: ModelState, *, announce: bool = True) -> None:
        """Read the card again when its file changed; load new tier holders, then swap."""
        from core.foundation.stamps import settled
        from core.operations.tier_state import read_tiers
        from core.records.card_store import card_path

        try:
            info = os.stat(card_path(self.ws, state.name))
            stamp: tuple[int, int, int] | None = (info.st_ino, info.st_mtime_ns, info.st_size)
        except FileNotFoundError:
            stamp = None
        if stamp is None:  # no card: nothing promoted yet
            state.tiers, state.stamp, state.problem = dict.fromkeys(SERVED_TIERS), None, None
            return
        if stamp == state.stamp and settled(stamp[1]):
            return
        try:
            tiers = read_tiers(self.ws, state.name)
        except FactoryError as exc:
            if state.problem != exc.message:
                self._say(f"{state.name}: keeping the tiers served so far: {exc.message}")
            state.problem = exc.message
            return
        state.problem = None
        fresh: dict[str, str | None] = {tier: tiers.get(tier) for tier in SERVED_TIERS}
        for run_id in fresh.values():
            if run_id is not None:
                try:
                    self.scorer(run_id)
                except FactoryError as exc:
                    self._say(f"{state.name}: cannot load {run_id}: {exc.message}")
                except Exception as exc:  # a bug (a broken model file): its requests say so
                    self._say(f"{state.name}: cannot load {run_id}: {type(exc).__name__}")
        if fresh != state.tiers:
            if announce:
                changes = ", ".join(
                    f"{tier} {state.tiers.get(tier)} -> {fresh[tier]}"
                    for tier in SERVED_TIERS
                    if fresh[tier] != state.tiers.get(tier)
                )
                self._say(f"{state.name}: {changes}")
            state.tiers = fresh  # one assignment: a request sees the old map or the new
        state.stamp = stamp

    def scorer(self, run_id: str) -> Scorer:
        """A run loaded for scoring, from the cache or loaded once (concurrent requests for a
        run being loaded wait for that load)."""
        from core.operations.artifacts import refuse_changed
        from core.operations.common import load_run
        from core.operations.predict import load_scorer

        with self._cache_lock:
            found = self._scorers.get(run_id)
            if found is not None:
                self._scorers.move_to_end(run_id)
                return found
            gate = self._loading.setdefault(run_id, threading.Lock())
        with gate:
            with self._cache_lock:
                found = self._scorers.get(run_id)
            if found is not None:
                return found
            report = load_run(self.ws, run_id)
            allowed = refuse_changed(self.ws, report, self.allow_changed)
            loaded = self.memo.wrap(load_scorer(self.ws, report, allowed))
            history = self.histories.get(self.ws.config.models[loaded.model].dataset)
            if history is not None and loaded.history > history.span:
                history.widen(loaded.history, self._snapshot(history.dataset.name)[1])
            self._warm(loaded, history)
            with self._cache_lock:
                self._scorers[run_id] = loaded
                self._evict()
            return loaded

    @staticmethod
    def _warm(scorer: Scorer, history: History | None) -> None:
        """Score the newest kept row once, unlogged, so the first request a run serves does
        not pay for first-call imports and caches."""
        import numpy as np

        frame = history.frame() if history is not None else None
        if history is None or frame is None or frame.empty:
            return
        scored = np.zeros(len(frame), dtype=bool)
        scored[-1] = True
        dataset = history.dataset
        with contextlib.suppress(FactoryError):  # such a run says so on its first request
            scorer.score(frame, scored, dataset.time_column, tuple(dataset.entity_columns))

    def _evict(self) -> None:
        held = {run for state in self.models.values() for run in state.tiers.values() if run}
        spare = [run for run in self._scorers if run not in held]
        for run in spare[: max(len(spare) - MAX_LOADED, 0)]:
            del self._scorers[run]

    def loaded(self) -> list[str]:
        with self._cache_lock:
            return list(self._scorers)

    # ------------------------------------------------------------------- requests

    def _model(self, name: str) -> ModelState:
        from core.foundation.ids import validate_name

        validate_name(name, "model")
        state = self.models.get(name)
        if state is None:
            raise FactoryError(
                "unknown_model",
                f"No model {name!r} is served",
                hint=f"Served models: {', '.join(self.models) or 'none'} (see GET /v1/health).",
                details={"model": name, "models": list(self.models)},
            )
        return state

    def _route(self, state: ModelState, tier: str, key: str) -> Route:
        from core.operations import rollouts

        if tier == "prod":
            return rollouts.route(self.ws, state.name, key)
        run_id = state.tiers.get(tier)
        if run_id is None:
            raise FactoryError(
                "tier_empty",
                f"No run of {state.name} is in {tier}",
                hint=f"Promote one: `factory promote RUN --to {tier}` (see `factory tiers "
                f"{state.name}`).",
                details={"model": state.name, "tier": tier},
            )
        return rollouts.Route(
            run_id=run_id, tier=tier, arm="stable", rollout_id=None, shadow_run_id=None
        )

    def _validate(self, state: ModelState, rows: list[dict[str, Any]]) -> pd.DataFrame:
        """The rows as a validated frame (schema, time parsed, ordered by time then entity),
        with each row's position in the request in `POSITION`."""
        import pandas as pd

        from core.data.sources import SourceFrame
        from core.data.validation import validate_source

        frame = pd.DataFrame.from_records(rows)
        frame[POSITION] = range(len(rows))
        accepted = self._row_check(state.dataset).accept(rows, frame) if self._fast_rows else None
        if accepted is not None:
            return accepted
        source = SourceFrame(frame, "request", "request body", "", "json")
        report, normalized = validate_source(self.ws, state.dataset, source)
        if not report.ok or normalized is None:
            raise DataInvalidError(
                report.summary(),
                hint="Fix the rows listed in details (rows are counted from 1 in the order "
                f"sent) and send them again (schema {state.dataset.schema or 'none'} of "
                f"dataset {state.dataset.name!r}).",
                details=report.to_dict(),
            )
        return normalized

    def _row_check(self, dataset: DatasetConfig) -> RowCheck | _Unsure:
        """The dataset's fast accept, planned again whenever the schema folders' files move
        (reading the contract scans and hashes them: about 0.3 ms a request)."""
        from core.data.validation import contract
        from core.foundation.stamps import settled
        from core.serve.rowcheck import plan

        stamp = self._schema_stamp()
        found = self._row_checks.get(dataset.name)
        if found is not None and found[0] == stamp:
            return found[1]
        check = plan(contract(self.ws, dataset)) or _UNSURE
        if stamp is not None and settled(*(entry[1] for entry in stamp)):
            self._row_checks[dataset.name] = (stamp, check)
        return check

    def _schema_stamp(self) -> tuple[tuple[str, int, int, int], ...] | None:
        """Each schema module's path, mtime, size and inode, and each schema folder's (a
        file added or removed); None when a folder cannot be read."""
        from core.components.registry import BUILTIN_ROOT, workspace_components_dir

        own = workspace_components_dir(self.ws)
        folders = [BUILTIN_ROOT / "schemas", *([own / "schemas"] if own else [])]
        found: list[tuple[str, int, int, int]] = []
        try:
            for folder in folders:
                if not folder.is_dir():
                    found.append((str(folder), 0, -1, 0))
                    continue
                info = folder.stat()
                found.append((str(folder), info.st_mtime_ns, info.st_size, info.st_ino))
                with os.scandir(folder) as entries:
                    for entry in entries:
                        info = entry.stat()
                        found.append((entry.path, info.st_mtime_ns, info.st_size, info.st_ino))
        except OSError:
            return None
        return tuple(sorted(found))

    def _count(self, **deltas: int) -> None:
        with self._stats_lock:
            for key, delta in deltas.items():
                self.counts[key] += delta

    def predict(self, model: str, tier: str | None, body: bytes, received: float) -> Outcome:
        """One `POST /v1/{model}[/{tier}]/predict`; never raises."""
        with self._stats_lock:
            self._in_flight += 1
        try:
            return self._predict(model, tier, body, received)
        finally:
            with self._stats_lock:
                self._in_flight -= 1

    def _predict(self, model: str, tier: str | None, body: bytes, received: float) -> Outcome:
        cpu = time.thread_time()
        ids: list[str] = []
        state: ModelState | None = None
        served = tier or "prod"
        context: dict[str, Route] = {}
        self._count(requests=1)
        try:
            state = self._model(model)
            if served not in SERVED_TIERS:
                raise FactoryError(
                    "unknown_tier",
                    f"Tier {served!r} is not served",
                    hint="POST /v1/MODEL/predict (prod) or /v1/MODEL/staging/predict.",
                    details={"tier": served, "tiers": list(SERVED_TIERS)},
                )
            rows = parse_rows(body)
            ids = ["rq-" + secrets.token_hex(8) for _ in rows]
            frame = self._validate(state, rows)
            return self._score(state, served, rows, ids, frame, received, cpu, context)
        except FactoryError as exc:
            error = exc
        except Exception as exc:  # a bug: say so without a traceback, keep serving
            traceback.print_exc()
            error = internal_error(exc)
        self._count(errors=1)
        request_id = "rq-" + secrets.token_hex(8)
        error.details = {**error.details, "request_id": request_id}
        if state is not None and self.log is not None:
            # A failure after routing counts against the run (and arm) it was routed to.
            chosen = context.get("route")
            line = self._line(
                request_id, state.name, chosen.run_id if chosen else None,
                chosen.tier if chosen else served, "online", chosen.arm if chosen else None,
                chosen.rollout_id if chosen else None, None,
                latency_ms=(time.perf_counter() - received) * 1000,
                cpu_ms=(time.thread_time() - cpu) * 1000,
            )  # fmt: skip
            line.update(status="error", error_code=error.code)
            try:
                self.log.write([], [line])
            except OSError as exc:
                self._say(f"could not write the inference log: {exc}")
        hints = (
            [Next(factory("tiers", state.name), "the runs that hold the model's tiers now")]
            if state is not None
            else []
        )
        return Outcome(http_status(error), error_body(SCHEMA["predict"], error, hints))

    @staticmethod
    def _line(
        request_id: str,
        model: str,
        run_id: str | None,
        tier: str,
        mode: str,
        arm: str | None,
        rollout_id: str | None,
        row: dict[str, Any] | None,
        *,
        latency_ms: float,
        cpu_ms: float,
    ) -> dict[str, Any]:
        from core.operations.predict import LOG_SCHEMA

        row = row or {}
        return {
            "request_id": request_id,
            "v": LOG_SCHEMA,
            "ts": clock.iso(),
            "batch_id": None,
            "model": model,
            "run_id": run_id,
            "tier": tier,
            "mode": mode,
            "arm": arm,
            "rollout_id": rollout_id,
            "row": row.get("row"),
            "time": row.get("time"),
            "entity": row.get("entity"),
            "input_hash": row.get("input_hash"),
            "input": row.get("input"),
            "prediction": None,
            "latency_ms": round(latency_ms, 4),
            "cpu_ms": round(cpu_ms, 4),
            "status": "ok",
            "error_code": None,
        }

    def _rows(
        self, state: ModelState, frame: pd.DataFrame, rows: list[dict[str, Any]], ids: list[str]
    ) -> list[dict[str, Any]]:
        """Per request position: what the log says of the row."""
        from core.operations.predict import _json_value, _row_hashes, iso_times

        entity = list(state.dataset.entity_columns)
        times = iso_times(frame[state.dataset.time_column]).to_pylist()
        hashes = _row_hashes(frame.drop(columns=POSITION))
        out: list[dict[str, Any]] = [{} for _ in rows]
        for index, position in enumerate(frame[POSITION].tolist()):
            out[position] = {
                "row": position,
                "request_id": ids[position],
                "time": times[index],
                "entity": {c: _json_value(frame[c].iat[index]) for c in entity},
                "input_hash": bytes(hashes[index]).decode(),
                "input": rows[position],
            }
        return out

    def _score(
        self,
        state: ModelState,
        tier: str,
        rows: list[dict[str, Any]],
        ids: list[str],
        frame: pd.DataFrame,
        received: float,
        cpu: float,
        context: dict[str, Route],
    ) -> Outcome:
        info = self._rows(state, frame, rows, ids)
        entity = list(state.dataset.entity_columns)
        routes: list[Route | None] = [None] * len(rows)
        by_key: dict[str, Route] = {}
        for position, row in enumerate(info):
            key = "|".join(str(v) for v in row["entity"].values()) if entity else ids[position]
            if key not in by_key:
                by_key[key] = self._route(state, tier, key)
            routes[position] = by_key[key]
            context.setdefault("route", by_key[key])
        groups: dict[str, list[int]] = {}
        for position, chosen in enumerate(routes):
            assert chosen is not None
            groups.setdefault(chosen.run_id, []).append(position)
        history = self.histories[state.dataset.name]
        merged = history.merge(frame)
        positions, plain = merged.positions, merged.frame
        predictions: list[float | None] = [None] * len(rows)
        scorers: list[Scorer] = []
        shadow: list[ShadowJob] = []
        for run_id, members in groups.items():
            scorer = self.scorer(run_id)
            if scorer.model != state.name:
                raise FactoryError(
                    "model_mismatch",
                    f"Run {run_id} is of model {scorer.model!r}, not {state.name!r}",
                )
            scorers.append(scorer)
            mask = _members(positions, members)
            order = [int(p) for p in positions[mask]]
            values = scorer.score(
                plain, mask, state.dataset.time_column, tuple(state.dataset.entity_columns)
            )
            for position, value in zip(order, values, strict=True):
                predictions[position] = _finite(value)
            first = routes[members[0]]
            assert first is not None
            if first.shadow_run_id:
                shadow.append(
                    ShadowJob(
                        state.name, first.shadow_run_id, first.tier, first.arm,
                        first.rollout_id, plain, mask, order, info,
                    )
                )  # fmt: skip
        latency_ms = (time.perf_counter() - received) * 1000
        cpu_ms = (time.thread_time() - cpu) * 1000 / len(rows)
        if self.log is not None:
            lines = []
            for position, row in enumerate(info):
                chosen = routes[position]
                assert chosen is not None
                line = self._line(
                    ids[position], state.name, chosen.run_id, chosen.tier, "online",
                    chosen.arm, chosen.rollout_id, row, latency_ms=latency_ms, cpu_ms=cpu_ms,
                )  # fmt: skip
                line["prediction"] = predictions[position]
                lines.append(line)
            self.log.write(scorers, lines)
        history.add(frame, merged)
        self._count(predictions=len(rows))
        first_route = routes[0]
        assert first_route is not None
        document = {
            "model": state.name,
            "tier": first_route.tier,
            "run_id": first_route.run_id,
            "predictions": predictions,
            "request_ids": ids,
            "run_ids": [r.run_id for r in routes if r is not None],
            "arms": [r.arm for r in routes if r is not None],
            "latency_ms": round(latency_ms, 4),
        }
        return Outcome(200, to_json(document), shadow)

    def _score_shadow(self, job: ShadowJob) -> None:
        """Score a request with its shadow run and log it as `mode="shadow"`."""
        state = self.models[job.model]
        started, cpu = time.perf_counter(), time.thread_time()
        scorers: list[Scorer] = []
        values: list[float | None] = [None] * len(job.order)
        code: str | None = None
        try:
            scorer = self.scorer(job.run_id)
            scorers.append(scorer)
            scored = scorer.score(
                job.frame, job.mask, state.dataset.time_column, tuple(state.dataset.entity_columns)
            )
            values = [_finite(v) for v in scored]
        except FactoryError as exc:
            code = exc.code
            self._say(f"shadow run {job.run_id} failed: {exc.message}")
        latency_ms = (time.perf_counter() - started) * 1000
        cpu_ms = (time.thread_time() - cpu) * 1000 / max(len(job.order), 1)
        if self.log is None:
            return
        lines = []
        for position, value in zip(job.order, values, strict=True):
            row = job.rows[position]
            line = self._line(
                row["request_id"], job.model, job.run_id, job.tier, "shadow", "challenger",
                job.rollout_id, row, latency_ms=latency_ms, cpu_ms=cpu_ms,
            )  # fmt: skip
            line["prediction"] = value
            if code is not None:
                line.update(status="error", error_code=code)
            lines.append(line)
        self.log.write(scorers, lines)

    def offer_shadow(self, jobs: list[ShadowJob]) -> None:
        for job in jobs:
            self.shadow.offer(job)

    # -------------------------------------------------------------- other routes

    def tiers(self, model: str) -> Outcome:
        """`GET /v1/{model}/tiers`: the runs in each tier and what is loaded."""
        try:
            state = self._model(model)
            self._refresh(state)
        except FactoryError as exc:
            return Outcome(http_status(exc), error_body(SCHEMA["tiers"], exc, []))
        with self._cache_lock:
            loaded = {
                run: {
                    "components": s.components(),
                    "inference": s.inference_ref(),
                    "history": duration(s.history),
                    "allowed_changes": [c["ref"] for c in s.allowed_changes],
                }
                for run, s in self._scorers.items()
                if s.model == state.name
            }
        history = self.histories.get(state.dataset.name)
        document = {
            "model": state.name,
            "tiers": dict(state.tiers),
            "loaded": loaded,
            "history": history.describe() if history is not None else None,
            "card_problem": state.problem,
        }
        return Outcome(200, to_json(document))

    def health(self) -> Outcome:
        with self._stats_lock:
            counts = dict(self.counts)
        document = {
            "status": "ok",
            "pid": os.getpid(),
            "uptime_s": round(time.time() - self.started, 3),
            **counts,
            "models": {name: dict(state.tiers) for name, state in self.models.items()},
            "loaded": self.loaded(),
            "shadow": self.shadow.stats(),
            "features_memo": self.memo.stats(),
            "log": None if self.log is None else self.log.files[-1:] or [],
            "versions": self.versions,
        }
        return Outcome(200, to_json(document))


def _members(positions: np.ndarray, members: list[int]) -> np.ndarray:
    import numpy as np

    return np.isin(positions, np.asarray(members, dtype=positions.dtype))
