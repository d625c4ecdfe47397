"""Tool dispatch: runs the host's tool handler for calls the script queued.

The calls of one batch (a `Promise.all`) run concurrently, at most `max_concurrent` at once. Handlers are
called on the Enclave's own bounded thread pool, so neither the caller's event loop nor the thread driving
the run is blocked by a sync tool, and a hung one holds one pool thread; an awaitable a handler returns is
awaited on the caller's event loop. Only JSON text crosses back: a handler's return value is encoded with
caps, an exception becomes its message.
"""

from __future__ import annotations

import asyncio
import collections
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


class _NoLoop(Exception):
    """An async tool without a running event loop to await it on."""


@dataclass(frozen=True)
class _Awaited:
    """What a pool thread hands back for an async tool: the loop's future of its result."""

    future: concurrent.futures.Future[Any]


def _cancel_awaited(future: concurrent.futures.Future[Any]) -> None:
    """A pool future that already handed an async tool to the loop: cancel that tool too."""
    if future.done() and not future.cancelled() and future.exception() is None:
        value = future.result()
        if isinstance(value, _Awaited):
            value.future.cancel()


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
    """True while a handler runs inline on the driving thread (no `executor`): it cannot notice the deadline."""
    executor: concurrent.futures.Executor | None = None
    """Where handlers run: the Enclave's own bounded thread pool. None: inline on the driving thread."""
    max_concurrent: int = 8
    """Tool calls of one batch running at once (`max_concurrent_tool_calls`)."""

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
        """Run every call, at most `max_concurrent` at once, and return their results in call order. Sync
        handlers run in `executor` (the Enclave's bounded pool), async ones on the caller's loop. A durable
        run answers calls from its journal first and records every call; a call that raised `Suspend`
        pauses the run once the others of the batch are done (`RunPaused`)."""
        results: dict[int, ToolResult] = {}
        paused: dict[int, Suspend] = {}
        queue = collections.deque(enumerate(calls))
        running: dict[concurrent.futures.Future[Any], tuple[ToolCall, float]] = {}
        log = self.call_log
        try:
            while queue or running:
                while queue and len(running) < self.max_concurrent:
                    position, call = queue.popleft()
                    self._check_open()
                    if run_clock() >= deadline:  # a slow sync tool must not let later calls run late
                        raise RunEnded(ErrorCode.TIMEOUT, "Execution timed out while running tool calls")
                    recorded = log.answer(call, position) if log is not None else None
                    if recorded is not None:
                        results[call.id] = recorded
                        continue
                    started = run_clock()
                    outcome = self._start(call)
                    if isinstance(outcome, ToolResult):
                        results[call.id] = outcome
                        self._emit(ToolResultEvent(call.id, call.name, outcome.ok, (run_clock() - started) * 1000))
                    else:
                        running[outcome] = (call, started)
                        self._track(outcome)
                if not running:
                    continue
                # The driving thread waits with the deadline, so it ends the run on time even if a tool hangs.
                done, _ = concurrent.futures.wait(
                    running, timeout=max(deadline - run_clock(), 0), return_when=concurrent.futures.FIRST_COMPLETED
                )
                self._check_open()
                if not done:
                    raise RunEnded(ErrorCode.TIMEOUT, "Execution timed out while waiting for a tool call")
                for future in done:
                    call, started = running.pop(future)
                    self._untrack(future)
                    finished = self._finish(call, future, paused)
                    if isinstance(finished, concurrent.futures.Future):  # an async tool: now awaited on the loop
                        running[finished] = (call, started)
                        continue
                    if finished is not None:
                        results[call.id] = finished
                    ok = finished is None or finished.ok
                    self._emit(ToolResultEvent(call.id, call.name, ok, (run_clock() - started) * 1000))
            self._check_open()
        finally:
            for future in running:
                self._untrack(future)
                future.cancel()  # queued sync calls never start; running async ones are cancelled
                _cancel_awaited(future)
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

    def _track(self, future: concurrent.futures.Future[Any]) -> None:
        with self._lock:
            if self._ended is None:
                self._in_flight.add(future)
                return
        future.cancel()

    def _untrack(self, future: concurrent.futures.Future[Any]) -> None:
        with self._lock:
            self._in_flight.discard(future)

    def _start(self, call: ToolCall) -> ToolResult | concurrent.futures.Future[Any]:
        """Check the call's arguments here, then hand the handler to the pool (or run it inline)."""
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
        if self.sidecar is not None:
            try:
                args = self.sidecar.resolve(args, call.args_json, f"arguments of tool '{call.name}'")
            except SidecarError as exc:
                return ToolResult(call.id, False, exc.message)
        if self.executor is not None:
            return self.executor.submit(self._call_handler, call, args)
        inline: concurrent.futures.Future[Any] = concurrent.futures.Future()
        self.in_sync_tool = True
        try:
            inline.set_result(self._call_handler(call, args))
        except BaseException as exc:  # delivered like a pool thread's failure
            inline.set_exception(exc)
        finally:
            self.in_sync_tool = False
        return inline

    def _call_handler(self, call: ToolCall, args: dict[str, Any]) -> Any:
        """The handler itself (on a pool thread). An awaitable it returns goes to the caller's loop: the
        result is then that loop's future, which `run_batch` waits on next."""
        if self._ended is not None:
            raise asyncio.CancelledError  # the run ended while this call waited for a thread
        assert self.handler is not None
        if self.events is not None:  # the script's arguments as sent (before the sidecar resolved references)
            self._emit(ToolCallEvent(call.id, call.name, decode(call.args_json, self.limits, "arguments")))
        value = self.handler(call.name, args, self.context)
        if not inspect.isawaitable(value):
            return value
        if self.loop is None or self.loop.is_closed():
            if inspect.iscoroutine(value):
                value.close()
            raise _NoLoop(f"Tool '{call.name}' is async but no event loop is running")
        future = asyncio.run_coroutine_threadsafe(_await(value), self.loop)
        self._track(future)
        return _Awaited(future)

    def _finish(
        self, call: ToolCall, future: concurrent.futures.Future[Any], paused: dict[int, Suspend]
    ) -> ToolResult | concurrent.futures.Future[Any] | None:
        """A finished future's result; None for a call that paused the run."""
        try:
            value = future.result()
        except Suspend as exc:
            paused[call.id] = exc
            return None
        except _NoLoop as exc:
            return ToolResult(call.id, False, str(exc))
        except BaseException as exc:  # the handler's failure is the script's tool error
            return self._failed(call, exc)
        if isinstance(value, _Awaited):
            return value.future
        return self._encode(call, value)

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
