"""A worker that dies while its run waits for a tool is noticed at once, not when the tool returns: the
run ends RUNTIME_ERROR (WorkerCrashedError) within a second of the death, its async tool is cancelled, a
sync tool's late result is dropped, and the pool starts a replacement."""

from __future__ import annotations

import asyncio
import os
import signal
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from enclave_vm import Enclave, ErrorCode, WorkerPoolOptions
from enclave_vm.adapters.worker_pool import WorkerPoolAdapter

#: The promise is one second; asserted five times looser so that a loaded machine cannot fail it.
NOTICE_BOUND_S = 5.0
SLOW_TOOL_S = 30.0


@pytest.fixture
def pool() -> Iterator[WorkerPoolAdapter]:
    adapter = WorkerPoolAdapter(WorkerPoolOptions(pool_size=1))
    yield adapter
    adapter.dispose()


async def wait_until(check: Callable[[], bool], timeout: float = 10.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return True
        await asyncio.sleep(0.01)
    return check()


def kill_worker(pool: WorkerPoolAdapter) -> tuple[int, float]:
    [pid] = pool.worker_pids()
    killed_at = time.monotonic()
    os.kill(pid, signal.SIGKILL)
    return pid, killed_at


async def test_death_while_an_async_tool_runs_ends_the_run_at_once(pool: WorkerPoolAdapter) -> None:
    entered = asyncio.Event()
    cancelled = asyncio.Event()

    async def slow(name: str, args: dict[str, Any], context: Any) -> Any:
        entered.set()
        try:
            await asyncio.sleep(SLOW_TOOL_S)
        except asyncio.CancelledError:
            cancelled.set()
            raise
        return "too late"

    with Enclave(adapter=pool, tool_handler=slow, timeout=60_000) as enclave:
        task = asyncio.create_task(enclave.run("console.log('before'); return await callTool('slow', {})"))
        await asyncio.wait_for(entered.wait(), 10)
        pid, killed_at = kill_worker(pool)
        result = await asyncio.wait_for(task, NOTICE_BOUND_S)
        assert time.monotonic() - killed_at < NOTICE_BOUND_S
        assert result.error is not None and result.error.code is ErrorCode.RUNTIME_ERROR
        assert result.error.name == "WorkerCrashedError" and "signal 9" in result.error.message
        assert result.stdout == "before\n" and result.stats.tool_call_count == 1
        await asyncio.wait_for(cancelled.wait(), NOTICE_BOUND_S)  # the tool saw CancelledError
        assert await wait_until(lambda: pool.stats().spawned == 2)  # replaced without waiting for a run
        stats = pool.stats()
        assert stats.crashes == 1 and stats.runs == 1 and stats.runs_in_flight == 0
        assert (await enclave.run("return 'next'")).value == "next"
        assert pid not in pool.worker_pids()


async def test_death_while_a_sync_tool_runs_drops_its_result(pool: WorkerPoolAdapter) -> None:
    entered = threading.Event()
    hold = threading.Event()
    returned = threading.Event()

    def blocking(name: str, args: dict[str, Any], context: Any) -> Any:
        entered.set()
        hold.wait(SLOW_TOOL_S)
        returned.set()
        return "too late"

    with Enclave(adapter=pool, tool_handler=blocking, timeout=60_000) as enclave:
        task = asyncio.create_task(enclave.run("return await callTool('block', {})"))
        assert await wait_until(entered.is_set)
        _, killed_at = kill_worker(pool)
        result = await asyncio.wait_for(task, NOTICE_BOUND_S)
        assert time.monotonic() - killed_at < NOTICE_BOUND_S
        assert result.error is not None and result.error.name == "WorkerCrashedError"
        assert not returned.is_set()  # the run ended while its sync tool still held its thread
        # The replacement serves the next run while that tool is still blocked.
        assert (await enclave.run("return 'served meanwhile'")).value == "served meanwhile"
        hold.set()
        assert await wait_until(returned.is_set)
        assert (await enclave.run("return 'after'")).value == "after"
        stats = pool.stats()
    assert stats.crashes == 1 and stats.runs == 3 and stats.runs_in_flight == 0
    assert result.error.code is ErrorCode.RUNTIME_ERROR  # the late result changed nothing


async def test_death_of_an_idle_worker_is_noticed_without_a_run(pool: WorkerPoolAdapter) -> None:
    with Enclave(adapter=pool) as enclave:
        assert (await enclave.run("return 1")).value == 1
        pid, _ = kill_worker(pool)
        assert await wait_until(lambda: pool.stats().crashes == 1)
        assert pid not in pool.worker_pids()
        assert (await enclave.run("return 2")).value == 2
