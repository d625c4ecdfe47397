"""`RemoteEnclave`: the Python client of the HTTP service (`enclave-vm serve`), with the methods and
return types of `Enclave` — `run()`, `stream()`, `validate()`, `resume()` and their `_sync` twins.

A refused request raises `RemoteEnclaveError` naming the HTTP status and the service's message (a 422 is
also a `ValueError`, as a bad argument is for `Enclave`); an unknown, used or expired resume token raises
a `LookupError`, as `Enclave.resume()` does. Needs the server extra (httpx): `pip install 'enclave-vm[server]'`.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

try:
    import httpx
except ImportError as exc:  # pragma: no cover - depends on the environment
    raise ImportError("RemoteEnclave needs the server extra (httpx): pip install 'enclave-vm[server]'") from exc

from .results import ExecutionResult, ValidationResult
from .streaming import EventSink, ResultEvent, RunStream, event_from_dict

__all__ = ["RemoteEnclave", "RemoteEnclaveError", "RemoteInvalidRequest", "RemoteUnknownToken"]

_NO_STATE: Any = object()
_RESUME = "/v1/runs/resume"
#: Runs last as long as the service's timeout allows: no read timeout, a bounded connect.
_DEFAULT_TIMEOUT = httpx.Timeout(connect=10.0, read=None, write=60.0, pool=None)
#: Every connection kept for reuse (httpx keeps 20 by default): more runs at once than that would
#: otherwise open a new connection for most runs.
_DEFAULT_LIMITS = httpx.Limits(max_connections=100, max_keepalive_connections=100)


class RemoteEnclaveError(Exception):
    """The service refused a request (`status`: 401, 413, 422, 429, 503, ...) or could not be reached or
    broke off a run's stream (`status` None). `error` is the service's kind of error, `field` the field
    of the body at fault (a 422)."""

    def __init__(
        self, message: str, *, status: int | None = None, error: str | None = None, field: str | None = None
    ) -> None:
        super().__init__(message)
        self.status = status
        self.error = error
        self.field = field


class RemoteInvalidRequest(RemoteEnclaveError, ValueError):
    """422: the service refused an argument (`field` names it)."""


class RemoteUnknownToken(RemoteEnclaveError, LookupError):
    """404 on resume: no paused run has this token (unknown, used or expired)."""


class RemoteEnclave:
    """An `Enclave` served over HTTP at `url` (e.g. `http://127.0.0.1:8000`); `token` is the bearer token
    the service was started with. Also a context manager (sync and async) that closes its connections."""

    def __init__(self, url: str, token: str | None = None, *, timeout: httpx.Timeout | float | None = None) -> None:
        if not isinstance(url, str) or not url.startswith(("http://", "https://")):
            raise ValueError(f"url must be an http:// or https:// URL; got {url!r}")
        if token is not None and (not isinstance(token, str) or not token):
            raise ValueError("token must be a non-empty str or None")
        self.url = url.rstrip("/")
        headers = {"authorization": f"Bearer {token}"} if token is not None else {}
        self._options: dict[str, Any] = {
            "base_url": self.url,
            "headers": headers,
            "timeout": _DEFAULT_TIMEOUT if timeout is None else timeout,
            "limits": _DEFAULT_LIMITS,
        }
        self._client: httpx.Client | None = None
        self._async_client: httpx.AsyncClient | None = None
        self._async_loop: asyncio.AbstractEventLoop | None = None

    def __repr__(self) -> str:
        return f"RemoteEnclave({self.url!r})"

    # ---- running ----
    async def run(
        self,
        code: str,
        *,
        timeout: int | None = None,
        context: dict[str, Any] | None = None,
        max_tool_calls: int | None = None,
        state: Any = _NO_STATE,
        language: str | None = None,
    ) -> ExecutionResult:
        """Run `code` on the service; the same result `Enclave.run()` gives (warnings and scoring aside)."""
        body = _run_body(code, timeout, context, max_tool_calls, state, language)
        return await self._streamed("/v1/runs", body, None)

    def stream(
        self,
        code: str,
        *,
        timeout: int | None = None,
        context: dict[str, Any] | None = None,
        max_tool_calls: int | None = None,
        state: Any = _NO_STATE,
        language: str | None = None,
    ) -> RunStream:
        """The run's events as the service sends them, the same event types as `Enclave.stream()`. Leaving
        the stream early closes the connection, which cancels the run on the service."""
        body = _run_body(code, timeout, context, max_tool_calls, state, language)
        return RunStream(lambda sink: self._streamed("/v1/runs", body, sink))

    async def resume(
        self, token: str, value: Any = None, *, error: str | None = None, context: dict[str, Any] | None = None
    ) -> ExecutionResult:
        """Go on with a paused run (see `Enclave.resume()`); LookupError for an unknown, used or expired token."""
        return await self._streamed(_RESUME, _resume_body(token, value, error, context), None)

    async def validate(self, code: str, *, language: str | None = None) -> ValidationResult:
        body: dict[str, Any] = {"code": code} if language is None else {"code": code, "language": language}
        try:
            response = await self._async().post("/v1/validate", json=body)
        except httpx.TransportError as exc:
            raise _unreachable(self.url, exc) from exc
        _check(response.status_code, response.content)
        return ValidationResult.from_dict(response.json())

    # ---- the same without an event loop ----
    def run_sync(
        self,
        code: str,
        *,
        timeout: int | None = None,
        context: dict[str, Any] | None = None,
        max_tool_calls: int | None = None,
        state: Any = _NO_STATE,
        language: str | None = None,
    ) -> ExecutionResult:
        return self._streamed_sync("/v1/runs", _run_body(code, timeout, context, max_tool_calls, state, language))

    def resume_sync(
        self, token: str, value: Any = None, *, error: str | None = None, context: dict[str, Any] | None = None
    ) -> ExecutionResult:
        return self._streamed_sync(_RESUME, _resume_body(token, value, error, context))

    def validate_sync(self, code: str, *, language: str | None = None) -> ValidationResult:
        body: dict[str, Any] = {"code": code} if language is None else {"code": code, "language": language}
        try:
            response = self._sync().post("/v1/validate", json=body)
        except httpx.TransportError as exc:
            raise _unreachable(self.url, exc) from exc
        _check(response.status_code, response.content)
        return ValidationResult.from_dict(response.json())

    # ---- lifetime ----
    def close(self) -> None:
        """Close the connections of the sync methods (the async ones: `aclose()`)."""
        client, self._client = self._client, None
        if client is not None:
            client.close()

    async def aclose(self) -> None:
        client, self._async_client = self._async_client, None
        self.close()
        if client is not None:
            await client.aclose()

    def __enter__(self) -> RemoteEnclave:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    async def __aenter__(self) -> RemoteEnclave:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    # ---- helpers ----
    def _sync(self) -> httpx.Client:
        if self._client is None:
            self._client = httpx.Client(**self._options)
        return self._client

    def _async(self) -> httpx.AsyncClient:
        """The async client of the running loop (a client's connections belong to the loop that opened them)."""
        loop = asyncio.get_running_loop()
        if self._async_client is None or self._async_loop is not loop:
            self._async_client = httpx.AsyncClient(**self._options)
            self._async_loop = loop
        return self._async_client

    async def _streamed(self, path: str, body: dict[str, Any], sink: EventSink | None) -> ExecutionResult:
        """POST a run and read its NDJSON: events to `sink`, the result returned."""
        try:
            async with self._async().stream("POST", path, json=body) as response:
                if response.status_code != 200:
                    _check(response.status_code, await response.aread(), resuming=path == _RESUME)
                result = None
                # Read to the end even after the result (the last line): a connection whose response was
                # read whole goes back to the pool for the next run.
                async for line in response.aiter_lines():
                    taken = _take_line(line, sink)
                    result = result if taken is None else taken  # not `or`: a failed result is falsy
        except httpx.TransportError as exc:
            raise _unreachable(self.url, exc) from exc
        if result is None:
            raise _cut_off()
        return result

    def _streamed_sync(self, path: str, body: dict[str, Any]) -> ExecutionResult:
        try:
            with self._sync().stream("POST", path, json=body) as response:
                if response.status_code != 200:
                    _check(response.status_code, response.read(), resuming=path == _RESUME)
                result = None
                for line in response.iter_lines():
                    taken = _take_line(line, None)
                    result = result if taken is None else taken
        except httpx.TransportError as exc:
            raise _unreachable(self.url, exc) from exc
        if result is None:
            raise _cut_off()
        return result


def _run_body(
    code: str,
    timeout: int | None,
    context: dict[str, Any] | None,
    max_tool_calls: int | None,
    state: Any,
    language: str | None,
) -> dict[str, Any]:
    body: dict[str, Any] = {"code": code}
    for name, value in (("timeout", timeout), ("context", context), ("max_tool_calls", max_tool_calls)):
        if value is not None:
            body[name] = value
    if language is not None:
        body["language"] = language
    if state is not _NO_STATE:
        body["state"] = state
    return body


def _resume_body(token: str, value: Any, error: str | None, context: dict[str, Any] | None) -> dict[str, Any]:
    body: dict[str, Any] = {"token": token, "value": value}
    if error is not None:
        body["error"] = error
    if context is not None:
        body["context"] = context
    return body


def _take_line(line: str, sink: EventSink | None) -> ExecutionResult | None:
    """One NDJSON line: an event for `sink`, or the run's result (returned)."""
    if not line.strip():
        return None
    try:
        event = event_from_dict(json.loads(line))
    except ValueError as exc:  # json.JSONDecodeError is one too
        raise RemoteEnclaveError(f"The service sent a line that is not a run event: {exc}") from None
    if isinstance(event, ResultEvent):
        return event.result
    if sink is not None:
        sink(event)
    return None


def _check(status: int, content: bytes, *, resuming: bool = False) -> None:
    """Raise for a refused request, with the service's own message (a 404 of a resume: LookupError)."""
    if status == 200:
        return
    error = field = None
    message = content.decode("utf-8", "replace").strip() or "no message"
    try:
        body = json.loads(content)
    except ValueError:
        body = None
    if isinstance(body, dict):
        message = str(body.get("message", message))
        error = body.get("error") if isinstance(body.get("error"), str) else None
        field = body.get("field") if isinstance(body.get("field"), str) else None
    text = f"HTTP {status}: {message}"
    kind: type[RemoteEnclaveError] = RemoteEnclaveError
    if status == 422:
        kind = RemoteInvalidRequest
    elif status == 404 and resuming:
        kind = RemoteUnknownToken
    raise kind(text, status=status, error=error, field=field)


def _unreachable(url: str, exc: httpx.TransportError) -> RemoteEnclaveError:
    return RemoteEnclaveError(f"Cannot talk to the service at {url}: {type(exc).__name__}: {exc}")


def _cut_off() -> RemoteEnclaveError:
    return RemoteEnclaveError("The service ended the run's stream before its result")
