"""Engines: run a function over items, each a task, and hand the results back in item order.

`open_engine(spec)` gives one for the length of a command: `local` calls the function in
this process, item after item (the code path every result is compared with); `dask`
connects to the scheduler at `address`, or starts a cluster of worker processes on this
machine when it is empty, and closes what it started on the way out. `ray` is declared (a
valid `[compute] engine`) and refused with how to install it, or that it is not built yet.

A task's `shared` argument (the feature matrix, a model file's bytes) goes to every worker
once; its items travel with each task. What a task raises as a `FactoryError` comes back as
data (`TaskFailed`) and is raised again here, so the driver reports it as if it had run
locally. Opening never hangs: the scheduler must answer and show a worker within
`connect_timeout_s`, and its workers must run the same Python, libraries and worker-side code
as this process, or results could differ (`engine_mismatch`).
"""

from __future__ import annotations

import contextlib
import hashlib
import importlib.util
import os
import platform
import sys
import threading
import uuid
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol, TypeVar

from core.foundation.config import ENGINES, ComputeConfig
from core.foundation.errors import FactoryError, UsageError

S = TypeVar("S")
I = TypeVar("I")  # noqa: E741
R = TypeVar("R")

DASK_PIN = "dask[distributed]==2026.8.0"
"""What `pip install 'factory[dask]'` installs (pyproject.toml's `dask` extra)."""

LIBRARIES = ("catboost", "numpy", "pandas", "pyarrow", "cloudpickle")
"""Libraries whose version must match between this process and the workers: a fit or a
prediction depends on them, or on how its inputs travel."""

WORKER_CODE = (
    "core.compute.engine",
    "core.compute.shipping",
    "core.compute.scoring",
    "core.experiments.training.folds",
    "core.experiments.training.fit",
    "core.components.registry",
    "core.components.contracts",
)
"""factory's modules that run inside a task: their source must be the same on the workers
(named, not imported, so this layer stays below the ones it names)."""


@dataclass(frozen=True)
class EngineSpec:
    """Which engine a command uses, and where that was said (for its error messages)."""

    name: str
    address: str = ""
    workers: int | None = None
    connect_timeout_s: float = 5.0
    where: str = "factory.toml"
    """`factory.toml:12` (the `[compute] engine` line) or `--engine dask`."""
    address_at: str = "factory.toml"

    @property
    def local(self) -> bool:
        return self.name == "local"

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "address": self.address or None, "workers": self.workers}


LOCAL = EngineSpec("local")


def engine_spec(compute: ComputeConfig, override: str | None = None) -> EngineSpec:
    """The `[compute]` settings, with `--engine` (when given) choosing the engine: the
    address applies only to the engine it was written for."""
    if override is not None and override not in ENGINES:
        raise UsageError(
            f"--engine {override!r} is not one of {', '.join(ENGINES)}",
            hint="For example --engine dask.",
        )
    name = override or compute.engine
    configured = name == compute.engine
    return EngineSpec(
        name=name,
        address=compute.address if configured else "",
        workers=compute.workers if configured else None,
        connect_timeout_s=compute.connect_timeout_s,
        where=f"--engine {override}"
        if override is not None and not configured
        else (compute.engine_at or "factory.toml"),
        address_at=compute.address_at or "factory.toml",
    )


class Engine(Protocol):
    name: str
    remote: bool
    """Tasks run in other processes (no callback reaches this one while they run)."""

    def slots(self) -> int:
        """How many tasks run at once."""
        ...

    def map(self, fn: Callable[[S, I], R], shared: S, items: Sequence[I]) -> Iterator[R]:
        """`fn(shared, item)` for every item, yielded in item order. A remote engine submits
        every task at once; the local one runs each as its result is asked for."""
        ...

    def describe(self) -> dict[str, Any]:
        """What ran the work, for the report: `{name, address, workers, threads}`."""
        ...


@dataclass(frozen=True)
class TaskFailed:
    """A `FactoryError` raised inside a task, carried back as data: the exception class does
    not survive pickling (its constructor takes keyword arguments)."""

    kind: type[FactoryError]
    message: str
    state: dict[str, Any] = field(default_factory=dict)
    """The error's attributes: code, message, hint, details, exit_code."""

    def raise_again(self) -> None:
        # The same error, not a new one: its code was raised, as a literal, inside the task.
        error = self.kind.__new__(self.kind)
        error.args = (self.message,)
        error.__dict__.update(self.state)
        raise error


def run_task(fn: Callable[[S, I], R], shared: S, item: I) -> R | TaskFailed:
    """What a worker runs: the task, its FactoryError turned into data."""
    try:
        return fn(shared, item)
    except FactoryError as exc:
        return TaskFailed(type(exc), str(exc), dict(vars(exc)))


