"""The sync-tool thread pool: bounded, cancellable, and never in the way of the host process's exit."""

from __future__ import annotations

import subprocess
import sys
import textwrap
import threading

import pytest

from enclave_vm.bridge.tool_pool import ToolThreadPool


def test_runs_calls_and_delivers_results_and_errors() -> None:
    pool = ToolThreadPool(2)

    def fail() -> None:
        raise KeyError("boom")

    assert pool.submit(lambda a, b: a + b, 2, 3).result(timeout=30) == 5
    with pytest.raises(KeyError):
        pool.submit(fail).result(timeout=30)
    pool.shutdown()


def test_at_most_max_workers_run_at_once_and_the_rest_wait() -> None:
    pool = ToolThreadPool(3)
    release = threading.Event()
    lock = threading.Lock()
    running = 0
    peak = 0
    started = threading.Semaphore(0)

    def call() -> None:
        nonlocal running, peak
        with lock:
            running += 1
            peak = max(peak, running)
        started.release()
        release.wait()
        with lock:
            running -= 1

    futures = [pool.submit(call) for _ in range(8)]
    for _ in range(3):
        assert started.acquire(timeout=30)
    assert not started.acquire(timeout=0.05)  # a fourth call cannot start while three hold the pool
    release.set()
    for future in futures:
        future.result(timeout=30)
    assert peak == 3
    pool.shutdown()


def test_idle_threads_each_take_one_queued_call() -> None:
    """Calls submitted together while one thread idles all run at once (none waits behind another)."""
    pool = ToolThreadPool(4)
    pool.submit(lambda: None).result(timeout=30)  # one thread now idles
    barrier = threading.Barrier(4, timeout=30)
    futures = [pool.submit(barrier.wait) for _ in range(4)]
    for future in futures:
        future.result(timeout=30)
    pool.shutdown()


def test_shutdown_cancels_calls_that_have_not_started() -> None:
    pool = ToolThreadPool(1)
    release = threading.Event()
    started = threading.Event()

    def block() -> None:
        started.set()
        release.wait()

    running = pool.submit(block)
    queued = pool.submit(lambda: "never")
    assert started.wait(timeout=30)
    pool.shutdown(wait=False, cancel_futures=True)
    assert queued.cancelled()
    with pytest.raises(RuntimeError, match="after shutdown"):
        pool.submit(lambda: None)
    release.set()
    assert running.result(timeout=30) is None


def test_max_workers_must_be_positive() -> None:
    with pytest.raises(ValueError, match="max_workers"):
        ToolThreadPool(0)


HOST = textwrap.dedent(
    """
    import asyncio, threading
    from enclave_vm import Enclave

    def hang(name, args, context):
        threading.Event().wait()  # never returns

    async def main():
        enclave = Enclave(tool_handler=hang, timeout=200)
        result = await enclave.run("return await callTool('hang', {});")
        print(result.error.code, flush=True)
        {dispose}

    asyncio.run(main())
    """
)


@pytest.mark.parametrize("dispose", ["", "enclave.dispose()"], ids=["not-disposed", "disposed"])
def test_a_hung_sync_tool_does_not_keep_the_host_from_exiting(dispose: str) -> None:
    proc = subprocess.run(
        [sys.executable, "-c", HOST.replace("{dispose}", dispose)], capture_output=True, text=True, timeout=120
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "TIMEOUT"
