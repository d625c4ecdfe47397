"""The routes of the service and `create_app()`, which wires them to one `Enclave`.

POST /v1/runs          {"code", "language"?, "timeout"?, "context"?, "state"?, "max_tool_calls"?} -> NDJSON
POST /v1/runs/resume   {"token", "value"?, "error"?, "context"?}                                -> NDJSON
POST /v1/validate      {"code", "language"?}                                                    -> ValidationResult
GET  /healthz          {"status": "ok"}
GET  /metrics          Prometheus text
"""

from __future__ import annotations

import logging
from typing import Any

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from ..enclave import Enclave
from ..streaming import ResultEvent, RunEvent, RunStream
from .access_log import AccessLogMiddleware, set_outcome
from .auth import BearerTokenMiddleware
from .errors import HttpError, error_response
from .limits import RunGate, RunSlot
from .metrics import CANCELLED, CONTENT_TYPE, ServiceMetrics
from .ndjson import RunEventsResponse
from .requests import ResumeRequest, RunRequest, ValidateRequest, parse, read_body

logger = logging.getLogger("enclave_vm.server")

#: Fields of a run's body an `Enclave` may refuse by name (a message starting with the field's name).
_RUN_FIELDS = ("code", "language", "timeout", "context", "state", "max_tool_calls", "token", "value", "error")


class ServiceApp(Starlette):
    """The ASGI app of one `Enclave`; `gate` counts its runs in flight (a server drains it on shutdown)."""

    enclave: Enclave
    gate: RunGate
    metrics: ServiceMetrics


def create_app(
    enclave: Enclave, *, token: str | None = None, max_concurrency: int = 8, max_body_bytes: int = 1048576
) -> ServiceApp:
    """The service's ASGI app for `enclave`. With `token`, every `/v1` request needs `Authorization:
    Bearer <token>`. At most `max_concurrency` runs at once (429 past that); bodies over `max_body_bytes`
    are refused (413). The caller keeps owning `enclave` (disposing it is theirs, after serving)."""
    if not isinstance(enclave, Enclave):
        raise TypeError(f"enclave must be an Enclave; got {type(enclave).__name__}")
    if token is not None and (not isinstance(token, str) or not token or token != token.strip()):
        raise ValueError("token must be a non-empty str without surrounding whitespace, or None")
    if isinstance(max_body_bytes, bool) or not isinstance(max_body_bytes, int) or max_body_bytes < 1:
        raise ValueError(f"max_body_bytes must be an int >= 1; got {max_body_bytes!r}")
    gate = RunGate(max_concurrency)
    metrics = ServiceMetrics(in_flight=lambda: gate.in_flight)
    routes = _Routes(enclave, gate, metrics, max_body_bytes)
    middleware = [
        Middleware(AccessLogMiddleware, on_done=metrics.observe_request),
        Middleware(_InternalErrorMiddleware),
    ]
    if token is not None:
        middleware.append(Middleware(BearerTokenMiddleware, token=token))
    app = ServiceApp(
        routes=[
            Route("/v1/runs", routes.run, methods=["POST"]),
            Route("/v1/runs/resume", routes.resume, methods=["POST"]),
            Route("/v1/validate", routes.validate, methods=["POST"]),
            Route("/healthz", routes.healthz, methods=["GET"]),
            Route("/metrics", routes.metrics, methods=["GET"]),
        ],
        middleware=middleware,
        exception_handlers={HttpError: _http_error, HTTPException: _starlette_error},
    )
    app.enclave, app.gate, app.metrics = enclave, gate, metrics
    return app


