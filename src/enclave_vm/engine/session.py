"""One QuickJS-NG context running one script: the engine side of the run protocol.

A session must be created, used and closed on a single thread (the binding crashes otherwise). Its
calls block; the time limit the binding offers counts process CPU time, so every call gets the
remaining wall-clock budget scaled by the number of CPUs as a backstop, while the prelude's hooks
check the wall clock itself.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from typing import Any

import quickjs

from ..bridge.protocol import LimitTripped, Settled, Stalled, StartRequest, Step, ToolResult
from ..outcome import RunEnded
from ..outcome import now as run_clock
from .prelude_protocol import PRELUDE, init_config, parse_state, settle_payload

# Process CPU time can run ahead of wall time by at most the number of CPUs.
_CPU_FACTOR = float(os.cpu_count() or 1)
_JOB_CHECK_EVERY = 32
#: Steps running at least this long are followed by a memory sample (see `_sample_memory`).
_MEMORY_SAMPLE_AFTER_S = 0.001
#: CPU seconds the engine gets to hand over its console lines after it was stopped.
_SALVAGE_BUDGET_S = 0.05
#: The share of the memory limit held at which a silent stall counts as exhaustion.
_EXHAUSTED_SHARE = 0.9
_OOM_MESSAGES = ("null", "[uninitialized]", "InternalError: out of memory", "InternalError: string too long")


#: The engine's "this run ended with code X" is the run's one exception.
EngineTerminated = RunEnded


def classify_engine_exception(exc: BaseException) -> EngineTerminated:
    text = str(exc).strip()
    first = text.split("\n", 1)[0].strip()
    if "interrupted" in first:
        return EngineTerminated("TIMEOUT", "Execution timed out")
    if first in _OOM_MESSAGES or first.startswith("InternalError: out of memory") or not first:
        return EngineTerminated("MEMORY_LIMIT_EXCEEDED", "Memory limit exceeded")
    if isinstance(exc, quickjs.StackOverflow):
        return EngineTerminated("RUNTIME_ERROR", "Maximum call stack size exceeded", "RangeError")
    if first.startswith("SyntaxError"):
        return EngineTerminated("VALIDATION_ERROR", first, "SyntaxError")
    return EngineTerminated("RUNTIME_ERROR", first or "Engine error", "InternalError")


class WarmContext:
    """A fresh context with the prelude evaluated: everything a run needs except its own config.

    Compiling the prelude is most of a context's start-up cost, so adapters warm the next context in the
    background; each one still serves exactly one run.
    """

    def __init__(self) -> None:
        self.ctx: Any = quickjs.Context()
        self.ctx.set_time_limit(10.0)
        self.ctl: Any = self.ctx.eval(PRELUDE)


class QuickJsSession:
    def __init__(self, request: StartRequest, warm: WarmContext | None = None) -> None:
        self._request = request
        self._deadline = request.deadline
        self._peak_memory = 0
        self._warm = warm
        self._ctx: Any = None
        self._ctl: Any = None

    def _open(self) -> None:
        request = self._request
        limits = request.limits
        try:
            warm = self._warm or WarmContext()
        except quickjs.JSException as exc:
            raise classify_engine_exception(exc) from None
        self._warm = None
        self._ctx, self._ctl = warm.ctx, warm.ctl
        self._ctx.set_memory_limit(limits.memory_limit)
        self._ctx.set_max_stack_size(limits.max_stack_bytes)
        self._call(self._ctl, "init", init_config(request))

    # -- the protocol --
    def start(self) -> Step:
        started = time.perf_counter()
        self._open()
        try:
            function = self._call(self._ctx.eval, self._request.program)
            self._call(self._ctl, "start", function)
            del function
            return self._step(started)
        except EngineTerminated as exc:
            raise self._with_output(exc) from None

    def settle(self, results: list[ToolResult]) -> Step:
        started = time.perf_counter()
        try:
            self._call(self._ctl, "settle", settle_payload(results))
            return self._step(started)
        except EngineTerminated as exc:
            raise self._with_output(exc) from None

    def close(self) -> None:
        self._ctl = None
        self._ctx = None

    # -- internals --
    def _remaining(self) -> float:
        return self._deadline - run_clock()

    def _call(self, fn: Callable[..., Any], *args: Any) -> Any:
        remaining = self._remaining()
        if remaining <= 0:
            raise EngineTerminated("TIMEOUT", "Execution timed out")
        self._ctx.set_time_limit(remaining * _CPU_FACTOR + 0.05)
        try:
            return fn(*args)
        except quickjs.JSException as exc:
            raise classify_engine_exception(exc) from None
        except TypeError as exc:  # a value the binding cannot convert (never expected from the prelude)
            raise EngineTerminated("RUNTIME_ERROR", f"Engine returned an unreadable value: {exc}") from None

    def _step(self, started: float) -> Step:
        """Run queued jobs until the engine is idle, then drain its state.

        The binding's CPU-time limit restarts with every native call, so setting it once here bounds each
        job by the budget left now; the wall clock is checked between jobs as well. `started` is when the
        engine call that led here began (the script's synchronous part runs inside `start`).
        """
        remaining = self._deadline - run_clock()
        if remaining <= 0:
            raise EngineTerminated("TIMEOUT", "Execution timed out")
        self._ctx.set_time_limit(remaining * _CPU_FACTOR + 0.05)
        run_job = self._ctx.execute_pending_job
        deadline = self._deadline
        count = 0
        try:
            while run_job():
                count += 1
                if count % _JOB_CHECK_EVERY == 0 and run_clock() >= deadline:
                    raise EngineTerminated("TIMEOUT", "Execution timed out")
            state = parse_state(self._ctl("drain"), None)
        except quickjs.JSException as exc:
            raise classify_engine_exception(exc) from None
        if isinstance(state, Stalled) and self._heap_exhausted():
            # A job that failed to allocate ends without a trace in the script's state (the rejection it
            # would carry cannot be built): the heap's state, not the silence, decides.
            raise EngineTerminated("MEMORY_LIMIT_EXCEEDED", "Memory limit exceeded")
        ended = isinstance(state, Settled | LimitTripped)
        if ended or time.perf_counter() - started >= _MEMORY_SAMPLE_AFTER_S:
            self._sample_memory()
        if ended:
            state.memory_usage = self._peak_memory or None
        return state

    def _with_output(self, exc: EngineTerminated) -> EngineTerminated:
        """Keep what the script printed before the engine was stopped: drain once more, briefly."""
        try:
            self._ctx.set_time_limit(_SALVAGE_BUDGET_S)
            exc.stdout = parse_state(self._ctl("drain"), None).stdout
        except Exception:  # an exhausted or broken engine: the lines are lost, the code still stands
            pass
        return exc

    def _heap_exhausted(self) -> bool:
        """Whether the heap is at its cap (this binding reports no refused allocation, only the bytes held)."""
        used = self.memory_usage()
        return used is not None and used >= _EXHAUSTED_SHARE * self._request.limits.memory_limit

    def _sample_memory(self) -> None:
        """Track the peak of the engine's allocated bytes. Reading them walks the whole heap (~25 µs), so
        it is done after steps long enough to have allocated much, and when the run ends."""
        used = self.memory_usage()
        if used is not None:
            self._peak_memory = max(self._peak_memory, used)

    def memory_usage(self) -> int | None:
        """Bytes the engine's allocator holds now."""
        try:
            return int(self._ctx.memory()["malloc_size"])
        except Exception:
            return None
