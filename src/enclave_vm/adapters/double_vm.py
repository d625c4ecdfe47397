"""The double-VM adapter: QuickJS-NG compiled to WebAssembly, running inside wasmtime.

The JS engine's own limits (memory limit, the prelude's deadline hooks) form the inner VM; the WASM
instance is the outer one, with a hard cap on its linear memory and an epoch deadline that traps
whatever the engine is doing. A memory-safety bug in the engine stays inside the instance's memory.

Threading mirrors the in-process adapter: each run checks out an engine thread holding a pre-warmed
instance (instantiated, prelude evaluated), drives the run there and drops the instance; the thread warms
the next one before it checks in. A thread still busy at the deadline is given up on and retired.
"""

from __future__ import annotations

import asyncio
import collections
import concurrent.futures
import dataclasses
import os
import threading
import time

from ..bridge.dispatch import ToolDispatcher
from ..bridge.driver import drive
from ..bridge.protocol import RunOutcome, StartRequest
from ..config import DoubleVmOptions
from ..engine.wasm_module import get_runtime
from ..engine.wasm_session import WarmWasmContext, WasmSession
from ..engine.wasm_watchdog import TICK_S

#: How long after the outer deadline a stuck engine thread is given up on.
DEADLINE_GRACE_S = 0.2
#: The outer deadline trails the inner one, so the engine's own clean TIMEOUT normally wins.
OUTER_GRACE_S = 2 * TICK_S
_MAX_IDLE_THREADS = 8
#: Compiled code runs on the calling thread's stack; engine threads get a known size on every platform.
_THREAD_STACK_BYTES = 8 * 1024 * 1024

_Job = tuple[StartRequest, float, ToolDispatcher, "concurrent.futures.Future[RunOutcome]"]
_stack_size_lock = threading.Lock()


def _warm() -> WarmWasmContext | None:
    try:
        return WarmWasmContext()
    except Exception:  # the session reports the failure when it opens its own instance
        return None


class _EngineThread(threading.Thread):
    def __init__(self, pool: DoubleVmAdapter, index: int) -> None:
        super().__init__(name=f"enclave-wasm-{index}", daemon=True)
        self._pool = pool
        self._jobs: collections.deque[_Job | None] = collections.deque()
        self._wake_r, self._wake_w = os.pipe()
        self.retired = False

    def launch(self) -> None:
        with _stack_size_lock:
            previous = threading.stack_size(_THREAD_STACK_BYTES)
            try:
                self.start()
            finally:
                threading.stack_size(previous)

    def submit(self, job: _Job | None) -> None:
        self._jobs.append(job)
        os.write(self._wake_w, b"x")

    def _next(self) -> _Job | None:
        while not self._jobs:
            os.read(self._wake_r, 1)
        return self._jobs.popleft()

    def run(self) -> None:
        try:
            self._serve()
        finally:
            os.close(self._wake_r)
            os.close(self._wake_w)

    def _serve(self) -> None:
        spare = _warm()
        while True:
            job = self._next()
            if job is None:
                return
            request, vm_deadline, tools, future = job
            session = WasmSession(request, spare, vm_deadline)
            spare = None
            if future.set_running_or_notify_cancel():
                try:
                    future.set_result(drive(session, request, tools))
                except BaseException as exc:
                    future.set_exception(exc)
            session.close()
            del job, request, tools, future, session
            if self.retired:
                return
            spare = _warm()  # before checking in, so the next run on this thread starts warm
            if not self._pool.check_in(self):
                return


class DoubleVmAdapter:
    def __init__(self, options: DoubleVmOptions | None = None) -> None:
        # Load (or, once per machine, compile) the module now: an ImportError names the extra to install,
        # and no run's deadline pays for the compile.
        get_runtime()
        self.options = options or DoubleVmOptions()
        self._idle: list[_EngineThread] = []
        self._lock = threading.Lock()
        self._created = 0
        self._disposed = False
        self.retired_threads = 0
        self._check_in_new()  # warms the first instance in the background

    def _check_in_new(self) -> None:
        with self._lock:
            self._created += 1
            thread = _EngineThread(self, self._created)
            self._idle.append(thread)
        thread.launch()

    def _check_out(self) -> _EngineThread:
        with self._lock:
            if self._idle:
                return self._idle.pop()
            self._created += 1
            thread = _EngineThread(self, self._created)
        thread.launch()
        return thread

    def check_in(self, thread: _EngineThread) -> bool:
        """Return a thread to the idle list; False tells it to exit."""
        with self._lock:
            if self._disposed or len(self._idle) >= _MAX_IDLE_THREADS:
                return False
            self._idle.append(thread)
            return True

    def bounded(self, request: StartRequest, now: float) -> tuple[StartRequest, float]:
        """The run as the engine sees it (its timeout narrowed by the inner and outer caps) and the
        outer VM's deadline (the run's timeout narrowed by the outer cap, plus a short grace)."""
        timeout_ms = request.limits.timeout_ms
        outer, inner = self.options.outer_timeout, self.options.inner_timeout
        engine_ms = min([timeout_ms, *(cap for cap in (outer, inner) if cap is not None)])
        vm_ms = min(timeout_ms, outer) if outer is not None else timeout_ms
        vm_deadline = min(request.deadline, now + vm_ms / 1000.0) + OUTER_GRACE_S
        if engine_ms == timeout_ms:
            return request, vm_deadline
        limits = dataclasses.replace(request.limits, timeout_ms=engine_ms)
        deadline = min(request.deadline, now + engine_ms / 1000.0)
        return dataclasses.replace(request, limits=limits, deadline=deadline), vm_deadline

    async def execute(self, request: StartRequest, tools: ToolDispatcher) -> RunOutcome:
        run_request, vm_deadline = self.bounded(request, time.time())
        thread = self._check_out()
        future: concurrent.futures.Future[RunOutcome] = concurrent.futures.Future()
        thread.submit((run_request, vm_deadline, tools, future))
        budget = max(run_request.deadline, vm_deadline) - time.time() + DEADLINE_GRACE_S
        try:
            return await asyncio.wait_for(asyncio.wrap_future(future), timeout=max(budget, 0))
        except TimeoutError:
            thread.retired = True
            with self._lock:
                self.retired_threads += 1
            return RunOutcome(
                ok=False, code="TIMEOUT", message=f"Execution timed out after {run_request.limits.timeout_ms}ms"
            )

    def dispose(self) -> None:
        with self._lock:
            self._disposed = True
            idle, self._idle = self._idle, []
        for thread in idle:
            thread.submit(None)