class _Routes:
    def __init__(self, enclave: Enclave, gate: RunGate, metrics: ServiceMetrics, max_body_bytes: int) -> None:
        self.enclave = enclave
        self.gate = gate
        self._metrics = metrics
        self.max_body_bytes = max_body_bytes

    async def run(self, request: Request) -> Response:
        self.gate.check_open()
        body = parse(RunRequest, await read_body(request, self.max_body_bytes))
        options: dict[str, Any] = {"context": body.context, "language": body.language}
        # The operator's limits are the ceiling: a request may ask for less, never for more.
        if body.timeout is not None:
            options["timeout"] = min(body.timeout, self.enclave.timeout)
        if body.max_tool_calls is not None:
            options["max_tool_calls"] = min(body.max_tool_calls, self.enclave.max_tool_calls)
        if "state" in body.model_fields_set:
            options["state"] = body.state
        slot = self.gate.enter()
        try:
            events = self.enclave.stream(body.code, **options)
        except Exception as exc:
            slot.release()
            raise _refused(exc) from None
        return self._streamed(request, events, slot)

    async def resume(self, request: Request) -> Response:
        self.gate.check_open()
        body = parse(ResumeRequest, await read_body(request, self.max_body_bytes))
        if self.enclave.durable is None:
            raise HttpError(404, "not_found", "Durable runs are disabled on this service: there is nothing to resume")
        slot = self.gate.enter()
        try:
            events = await self.enclave.resume_stream(body.token, body.value, error=body.error, context=body.context)
        except LookupError:
            slot.release()
            raise HttpError(404, "unknown_token", "No paused run has this token (unknown, used or expired)") from None
        except BaseException as exc:
            slot.release()
            raise _refused(exc) from None
        return self._streamed(request, events, slot)

    async def validate(self, request: Request) -> Response:
        body = parse(ValidateRequest, await read_body(request, self.max_body_bytes))
        try:
            checked = await self.enclave.validate(body.code, language=body.language)
        except Exception as exc:
            raise _refused(exc) from None
        return JSONResponse(checked.to_dict())

    async def healthz(self, request: Request) -> Response:
        if self.gate.draining:  # a load balancer stops sending runs here
            return JSONResponse({"status": "draining"}, status_code=503)
        return JSONResponse({"status": "ok"})

    async def metrics(self, request: Request) -> Response:
        return Response(self._metrics.render(), media_type=CONTENT_TYPE)

    def _streamed(self, request: Request, events: RunStream, slot: RunSlot) -> RunEventsResponse:
        metrics = self._metrics
        seen_result = False

        def on_event(event: RunEvent) -> None:
            nonlocal seen_result
            metrics.observe_event(event)
            if isinstance(event, ResultEvent):
                # The run is over: its place is free before the client reads the result, so that a
                # client running one run after another is never refused by its own last run.
                slot.release()
                seen_result = True
                set_outcome(request.scope, metrics.observe_result(event.result))

        def on_close() -> None:
            slot.release()
            if not seen_result:
                metrics.observe_cancelled()
                set_outcome(request.scope, CANCELLED)

        return RunEventsResponse(events, on_event=on_event, on_close=on_close)


def _refused(exc: BaseException) -> BaseException:
    """What the `Enclave` said about a request's arguments, as the HTTP error to answer with."""
    if isinstance(exc, (ValueError, TypeError)):
        message = str(exc)
        field = next((name for name in _RUN_FIELDS if message.startswith(name)), None)
        return HttpError(422, "invalid_request", message, field=field)
    if isinstance(exc, RuntimeError) and "disposed" in str(exc):
        return HttpError(503, "shutting_down", "The service is shutting down")
    return exc


async def _http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HttpError)
    return exc.response()


async def _starlette_error(request: Request, exc: Exception) -> Response:
    """404 and 405 of the router, in the service's JSON shape."""
    assert isinstance(exc, HTTPException)
    kinds = {404: "not_found", 405: "method_not_allowed"}
    return error_response(
        exc.status_code, kinds.get(exc.status_code, "http_error"), str(exc.detail), headers=exc.headers
    )


class _InternalErrorMiddleware:
    """No request can stop the service: an exception of a handler is logged and answered with a 500 (or,
    mid-stream, ends that response), and the service goes on serving."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False

        async def tracked_send(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, receive, tracked_send)
        except Exception:
            logger.exception("Internal error while serving %s %s", scope["method"], scope["path"])
            if not started:
                failed = error_response(500, "internal_error", "The service failed to handle the request")
                await failed(scope, receive, send)
