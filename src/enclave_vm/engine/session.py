"""One QuickJS-NG context running one script: the engine side of the run protocol, over our own binding
(`_engine.c`).

Every run gets a fresh runtime and context (`WarmContext`: the prelude loaded from bytecode compiled
once per process). A session is created, used and closed on one thread: the binding refuses any other.
Each protocol call is one native call that releases the GIL, runs the guest under the run's deadline
(enforced in C on the monotonic clock) and returns the prelude's JSON batch with a status code.
"""

from __future__ import annotations

import contextlib
import threading

from ..bridge.protocol import EngineLimits, Stalled, StartRequest, Step, ToolResult, ToolsRequested
from ..outcome import RunEnded
from . import _engine
from .prelude_protocol import PRELUDE, init_config, parse_state, settle_payload

#: Memory a context may take while it is warmed, before a run's own limit applies.
WARM_MEMORY_CAP = 64 * 1024 * 1024
#: QuickJS's stack limit when a run does not set one.
DEFAULT_STACK_BYTES: int = EngineLimits.max_stack_bytes
#: C stack an engine thread has beyond QuickJS's limit: the binding's safety gap, the Python frames that
#: drive the run and the sync tool handlers that run on that thread.
HOST_STACK_BYTES = 4 * 1024 * 1024
#: Memory above the limit lent to the drain that salvages console lines after the engine was stopped.
_SALVAGE_SLACK = 1024 * 1024

_OOM_MESSAGES = ("null", "[uninitialized]", "InternalError: out of memory", "InternalError: string too long")

#: The one "run ended with code X" exception; the old name stays for the engines that still use it.
EngineTerminated = RunEnded


def engine_thread_stack_bytes(max_stack_bytes: int = DEFAULT_STACK_BYTES) -> int:
    """Stack size for a thread that runs engines with QuickJS's stack limit at `max_stack_bytes`."""
    return max_stack_bytes + HOST_STACK_BYTES


def classify_engine_exception(exc: BaseException) -> RunEnded:
    """The code for an engine error known only by its text (the WebAssembly engine's pending exception).
    The native engine does not need this: it reports its ends as status codes."""
    text = str(exc).strip()
    first = text.split("\n", 1)[0].strip()
    if "interrupted" in first:
        return RunEnded("TIMEOUT", "Execution timed out")
    if first in _OOM_MESSAGES or first.startswith("InternalError: out of memory") or not first:
        return RunEnded("MEMORY_LIMIT_EXCEEDED", "Memory limit exceeded")
    if first.startswith("SyntaxError"):
        return RunEnded("VALIDATION_ERROR", first, "SyntaxError")
    return RunEnded("RUNTIME_ERROR", first or "Engine error", "InternalError")


class _PreludeBytecode:
    """The prelude compiled once per process; every context loads it instead of compiling it."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._bytes: bytes | None = None

    def get(self) -> bytes:
        compiled = self._bytes
        if compiled is None:
            with self._lock:
                compiled = self._bytes
                if compiled is None:
                    compiled = self._bytes = _engine.compile_prelude(PRELUDE)
        return compiled


prelude_bytecode = _PreludeBytecode()


def syntax_location(detail: str | None) -> tuple[int, int] | None:
    """(line, byte column) from the compiler's backtrace text `    at <input>:LINE:COL`."""
    if not detail:
        return None
    head = detail.strip().split("\n", 1)[0]
    _, _, position = head.rpartition(">:")
    line, _, column = position.partition(":")
    if line.isdigit() and column.isdigit():
        return int(line), int(column)
    return None


def ended(status: int, text: str | None, detail: str | None) -> RunEnded:
    """The RunEnded for a non-OK status of the binding, with the console lines it salvaged."""
    if status == _engine.SYNTAX_ERROR:
        where = syntax_location(detail)
        suffix = f" (line {where[0]})" if where else ""
        return RunEnded("VALIDATION_ERROR", f"SyntaxError: {text or 'invalid syntax'}{suffix}", "SyntaxError")
    if status == _engine.INTERRUPTED:
        exc = RunEnded("TIMEOUT", "Execution timed out")
    elif status == _engine.OUT_OF_MEMORY:
        exc = RunEnded("MEMORY_LIMIT_EXCEEDED", "Memory limit exceeded")
    elif status == _engine.STACK_OVERFLOW:
        exc = RunEnded("RUNTIME_ERROR", "Maximum call stack size exceeded", "RangeError")
    else:
        exc = RunEnded("RUNTIME_ERROR", "The engine stopped with an error", "InternalError")
    if text is not None:
        # An unreadable salvaged state loses the lines; the code still stands.
        with contextlib.suppress(RunEnded):
            exc.stdout = parse_state(text, None).stdout
    return exc


