"""Engine threads for the adapters whose engine lives in this process (QuickJS in-process, the double VM).

Each run checks out its own engine thread, which opens the run's session on the warm engine it
prepared beforehand, drives the whole run (sync tool handlers run right there; async ones on the
caller's loop) and closes the session. The caller only awaits the outcome, so a CPU-bound script never
blocks its event loop.

Giving up. The engine stops itself at the deadline, and async tools are abandoned by the dispatcher at the
deadline, so a run normally ends on its own. Two things can keep its thread busy past the deadline: a sync
tool that hangs (given up on `SYNC_TOOL_GRACE_S` after the deadline: everything the script printed was
drained before the tool ran) and a native operation that ignores the interrupt (given up on
`ENGINE_GRACE_S` after the deadline, losing only the lines of that last step). Either way the run reports
TIMEOUT with the output so far, its tools end, and the thread is retired, never reused.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable
from typing import Any, Generic, TypeVar

from ..bridge.dispatch import ToolDispatcher
from ..bridge.driver import EngineChannel, RunProgress, drive
from ..bridge.protocol import RunOutcome, StartRequest
from ..outcome import ErrorCode, RunEnded, timeout_message
from ..outcome import now as run_clock
from .job_thread import JobThread

Warm = TypeVar("Warm")
#: Opens the engine side of one run: (request, the thread's warm engine or None, the adapter's extra).
SessionFactory = Callable[[StartRequest, Any, Any], EngineChannel]

_MAX_IDLE_THREADS = 8
#: How long past the deadline a thread blocked in a sync tool is waited for.
SYNC_TOOL_GRACE_S = 0.01
#: How long past the deadline a thread still inside the engine is waited for (its own interrupt normally
#: ends it within a millisecond; this only bounds natives that never poll it).
ENGINE_GRACE_S = 0.1
#: The longest an engine thread waits for its caller to take an outcome before it goes on (a busy loop).
_HAND_OVER_WAIT_S = 0.01

_Job = tuple[StartRequest, Any, ToolDispatcher, RunProgress, asyncio.AbstractEventLoop, "asyncio.Future[RunOutcome]"]


class _GivenUp(Exception):
    """The engine thread did not answer by the time the run was given up on."""


def _deliver(
    waiter: asyncio.Future[RunOutcome], outcome: RunOutcome | BaseException, handed_over: threading.Event
) -> None:
    if waiter.done():
        handed_over.set()
        return
    if isinstance(outcome, BaseException):
        waiter.set_exception(outcome)
    else:
        waiter.set_result(outcome)
    # Scheduled after the waiting task's wake-up, so it fires once the caller has taken the outcome.
    waiter.get_loop().call_soon(handed_over.set)


def _give_up(waiter: asyncio.Future[RunOutcome]) -> None:
    if not waiter.done():
        waiter.set_exception(_GivenUp())


def _watch(
    waiter: asyncio.Future[RunOutcome], tools: ToolDispatcher, engine_give_up_at: float, loop: asyncio.AbstractEventLoop
) -> None:
    """Past the deadline: give up now on a thread blocked in a sync tool, later on one inside the engine."""
    if waiter.done():
        return
    if tools.in_sync_tool:
        _give_up(waiter)
    else:
        loop.call_later(max(engine_give_up_at - run_clock(), 0), _give_up, waiter)


class _EngineThread(JobThread[_Job], Generic[Warm]):
    def __init__(self, pool: EngineThreads[Warm], index: int) -> None:
        super().__init__(f"{pool.name}-{index}", pool.stack_bytes)
        self._pool = pool
        self.retired = False

    def serve(self) -> None:
        pool = self._pool
        spare = pool.warm()
        while True:
            job = self.next_job()
            if job is None:
                return
            request, extra, tools, progress, loop, waiter = job
            session = pool.open_session(request, spare, extra)
            spare = None
            if not waiter.done():  # the caller may have given up (cancelled) while the job queued
                try:
                    outcome: RunOutcome | BaseException = drive(session, request, tools, progress)
                except BaseException as exc:
                    outcome = exc
                handed_over = threading.Event()
                try:
                    loop.call_soon_threadsafe(_deliver, waiter, outcome, handed_over)
                except RuntimeError:  # the caller's loop closed: nobody is waiting
                    pass
                else:
                    # Closing the session and warming the next engine hold the GIL between short native
                    # calls; started at once, they keep the woken caller waiting for the GIL for up to a
                    # switch interval (5 ms). So this thread steps aside until the caller has its outcome.
                    handed_over.wait(_HAND_OVER_WAIT_S)
            session.close()
            del job, request, extra, tools, progress, loop, waiter, session
            if self.retired or not pool.has_room():
                return  # surplus threads from a burst exit at once instead of warming an engine for nobody
            spare = pool.warm()  # before checking in, so the next run on this thread starts warm
            if not pool.check_in(self):
                return


class EngineThreads(Generic[Warm]):
    """A pool of engine threads, each holding one warm engine for its next run."""

    def __init__(
        self,
        *,
        name: str,
        warm: Callable[[], Warm],
        open_session: SessionFactory,
        stack_bytes: int | None = None,
        prestart: bool = False,
    ) -> None:
        self.name = name
        self._warm = warm
        self.open_session = open_session
        self.stack_bytes = stack_bytes
        self._idle: list[_EngineThread[Warm]] = []
        self._lock = threading.Lock()
        self._created = 0
        self._disposed = False
        self.retired_threads = 0
        if prestart:  # a thread (and its warm engine) ready before the first run
            self._idle.append(self._new_thread())

    def warm(self) -> Warm | None:
        try:
            return self._warm()
        except Exception:  # the session reports the failure when it opens its own engine
            return None

    @property
    def threads_created(self) -> int:
        """Engine threads started so far (each warms its first engine on its own)."""
        with self._lock:
            return self._created

    def _new_thread(self) -> _EngineThread[Warm]:
        with self._lock:
            self._created += 1
            thread: _EngineThread[Warm] = _EngineThread(self, self._created)
        thread.launch()
        return thread

    def _check_out(self) -> _EngineThread[Warm]:
        with self._lock:
            if self._idle:
                return self._idle.pop()
        return self._new_thread()

    def has_room(self) -> bool:
        """Whether a thread finishing a run now would be kept (checked before it warms an engine)."""
        with self._lock:
            return not self._disposed and len(self._idle) < _MAX_IDLE_THREADS

    def check_in(self, thread: _EngineThread[Warm]) -> bool:
        """Return a thread to the idle list; False tells it to exit."""
        with self._lock:
            if self._disposed or len(self._idle) >= _MAX_IDLE_THREADS:
                return False
            self._idle.append(thread)
            return True

    async def run(
        self, request: StartRequest, tools: ToolDispatcher, *, extra: Any = None, deadline: float | None = None
    ) -> RunOutcome:
        """Drive one run on an engine thread. A thread still busy past `deadline` (the run's own by default,
        on the run clock) plus a grace is retired and the run ends TIMEOUT (see the module's docstring)."""
        loop = asyncio.get_running_loop()
        waiter: asyncio.Future[RunOutcome] = loop.create_future()
        progress = RunProgress(request)
        thread = self._check_out()
        thread.submit((request, extra, tools, progress, loop, waiter))
        end = request.deadline if deadline is None else deadline
        # A plain timer instead of wait_for: no extra task per run on the latency path.
        timer = loop.call_later(
            max(end + SYNC_TOOL_GRACE_S - run_clock(), 0), _watch, waiter, tools, end + ENGINE_GRACE_S, loop
        )
        try:
            return await waiter
        except _GivenUp:
            thread.retired = True
            with self._lock:
                self.retired_threads += 1
            timed_out = RunEnded(ErrorCode.TIMEOUT, timeout_message(request.limits.timeout_ms))
            tools.end(timed_out)
            return progress.failed(timed_out.code, timed_out.message)
        finally:
            timer.cancel()

    def dispose(self) -> None:
        with self._lock:
            self._disposed = True
            idle, self._idle = self._idle, []
        for thread in idle:
            thread.submit(None)
