"""Tool dispatch: runs the host's tool handler for calls the script queued.

Sync handlers run inline on the thread driving the run (the run's engine thread in-process), so the
caller's event loop is never blocked by them; async handlers run on the caller's event loop. Only JSON
text crosses back: a handler's return value is encoded with caps, an exception becomes its message.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import inspect
import threading
import traceback
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from ..durable.suspend import Suspend
from ..outcome import ErrorCode, RunEnded
from ..outcome import now as run_clock
from ..sidecar.references import SidecarError
from ..streaming import ToolCallEvent, ToolResultEvent
from .codec import CodecError, ValueLimits, decode, encode, non_json_part
from .protocol import ToolCall, ToolResult

if TYPE_CHECKING:
    from ..durable.journal import CallLog
    from ..sidecar.session import SidecarRun
    from ..streaming import EventSink, RunEvent

ToolHandler = Callable[[str, dict[str, Any], dict[str, Any] | None], Awaitable[Any] | Any]


class RunPaused(Exception):
    """A tool raised `Suspend`: the run pauses (drive() ends it with a `PausedCall`)."""

    def __init__(self, call: ToolCall, suspend: Suspend) -> None:
        super().__init__(suspend.reason)
        self.call = call
        self.suspend = suspend


@dataclass
class ToolFailure:
    """Host-side detail of a failed tool call, reported only with verbose_errors."""

    tool: str
    exception_type: str
    traceback: str


async def _await(awaitable: Awaitable[Any]) -> Any:
    return await awaitable


@dataclass
class ToolDispatcher:
    handler: ToolHandler | None
    context: dict[str, Any] | None
    loop: asyncio.AbstractEventLoop | None
    limits: ValueLimits
    failures: list[ToolFailure] = field(default_factory=list)
    sidecar: SidecarRun | None = None
    """The reference sidecar of this run: large results stay host-side, references in arguments resolve."""

    _ended: RunEnded | None = field(default=None, init=False)
    _in_flight: set[concurrent.futures.Future[Any]] = field(default_factory=set, init=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, init=False)
    call_log: CallLog | None = None
    """A durable run's log of tool calls: replays its journal, records every call."""
    events: EventSink | None = None
    """Where `Enclave.stream()` takes the run's tool events (called from the driving thread)."""
    in_sync_tool: bool = field(default=False, init=False)
    """True while a sync handler runs on the driving thread (which then cannot notice the deadline)."""

    @property
    def cancelled(self) -> bool:
        """Whether the run was ended from outside its driving thread: no further tool runs."""
        return self._ended is not None

    def end(self, reason: RunEnded) -> None:
        """The run is over (deadline, a limit, the caller gave up, its worker died): no further tool call
        starts, and running async tools are cancelled at once (they see CancelledError). A sync tool
        running in a thread cannot be stopped; its result is dropped. The first reason given wins."""
        with self._lock:
            if self._ended is None:
                self._ended = reason
            running, self._in_flight = self._in_flight, set()
        for future in running:
            future.cancel()

    def cancel(self) -> None:
        """The caller stopped waiting for the run (its task was cancelled)."""
        self.end(RunEnded(ErrorCode.RUNTIME_ERROR, "The run was cancelled by the host"))

    def _check_open(self) -> None:
        ended = self._ended
        if ended is not None:
            raise RunEnded(ended.code, ended.message, ended.name)

    def _emit(self, event: RunEvent) -> None:
        if self.events is not None:
            self.events(event)

    def run_batch(self, calls: list[ToolCall], deadline: float) -> list[ToolResult]:
        """Run every call (async ones concurrently) and return their results in call order. A durable run
        answers calls from its journal first and records every call; a call that raised `Suspend` pauses
        the run once the others of the batch are done (`RunPaused`)."""
        results: dict[int, ToolResult] = {}
        paused: dict[int, Suspend] = {}
        waiting: dict[concurrent.futures.Future[Any], ToolCall] = {}
        log = self.call_log
        try:
            for position, call in enumerate(calls):
                self._check_open()
                if run_clock() >= deadline:  # a slow sync tool must not let later calls run late
                    raise RunEnded(ErrorCode.TIMEOUT, "Execution timed out while running tool calls")
                recorded = log.answer(call, position) if log is not None else None
                if recorded is not None:
                    results[call.id] = recorded
                    continue
                started = run_clock()
                outcome = self._invoke(call)
                if isinstance(outcome, concurrent.futures.Future):
                    waiting[outcome] = call
                    with self._lock:
                        if self._ended is None:
                            self._in_flight.add(outcome)
                        else:
                            outcome.cancel()
                    continue
                if isinstance(outcome, Suspend):
                    paused[call.id] = outcome
                else:
                    results[call.id] = outcome
                ok = isinstance(outcome, Suspend) or outcome.ok
                self._emit(ToolResultEvent(call.id, call.name, ok, (run_clock() - started) * 1000))
            if waiting:
                remaining = deadline - run_clock()
                done, not_done = concurrent.futures.wait(waiting, timeout=max(remaining, 0))
                self._check_open()
                if not_done:
                    raise RunEnded(ErrorCode.TIMEOUT, "Execution timed out while waiting for a tool call")
                for future in done:
                    call = waiting[future]
                    try:
                        value = future.result()
                    except Suspend as exc:
                        paused[call.id] = exc
                    except BaseException as exc:  # the handler's failure is the script's tool error
                        results[call.id] = self._failed(call, exc)
                    else:
                        results[call.id] = self._encode(call, value)
            self._check_open()
        finally:
            with self._lock:
                self._in_flight.difference_update(waiting)
            for future in waiting:
                future.cancel()  # no-op for finished calls; stops the ones a raised end left running
        if log is None:
            for call_id in paused:
                results[call_id] = ToolResult(
                    call_id, False, "Durable runs are disabled for this Enclave: a tool cannot pause"
                )
        else:
            for call in calls:
                log.record(call, paused.get(call.id) or results[call.id])
            if log.paused is not None:
                raise RunPaused(*log.paused)
        return [results[call.id] for call in calls]

    def _invoke(self, call: ToolCall) -> ToolResult | Suspend | concurrent.futures.Future[Any]:
        try:
            args = decode(call.args_json, self.limits, f"arguments of tool '{call.name}'")
        except CodecError as exc:
            if exc.too_large:
                raise RunEnded("MEMORY_LIMIT_EXCEEDED", str(exc)) from None
            return ToolResult(call.id, False, str(exc))
        if not isinstance(args, dict):
            return ToolResult(call.id, False, f"arguments of tool '{call.name}' must be an object")
        if self.handler is None:
            return ToolResult(call.id, False, f"No tool handler is configured, so tool '{call.name}' cannot run")
        if self.events is not None:  # before the sidecar resolves references: the event shows what the script sent
            self._emit(ToolCallEvent(call.id, call.name, decode(call.args_json, self.limits, "arguments")))
        if self.sidecar is not None:
            try:
                args = self.sidecar.resolve(args, call.args_json, f"arguments of tool '{call.name}'")
            except SidecarError as exc:
                return ToolResult(call.id, False, exc.message)
        self.in_sync_tool = True
        try:
            value = self.handler(call.name, args, self.context)
        except Suspend as exc:
            return exc
        except Exception as exc:
            return self._failed(call, exc)
        finally:
            self.in_sync_tool = False
        if inspect.isawaitable(value):
            if self.loop is None or self.loop.is_closed():
                if inspect.iscoroutine(value):
                    value.close()
                return ToolResult(call.id, False, f"Tool '{call.name}' is async but no event loop is running")
            future = asyncio.run_coroutine_threadsafe(_await(value), self.loop)
            if self.events is not None:
                started = run_clock()
                future.add_done_callback(lambda done: self._async_done(call, done, started))
            return future
        return self._encode(call, value)

    def _async_done(self, call: ToolCall, future: concurrent.futures.Future[Any], started: float) -> None:
        failure = None if future.cancelled() else future.exception()
        ok = not future.cancelled() and (failure is None or isinstance(failure, Suspend))
        self._emit(ToolResultEvent(call.id, call.name, ok, (run_clock() - started) * 1000))

    def _encode(self, call: ToolCall, value: Any) -> ToolResult:
        if self.sidecar is not None:  # before the value cap: a result over the threshold never enters the engine
            try:
                reference = self.sidecar.offload(value, f"result of tool '{call.name}'")
            except SidecarError as exc:
                return ToolResult(call.id, False, exc.message)
            if reference is not None:
                return ToolResult(call.id, True, reference)
        try:
            return ToolResult(call.id, True, encode(value, self.limits, f"result of tool '{call.name}'"))
        except CodecError as exc:
            if exc.too_large:
                raise RunEnded("MEMORY_LIMIT_EXCEEDED", str(exc)) from None
            return ToolResult(
                call.id, False, f"Tool '{call.name}' returned {non_json_part(value)}, which is not JSON data"
            )

    def _failed(self, call: ToolCall, exc: BaseException) -> ToolResult:
        self.failures.append(
            ToolFailure(
                tool=call.name,
                exception_type=type(exc).__name__,
                traceback="".join(traceback.format_exception(exc)),
            )
        )
        if isinstance(exc, asyncio.CancelledError):
            message = f"Tool '{call.name}' was cancelled"
        else:
            message = str(exc) or type(exc).__name__
        return ToolResult(call.id, False, message)