def _unwrap(value: Any) -> Any:
    if isinstance(value, TaskFailed):
        value.raise_again()
    return value


class LocalEngine:
    """This process, item after item: the reference every other engine must equal."""

    name = "local"
    remote = False

    def slots(self) -> int:
        return 1

    def map(self, fn: Callable[[S, I], R], shared: S, items: Sequence[I]) -> Iterator[R]:
        for item in items:
            yield fn(shared, item)

    def describe(self) -> dict[str, Any]:
        return {"name": "local", "address": None, "workers": 1, "threads": 1}


class DaskEngine:
    """Tasks on a Dask cluster through one client (closed by `open_engine`)."""

    name = "dask"
    remote = True

    def __init__(self, client: Any, spec: EngineSpec, started: bool) -> None:
        self.client = client
        self.spec = spec
        self.started = started

    def slots(self) -> int:
        return max(1, sum(int(n) for n in self.client.nthreads().values()))

    def map(self, fn: Callable[[S, I], R], shared: S, items: Sequence[I]) -> Iterator[R]:
        client = self.client
        # One copy per worker, not one per task: a fold's matrix is most of a task's input.
        [held] = client.scatter([shared], broadcast=True, hash=False)
        token = uuid.uuid4().hex[:12]
        futures = [
            client.submit(run_task, fn, held, item, key=f"{fn.__name__}-{token}-{n}", pure=False)
            for n, item in enumerate(items)
        ]
        return self._collect(futures, held)

    def _collect(self, futures: list[Any], held: Any) -> Iterator[Any]:
        try:
            for future in futures:
                try:
                    value = future.result()
                except Exception as exc:
                    if _from_engine(exc):
                        raise self._failed(exc) from exc
                    raise
                yield _unwrap(value)
        finally:
            with contextlib.suppress(Exception):
                self.client.cancel([*futures, held])

    def _failed(self, exc: BaseException) -> FactoryError:
        return FactoryError(
            "engine_failed",
            f"a task on the dask engine ({self._where()}) failed: {type(exc).__name__}: {exc}",
            hint="A worker died, ran out of memory or lost its connection; see the workers' "
            "logs, give them more memory, or run with --engine local.",
            details={"engine": "dask", "address": self.spec.address or None},
        )

    def _where(self) -> str:
        return self.spec.address or "a cluster on this machine"

    def describe(self) -> dict[str, Any]:
        threads = self.client.nthreads()
        return {
            "name": "dask",
            "address": self.spec.address or None,
            "workers": len(threads),
            "threads": sum(int(n) for n in threads.values()),
        }


def _from_engine(exc: BaseException) -> bool:
    """An exception of the engine's own making (a lost worker, a closed connection, a
    cancelled task), not one the task's code raised."""
    module = type(exc).__module__ or ""
    return module.split(".")[0] in ("distributed", "dask", "tornado", "asyncio") or isinstance(
        exc, (OSError, TimeoutError)
    )


# ------------------------------------------------------------------ sameness of the workers


def code_hash(modules: Sequence[str] = WORKER_CODE) -> str:
    """SHA-256 prefix over the source of the modules that run in tasks."""
    digest = hashlib.sha256()
    for name in modules:
        spec = importlib.util.find_spec(name)
        origin = spec.origin if spec is not None else None
        digest.update(name.encode() + b"\0")
        if origin and os.path.isfile(origin):
            with open(origin, "rb") as handle:
                digest.update(handle.read())
    return digest.hexdigest()[:16]


