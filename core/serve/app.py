"""The HTTP face of `factory serve`: a Starlette application over the `Engine`.

Routes (JSON in and out; an error is the CLI's envelope, `ok: false` with `error.code`,
`message`, `hint`, `details`, and an HTTP status from the code):

- `POST /v1/{model}/predict`: the prod tier; `POST /v1/{model}/{tier}/predict`: prod or
  staging. Body `{"rows": [{column: value, ...}, ...]}` in the dataset's own columns; answer
  `{"model", "tier", "run_id", "predictions", "request_ids", "run_ids", "arms", "latency_ms"}`.
- `GET /v1/{model}/tiers`: the runs holding staging and prod, the runs loaded, the history.
- `GET /v1/health`: counts, tiers, shadow queue, library versions.

Scoring is CPU work in plain functions: each request runs in a worker thread so the event
loop keeps accepting; shadow work is queued in a background task, after the response is sent.
"""

from __future__ import annotations

import time
import traceback
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from core.foundation.errors import FactoryError
from core.serve.engine import (
    MAX_BODY_BYTES,
    SCHEMA,
    Engine,
    Outcome,
    error_body,
    internal_error,
)

if TYPE_CHECKING:
    from starlette.applications import Starlette
    from starlette.requests import Request
    from starlette.responses import Response

JSON = "application/json"


def build_app(engine: Engine, on_ready: Callable[[], None] | None = None) -> Starlette:
    import contextlib
    from collections.abc import AsyncIterator

    import anyio
    from starlette.applications import Starlette
    from starlette.background import BackgroundTask
    from starlette.exceptions import HTTPException
    from starlette.responses import Response
    from starlette.routing import Route

    def respond(outcome: Outcome) -> Response:
        response = Response(outcome.body, status_code=outcome.status, media_type=JSON)
        if outcome.shadow:
            response.background = BackgroundTask(engine.offer_shadow, outcome.shadow)
        return response

    async def predict(request: Request) -> Response:
        received = time.perf_counter()
        model = str(request.path_params["model"])
        tier = request.path_params.get("tier")
        declared = request.headers.get("content-length")
        if declared is not None and declared.isdigit() and int(declared) > MAX_BODY_BYTES:
            body = b" " * (MAX_BODY_BYTES + 1)  # refused by the engine, unread
        else:
            parts: list[bytes] = []
            size = 0
            async for chunk in request.stream():
                size += len(chunk)
                if size > MAX_BODY_BYTES:
                    break
                parts.append(chunk)
            body = b"".join(parts) if size <= MAX_BODY_BYTES else b" " * (MAX_BODY_BYTES + 1)
        outcome = await anyio.to_thread.run_sync(engine.predict, model, tier, body, received)
        return respond(outcome)

    async def tiers(request: Request) -> Response:
        return respond(await anyio.to_thread.run_sync(engine.tiers, request.path_params["model"]))

    async def health(request: Request) -> Response:
        return respond(engine.health())

    async def http_error(request: Request, exc: Exception) -> Response:
        status = getattr(exc, "status_code", 404)
        error = FactoryError(
            "unknown_route",
            f"{request.method} {request.url.path} is not served",
            hint="POST /v1/MODEL/predict, POST /v1/MODEL/staging/predict, GET /v1/MODEL/tiers, "
            "GET /v1/health.",
            details={"method": request.method, "path": request.url.path, "status": status},
        )
        return Response(
            error_body(SCHEMA["predict"], error, []), status_code=status, media_type=JSON
        )

    async def crashed(request: Request, exc: Exception) -> Response:
        traceback.print_exception(exc)
        body = error_body(SCHEMA["predict"], internal_error(exc), [])
        return Response(body, status_code=500, media_type=JSON)

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        if on_ready is not None:
            on_ready()
        yield

    handlers: dict[Any, Any] = {HTTPException: http_error, Exception: crashed}
    return Starlette(
        debug=False,
        routes=[
            Route("/v1/health", health, methods=["GET"]),
            Route("/v1/{model}/tiers", tiers, methods=["GET"]),
            Route("/v1/{model}/predict", predict, methods=["POST"]),
            Route("/v1/{model}/{tier}/predict", predict, methods=["POST"]),
        ],
        exception_handlers=handlers,
        lifespan=lifespan,
    )
