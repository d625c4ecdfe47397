"""The default adapter: QuickJS engines on dedicated threads of this process.

Each run gets a fresh QuickJS context, prepared in the background on the engine thread that will run it
(see `engine_threads`); the threads' stacks are sized to QuickJS's stack limit plus the host's share.
A thread still busy at the deadline is given up on: the run reports TIMEOUT at once and the thread is
retired, never reused.
"""

from __future__ import annotations

from typing import Any

from ..bridge.dispatch import ToolDispatcher
from ..bridge.protocol import RunOutcome, StartRequest
from ..engine.session import QuickJsSession, WarmContext, engine_thread_stack_bytes
from .engine_threads import EngineThreads

#: Idle engine threads kept (each holds one warm context, ~0.4 MB with its stack): enough that a burst of
#: concurrent runs reuses its threads. Starting a thread stalls the event loop until the new thread gets
#: the GIL; at 64 runs in flight, keeping 8 started a new thread for ~30% of the runs, 32 for ~12%, 64
#: for ~1% (bench/pool.py's in-process throughput: about 1 600, 2 100 and 2 600 runs/s).
MAX_IDLE_THREADS = 64


def _open_session(request: StartRequest, warm: WarmContext | None, extra: Any) -> QuickJsSession:
    return QuickJsSession(request, warm)


class InProcessAdapter:
    def __init__(self) -> None:
        self._threads: EngineThreads[WarmContext] = EngineThreads(
            name="enclave-engine",
            warm=WarmContext,
            open_session=_open_session,
            stack_bytes=engine_thread_stack_bytes(),
            max_idle=MAX_IDLE_THREADS,
        )

    @property
    def threads_created(self) -> int:
        return self._threads.threads_created

    @property
    def retired_threads(self) -> int:
        return self._threads.retired_threads

    async def execute(self, request: StartRequest, tools: ToolDispatcher) -> RunOutcome:
        return await self._threads.run(request, tools)

    def dispose(self) -> None:
        self._threads.dispose()
