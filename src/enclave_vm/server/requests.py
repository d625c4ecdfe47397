"""Reading and checking request bodies: the size cap (counted while the body streams in, whatever
Content-Length says) and the JSON shape of each endpoint (pydantic, strict: a wrong type or an unknown
field is a 422 naming the field)."""

from __future__ import annotations

import asyncio
from typing import Any, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field, ValidationError
from starlette.requests import ClientDisconnect, Request

from .errors import HttpError

#: Past the cap, up to this many more bytes (for up to this many seconds) are read and dropped before
#: answering 413: a client still sending when the connection closes may never read the answer. Bigger
#: (or slower) bodies are cut off at once.
DRAIN_BYTES = 4 * 1024 * 1024
DRAIN_SECONDS = 5.0

Language = Literal["javascript", "typescript"]


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)


class RunRequest(_Body):
    code: str
    language: Language | None = None
    timeout: int | None = Field(default=None, ge=1)
    """Milliseconds; capped at the operator's."""
    context: dict[str, Any] | None = None
    state: Any = None
    """JSON data; the run has a `state` only when the field is present (`model_fields_set`)."""
    max_tool_calls: int | None = Field(default=None, ge=0)
    """Capped at the operator's."""


class ResumeRequest(_Body):
    token: str = Field(min_length=1)
    value: Any = None
    error: str | None = None
    context: dict[str, Any] | None = None


class ValidateRequest(_Body):
    code: str
    language: Language | None = None


Model = TypeVar("Model", bound=_Body)


async def read_body(request: Request, limit: int) -> bytes:
    """The whole body, at most `limit` bytes; HttpError 413 past that (also when Content-Length is absent
    or lies: the bytes are counted as they arrive)."""
    declared = _declared_length(request)
    if declared is not None and declared > limit + DRAIN_BYTES:
        raise _too_large(limit, close=True)
    chunks: list[bytes] = []
    size = 0
    try:
        async with asyncio.timeout(None) as drain:
            async for chunk in request.stream():
                size += len(chunk)
                if size <= limit:
                    chunks.append(chunk)
                    continue
                if size > limit + DRAIN_BYTES:
                    raise _too_large(limit, close=True)
                if drain.when() is None:  # over the cap: what is left is dropped, for a bounded time
                    drain.reschedule(asyncio.get_running_loop().time() + DRAIN_SECONDS)
    except TimeoutError:
        raise _too_large(limit, close=True) from None
    except ClientDisconnect:
        raise HttpError(400, "client_disconnected", "The client left before sending the whole body") from None
    if size > limit:
        raise _too_large(limit, close=False)
    return b"".join(chunks)


def parse(model: type[Model], body: bytes) -> Model:
    """`body` as `model`; HttpError 422 naming the first field at fault (`body` for the document itself)."""
    try:
        return model.model_validate_json(body)
    except ValidationError as exc:
        issues = exc.errors(include_url=False, include_input=False)
        first = issues[0]
        field = ".".join(str(part) for part in first["loc"]) or "body"
        message = "The body is not valid JSON" if first["type"] == "json_invalid" else first["msg"]
        if field == "body" and first["type"] == "model_type":
            message = "The body must be a JSON object"
        more = f" (and {len(issues) - 1} more issue(s))" if len(issues) > 1 else ""
        raise HttpError(422, "invalid_request", f"{field}: {message}{more}", field=field) from None


def _declared_length(request: Request) -> int | None:
    text = request.headers.get("content-length")
    return int(text) if text is not None and text.isdigit() else None


def _too_large(limit: int, *, close: bool) -> HttpError:
    # Connection: close when the rest of the body was left unread: the connection cannot carry another request.
    headers = {"connection": "close"} if close else None
    return HttpError(413, "body_too_large", f"The request body is over {limit} bytes", headers=headers)
