"""A caller that stops waiting for a run (its task is cancelled) stops the run's tools too: the running
async tool is cancelled at once and no further tool call starts. Runs on every adapter."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import pytest

from adapter_kinds import MakeEnclave

#: The promise: a running async tool sees CancelledError within 100 ms of the caller's cancel. Tests
#: assert a bound 5x looser; bench/deadline.py measures the figure.
CANCEL_PROMISE_S = 0.1

LOOP = "for (const i of Array.from({ length: 50 }, (_, k) => k)) { await callTool('tick', { i }); }\nreturn 1;"


class Recorder:
    """An async tool that blocks until cancelled, and says when it started and when it was cancelled."""

    def __init__(self) -> None:
        self.started = asyncio.Event()
        self.cancelled = asyncio.Event()
        self.calls = 0
        self.cancelled_at = 0.0

    async def __call__(self, name: str, args: dict[str, Any], context: Any = None) -> Any:
        self.calls += 1
        self.started.set()
        try:
            await asyncio.Event().wait()
        except asyncio.CancelledError:
            self.cancelled_at = time.monotonic()
            self.cancelled.set()
            raise


async def _start_and_cancel(make_enclave: MakeEnclave, recorder: Recorder) -> float:
    with make_enclave(tool_handler=recorder, timeout=30_000) as enclave:
        task = asyncio.create_task(enclave.run(LOOP))
        await asyncio.wait_for(recorder.started.wait(), 20)
        cancelled_at = time.monotonic()
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        await asyncio.wait_for(recorder.cancelled.wait(), 5 * CANCEL_PROMISE_S)
        return cancelled_at


async def test_the_running_async_tool_is_cancelled_with_the_caller(make_enclave: MakeEnclave) -> None:
    recorder = Recorder()
    cancelled_at = await _start_and_cancel(make_enclave, recorder)
    assert recorder.cancelled_at - cancelled_at < 5 * CANCEL_PROMISE_S


async def test_no_tool_runs_after_the_caller_cancelled(make_enclave: MakeEnclave) -> None:
    recorder = Recorder()
    await _start_and_cancel(make_enclave, recorder)
    # The engine may still be finishing its step: give it every chance to ask for another tool.
    for _ in range(20):
        await asyncio.sleep(0)
    assert recorder.calls == 1
