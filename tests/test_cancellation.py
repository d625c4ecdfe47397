"""A caller that stops waiting for a run (its task is cancelled) stops the run's tools too."""

from __future__ import annotations

import asyncio
import time
from typing import Any

from enclave_vm import Enclave


async def test_no_tool_runs_after_the_caller_cancelled() -> None:
    calls: list[float] = []

    async def tools(name: str, args: dict[str, Any], context: Any = None) -> Any:
        calls.append(time.monotonic())
        await asyncio.sleep(0.02)
        return {"ok": True}

    code = "for (const i of Array.from({ length: 50 }, (_, k) => k)) { await callTool('tick', { i }); }\nreturn 1;"
    async with Enclave(tool_handler=tools, timeout=5000) as enclave:
        task = asyncio.create_task(enclave.run(code))
        while len(calls) < 2:
            await asyncio.sleep(0.005)
        task.cancel()
        cancelled_at = time.monotonic()
        try:
            await task
        except asyncio.CancelledError:
            pass
        else:
            raise AssertionError("the run was not cancelled")
        await asyncio.sleep(0.3)  # long enough for ~15 more calls had the run gone on
    after = [t for t in calls if t > cancelled_at]
    assert len(after) <= 1  # at most the call already queued when the cancel landed
    assert len(calls) < 10
