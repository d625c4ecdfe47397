"""The engine-thread pool shared by the in-process and double-VM adapters."""

from __future__ import annotations

import asyncio
import threading

from enclave_vm.adapters.engine_threads import EngineThreads
from enclave_vm.bridge.codec import ValueLimits
from enclave_vm.bridge.dispatch import ToolDispatcher
from enclave_vm.bridge.protocol import FinalRecord, Settled, StartRequest, Step, ToolResult
from engine_fixtures import engine_limits


class _Log:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.events: list[str] = []

    def add(self, event: str) -> None:
        with self._lock:
            self.events.append(event)


class _ReturnsOne:
    """An engine channel whose script returns 1 at its first step."""

    def __init__(self, log: _Log) -> None:
        self._log = log

    def start(self) -> Step:
        return Settled(final=FinalRecord(ok=True, value_json="1"))

    def settle(self, results: list[ToolResult]) -> Step:
        raise AssertionError("no tool calls here")

    def close(self) -> None:
        self._log.add("close")


def _request() -> StartRequest:
    return StartRequest(program="", globals_json="{}", limits=engine_limits(timeout_ms=5000), deadline=1e12)


def _threads(log: _Log) -> EngineThreads[object]:
    def warm() -> object:
        log.add("warm")
        return object()

    return EngineThreads(name="test-engine", warm=warm, open_session=lambda request, spare, extra: _ReturnsOne(log))


async def test_clean_up_and_warm_up_start_only_after_the_caller_took_its_outcome() -> None:
    # Closing a session and warming the next engine compete with the caller for the GIL; started at
    # once, they would keep the woken caller waiting. They wait until the caller has its outcome.
    log = _Log()
    threads = _threads(log)
    loop = asyncio.get_running_loop()
    try:
        tools = ToolDispatcher(handler=None, context=None, loop=loop, limits=ValueLimits(1 << 20, 32))
        for _ in range(5):
            outcome = await threads.run(_request(), tools)
            log.add("outcome")
            assert outcome.ok and outcome.value_json == "1"
            await asyncio.sleep(0.01)
    finally:
        threads.dispose()
    # The first engine is warmed when the thread starts; each run then ends: outcome, close, warm.
    assert log.events == ["warm"] + ["outcome", "close", "warm"] * 5


def test_a_caller_whose_loop_stopped_does_not_stall_the_engine_thread() -> None:
    # A loop that stops before the outcome is handed over must not keep the engine thread waiting:
    # it goes on to close the session and warm the next engine.
    log = _Log()
    threads = _threads(log)
    loop = asyncio.new_event_loop()
    try:
        tools = ToolDispatcher(handler=None, context=None, loop=loop, limits=ValueLimits(1 << 20, 32))
        task = loop.create_task(threads.run(_request(), tools))
        loop.call_soon(loop.stop)
        loop.run_forever()  # submits the job, then stops before the outcome arrives
        for _ in range(500):
            if log.events.count("warm") == 2:
                break
            threading.Event().wait(0.01)
        assert log.events == ["warm", "close", "warm"]
        task.cancel()
    finally:
        threads.dispose()
        loop.close()