class WarmContext:
    """A fresh runtime and context with the prelude loaded: everything a run needs but its own config.

    Adapters warm the next context in the background, on the thread that will run it; each one still
    serves exactly one run. `prelude` is for tests: the source (str) instead of the shared bytecode."""

    def __init__(self, prelude: bytes | str | None = None) -> None:
        self.engine = _engine.Engine(prelude or prelude_bytecode.get(), WARM_MEMORY_CAP, DEFAULT_STACK_BYTES)


def merged(earlier: Step, later: Step) -> Step:
    """`later` with what `earlier` reported before it: its console lines, entropy and counters, and its
    queued tool calls (unless `later` settled or tripped a limit, which wins over calls)."""
    later.stdout = earlier.stdout + later.stdout
    later.levels = earlier.levels + later.levels
    later.entropy = earlier.entropy + later.entropy
    later.iterations = max(earlier.iterations, later.iterations)
    if isinstance(earlier, ToolsRequested):
        if isinstance(later, ToolsRequested):
            later.calls = earlier.calls + later.calls
        elif isinstance(later, Stalled):
            return ToolsRequested(
                calls=earlier.calls,
                stdout=later.stdout,
                levels=later.levels,
                iterations=later.iterations,
                memory_usage=later.memory_usage,
                entropy=later.entropy,
                entropy_overflow=later.entropy_overflow,
            )
    return later


class QuickJsSession:
    """The engine side of one run.

    The binding returns from a step after a time slice of promise jobs, with jobs still pending. A
    slice that only printed goes to the driver as it is (a `Stalled` step with jobs pending: the driver
    steps again and already has the output, even if the run is given up on later). A slice that queued
    tool calls is not: the session steps on until the engine is idle, as if the step had never been
    cut, so tool calls are dispatched only once nothing else can run (a limit that trips meanwhile
    still stops them). With `run_to_idle` (for a channel that cannot say "jobs pending") every slice is
    stepped on."""

    def __init__(self, request: StartRequest, warm: WarmContext | None = None, *, run_to_idle: bool = False) -> None:
        self._request = request
        self._warm = warm
        self._run_to_idle = run_to_idle
        self._engine: _engine.Engine | None = None

    # -- the protocol --
    def start(self) -> Step:
        request = self._request
        limits = request.limits
        try:
            warm = self._warm or WarmContext()
        except MemoryError:
            raise RunEnded("MEMORY_LIMIT_EXCEEDED", "Memory limit exceeded") from None
        self._warm = None
        self._engine = engine = warm.engine
        salvage = 2 * limits.console_bytes + _SALVAGE_SLACK
        engine.configure(limits.memory_limit, limits.max_stack_bytes, request.deadline, salvage)
        return self._slice(engine.start(init_config(request), request.program))

    def settle(self, results: list[ToolResult]) -> Step:
        return self._slice(self._current().step("settle", settle_payload(results)))

    def close(self) -> None:
        engine, self._engine = self._engine, None
        if engine is not None:
            engine.close()
        self._warm = None

    def memory_usage(self) -> int | None:
        """Bytes the engine's allocator holds now."""
        return self._engine.memory()[0] if self._engine is not None else None

    # -- internals --
    def _current(self) -> _engine.Engine:
        if self._engine is None:
            raise RunEnded("RUNTIME_ERROR", "The engine was closed", "InternalError")
        return self._engine

    def _slice(self, result: _engine.StepResult) -> Step:
        step, pending = self._step_of(result)
        while pending and (isinstance(step, ToolsRequested) or (self._run_to_idle and isinstance(step, Stalled))):
            try:
                more, pending = self._step_of(self._current().step("settle", "[]"))
            except RunEnded as exc:
                exc.stdout = step.stdout + exc.stdout
                raise
            step = merged(step, more)
        return step

    def _step_of(self, result: _engine.StepResult) -> tuple[Step, bool]:
        status, text, detail, pending = result
        if status != _engine.OK:
            raise ended(status, text, detail)
        # `pending`: jobs were still queued when the step returned, so the run is not waiting forever.
        return parse_state(text, self._current().memory()[1], jobs_pending=pending), pending
