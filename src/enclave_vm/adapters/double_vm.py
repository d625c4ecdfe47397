"""The double-VM adapter: QuickJS-NG compiled to WebAssembly, running inside wasmtime.

The JS engine's own limits (memory limit, the prelude's deadline hooks) form the inner VM; the WASM
instance is the outer one, with a hard cap on its linear memory and an epoch deadline that traps
whatever the engine is doing. A memory-safety bug in the engine stays inside the instance's memory.

Threading is the in-process adapter's (`engine_threads`): each run checks out an engine thread holding a
pre-warmed instance (instantiated, prelude evaluated), drives the run there and drops the instance; the
thread warms the next one before it checks in. A thread still busy at the deadline is retired.
"""

from __future__ import annotations

import dataclasses

from ..bridge.dispatch import ToolDispatcher
from ..bridge.protocol import RunOutcome, StartRequest
from ..config import DoubleVmOptions
from ..engine.wasm_module import get_runtime
from ..engine.wasm_session import WarmWasmContext, WasmSession
from ..engine.wasm_watchdog import TICK_S
from ..outcome import now as run_clock
from .engine_threads import EngineThreads

#: The outer deadline trails the inner one, so the engine's own clean TIMEOUT normally wins.
OUTER_GRACE_S = 5 * TICK_S
#: Compiled code runs on the calling thread's stack; engine threads get a known size on every platform.
_THREAD_STACK_BYTES = 8 * 1024 * 1024


def _open_session(request: StartRequest, warm: WarmWasmContext | None, vm_deadline: float) -> WasmSession:
    return WasmSession(request, warm, vm_deadline)


class DoubleVmAdapter:
    def __init__(self, options: DoubleVmOptions | None = None) -> None:
        # Load (or, once per machine, compile) the module now: an ImportError names the extra to install,
        # and no run's deadline pays for the compile.
        get_runtime()
        self.options = options or DoubleVmOptions()
        self._threads: EngineThreads[WarmWasmContext] = EngineThreads(
            name="enclave-wasm",
            warm=WarmWasmContext,
            open_session=_open_session,
            stack_bytes=_THREAD_STACK_BYTES,
            prestart=True,  # warms the first instance in the background
        )

    @property
    def retired_threads(self) -> int:
        return self._threads.retired_threads

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
        run_request, vm_deadline = self.bounded(request, run_clock())
        deadline = max(run_request.deadline, vm_deadline)
        return await self._threads.run(run_request, tools, extra=vm_deadline, deadline=deadline)

    def dispose(self) -> None:
        self._threads.dispose()
