"""`Enclave.stream()`: a run's events as they happen — console lines at the end of the engine step that
printed them, tool calls as the host starts and finishes them, and the result, last and exactly once.

The events are frozen dataclasses with a `type` field and `to_dict()` (JSON-ready, snake_case). The stream
is an async iterator and an async context manager: leaving it early (`aclose()`, the end of `async with`,
or a `break` once the iterator is finalised) cancels the run at once — no further tool call starts and
running async tools are cancelled.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
from collections.abc import AsyncGenerator, AsyncIterator, Callable, Coroutine
from dataclasses import dataclass
from typing import Any, Literal

from .durable.suspend import Suspension
from .results import ErrorCode, ExecutionError, ExecutionResult, ExecutionStats


@dataclass(frozen=True)
class ConsoleEvent:
    level: str
    """The console method: log, info, warn, error or debug."""
    text: str
    type: Literal["console"] = "console"

    def to_dict(self) -> dict[str, Any]:
        return {"type": self.type, "level": self.level, "text": self.text}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ConsoleEvent:
        return cls(level=str(data["level"]), text=str(data["text"]))


@dataclass(frozen=True)
class ToolCallEvent:
    id: int
    name: str
    args: dict[str, Any]
    type: Literal["tool_call"] = "tool_call"

    def to_dict(self) -> dict[str, Any]:
        return {"type": self.type, "id": self.id, "name": self.name, "args": self.args}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ToolCallEvent:
        return cls(id=int(data["id"]), name=str(data["name"]), args=dict(data["args"]))


@dataclass(frozen=True)
class ToolResultEvent:
    """A tool call finished; never carries the value."""

    id: int
    name: str
    ok: bool
    duration_ms: float
    type: Literal["tool_result"] = "tool_result"

    def to_dict(self) -> dict[str, Any]:
        return {"type": self.type, "id": self.id, "name": self.name, "ok": self.ok, "duration_ms": self.duration_ms}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ToolResultEvent:
        return cls(
            id=int(data["id"]), name=str(data["name"]), ok=bool(data["ok"]), duration_ms=float(data["duration_ms"])
        )


@dataclass(frozen=True)
class ResultEvent:
    result: ExecutionResult
    type: Literal["result"] = "result"

    def to_dict(self) -> dict[str, Any]:
        return {"type": self.type, "result": result_to_dict(self.result)}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ResultEvent:
        return cls(result=result_from_dict(data["result"]))


RunEvent = ConsoleEvent | ToolCallEvent | ToolResultEvent | ResultEvent
EventSink = Callable[[RunEvent], None]
"""Takes events from any thread (engine threads, pool drivers) and hands them to the stream's loop."""


def result_to_dict(result: ExecutionResult) -> dict[str, Any]:
    error = result.error
    suspended = result.suspended
    return {
        "success": result.success,
        "value": result.value,
        "error": None
        if error is None
        else {
            "code": str(error.code),
            "name": error.name,
            "message": error.message,
            "stack": error.stack,
            "data": error.data,
        },
        "stdout": result.stdout,
        "stats": dataclasses.asdict(result.stats),
        "state": result.state,
        "suspended": None if suspended is None else suspended.to_dict(),
    }


def result_from_dict(data: dict[str, Any]) -> ExecutionResult:
    """The result `result_to_dict()` described (e.g. read back from JSON)."""
    error = data.get("error")
    suspended = data.get("suspended")
    return ExecutionResult(
        success=bool(data["success"]),
        value=data.get("value"),
        error=None
        if error is None
        else ExecutionError(
            code=ErrorCode(error["code"]),
            name=str(error["name"]),
            message=str(error["message"]),
            stack=error.get("stack"),
            data=error.get("data"),
        ),
        stdout=str(data.get("stdout", "")),
        stats=ExecutionStats(**data["stats"]),
        state=data.get("state"),
        suspended=None
        if suspended is None
        else Suspension(
            token=str(suspended["token"]),
            tool=str(suspended["tool"]),
            args=dict(suspended["args"]),
            reason=str(suspended["reason"]),
            data=suspended.get("data"),
        ),
    )


_EVENT_TYPES: dict[str, type[ConsoleEvent | ToolCallEvent | ToolResultEvent | ResultEvent]] = {
    "console": ConsoleEvent,
    "tool_call": ToolCallEvent,
    "tool_result": ToolResultEvent,
    "result": ResultEvent,
}


def event_from_dict(data: dict[str, Any]) -> RunEvent:
    """The event `to_dict()` described, by its `type`; ValueError for anything that is not one."""
    name = data.get("type") if isinstance(data, dict) else None
    kind = _EVENT_TYPES.get(name) if isinstance(name, str) else None
    if kind is None:
        raise ValueError(f"not a run event: {name if isinstance(data, dict) else type(data).__name__!r}")
    try:
        return kind.from_dict(data)
    except (KeyError, TypeError, ValueError) as exc:
        raise ValueError(f"a malformed {data['type']!r} event: {type(exc).__name__}: {exc}") from None


async def _run_events(
    start: Callable[[EventSink], Coroutine[Any, Any, ExecutionResult]],
) -> AsyncGenerator[RunEvent, None]:
    """The run's events, then its result. A plain function (not a method) so that nothing but the
    iterating code holds the generator: a `break` finalises it at once, and that cancels the run."""
    loop = asyncio.get_running_loop()
    queue: asyncio.Queue[RunEvent | None] = asyncio.Queue()

    def sink(event: RunEvent) -> None:
        with contextlib.suppress(RuntimeError):  # the loop closed: nobody is listening any more
            loop.call_soon_threadsafe(queue.put_nowait, event)

    task = loop.create_task(start(sink))
    # Events handed over from other threads before the run ended were scheduled before its end, so the
    # sentinel comes after all of them.
    task.add_done_callback(lambda _: queue.put_nowait(None))
    try:
        while (event := await queue.get()) is not None:
            yield event
        yield ResultEvent(task.result())
    finally:
        if not task.done():
            task.cancel()
            await asyncio.wait([task])


class RunStream:
    """The events of one run: `async for event in stream`, or `async with enclave.stream(...) as events`."""

    def __init__(self, start: Callable[[EventSink], Coroutine[Any, Any, ExecutionResult]]) -> None:
        self._generator = _run_events(start)

    def __aiter__(self) -> AsyncIterator[RunEvent]:
        return self._generator

    async def __anext__(self) -> RunEvent:
        return await self._generator.__anext__()

    async def aclose(self) -> None:
        """Stop listening: a run still going is cancelled at once."""
        await self._generator.aclose()

    async def __aenter__(self) -> RunStream:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()