def versions() -> dict[str, str | None]:
    """What must be the same wherever a task runs (computed on each worker, too)."""
    from importlib import metadata

    found: dict[str, str | None] = {"python": platform.python_version()}
    for name in LIBRARIES:
        try:
            found[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            found[name] = None
    found["factory_code"] = code_hash()
    return found


def check_same(here: dict[str, str | None], workers: dict[str, dict[str, str | None]]) -> None:
    """Refuse workers whose versions differ from this process's (`engine_mismatch`)."""
    differ = {
        address: {k: {"here": v, "worker": theirs.get(k)} for k, v in here.items()
                  if theirs.get(k) != v}
        for address, theirs in sorted(workers.items())
    }  # fmt: skip
    differ = {address: d for address, d in differ.items() if d}
    if not differ:
        return
    address, first = next(iter(differ.items()))
    said = ", ".join(f"{k} {d['worker']} (here {d['here']})" for k, d in first.items())
    raise FactoryError(
        "engine_mismatch",
        f"worker {address} runs {said}: its fits and predictions could differ from this "
        f"process's ({len(differ)} of {len(workers)} workers differ)",
        hint="Install the same factory and library versions on the workers as here (the same "
        "image or lock file), or run with --engine local.",
        details={"workers": differ},
    )


# ------------------------------------------------------------------------------ opening


@contextlib.contextmanager
def open_engine(spec: EngineSpec) -> Iterator[Engine]:
    """The engine `spec` names, for the length of the `with` block."""
    if spec.local:
        yield LocalEngine()
        return
    if spec.name == "dask":
        with _open_dask(spec) as engine:
            yield engine
        return
    yield _refuse_ray(spec)


def _refuse_ray(spec: EngineSpec) -> Engine:
    try:
        import ray  # noqa: F401
    except ImportError:
        installed = False
    else:
        installed = True
    how = (
        "Ray is installed, but factory's Ray engine is not built yet (adrs/0033)"
        if installed
        else f"Ray is not installed in {sys.executable}, and factory's Ray engine is not "
        "built yet (adrs/0033)"
    )
    raise FactoryError(
        "engine_unavailable",
        f"{spec.where}: engine 'ray': {how}",
        hint=f"Use engine = \"dask\" (pip install 'factory[dask]', or pip install "
        f"'{DASK_PIN}'), which runs the same tasks, or engine = \"local\".",
        details={"engine": "ray", "installed": installed},
    )


@contextlib.contextmanager
def _open_dask(spec: EngineSpec) -> Iterator[DaskEngine]:
    try:
        import dask
        from distributed import Client, LocalCluster
    except ImportError as exc:
        raise FactoryError(
            "engine_unavailable",
            f"{spec.where}: engine 'dask' needs dask.distributed, which is not installed in "
            f"{sys.executable} ({exc})",
            hint=f"pip install 'factory[dask]' (or pip install '{DASK_PIN}'), or set "
            '[compute] engine = "local".',
            details={"engine": "dask"},
        ) from None
    import logging

    timeout = spec.connect_timeout_s
    with contextlib.ExitStack() as stack:
        if spec.address:
            client = _connect(Client, spec)
            stack.callback(client.close)
        else:
            # A task no worker can run fails after this long rather than waiting forever
            # (the scheduler runs in this process, so this process's setting applies).
            with dask.config.set({"distributed.scheduler.no-workers-timeout": "60s"}):
                cluster = LocalCluster(  # type: ignore[no-untyped-call]
                    n_workers=spec.workers or os.cpu_count() or 1,
                    threads_per_worker=1,
                    processes=True,
                    dashboard_address=None,
                    silence_logs=logging.ERROR,
                )
            stack.callback(cluster.close)
            client = Client(cluster, timeout=timeout, set_as_default=False)  # type: ignore[no-untyped-call]
            stack.callback(client.close)
        try:
            client.wait_for_workers(1, timeout=timeout)
        except TimeoutError:
            raise _unreachable(spec, f"the scheduler has no worker after {timeout:g} s") from None
        check_same(versions(), client.run(versions))
        yield DaskEngine(client, spec, started=not spec.address)


def _connect(client_class: Any, spec: EngineSpec) -> Any:
    """A client of the scheduler at `spec.address`, or `engine_unreachable` within about
    `connect_timeout_s`. Dask bounds the TCP connect but not the handshake after it, so an
    address that accepts connections and never answers (not a scheduler, or a stuck one)
    would hang the constructor: it runs in a daemon thread that is abandoned at the
    deadline."""
    timeout = spec.connect_timeout_s
    box: dict[str, Any] = {}

    def attempt() -> None:
        try:
            box["client"] = client_class(spec.address, timeout=timeout, set_as_default=False)
        except BaseException as exc:
            box["error"] = exc

    thread = threading.Thread(target=attempt, name="factory-engine-connect", daemon=True)
    thread.start()
    thread.join(timeout + 1.0)
    if thread.is_alive():
        raise _unreachable(spec, "it accepts connections, but no Dask scheduler answers")
    error = box.get("error")
    if isinstance(error, (OSError, TimeoutError)):
        raise _unreachable(spec, f"no scheduler answered: {error}") from None
    if error is not None:
        raise error
    return box["client"]


def _unreachable(spec: EngineSpec, why: str) -> FactoryError:
    return FactoryError(
        "engine_unreachable",
        f"{spec.address_at}: [compute] address {spec.address!r}: {why} (within "
        f"connect_timeout_s = {spec.connect_timeout_s:g})",
        hint="Start the scheduler and its workers (`dask scheduler`, `dask worker ADDRESS`), "
        'fix the address, or leave address = "" to start a cluster on this machine.',
        details={"engine": spec.name, "address": spec.address, "where": spec.address_at},
    )
