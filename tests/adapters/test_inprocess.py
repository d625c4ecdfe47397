"""In-process adapter specifics: bursts of concurrent runs and engine-thread reuse."""

from __future__ import annotations

import asyncio

from enclave_vm import Enclave
from enclave_vm.adapters.inprocess import InProcessAdapter


async def test_a_burst_of_concurrent_runs_all_succeed() -> None:
    # Many short runs in flight make engine threads finish and exit while the next job is being handed
    # over; every run must still get its answer.
    adapter = InProcessAdapter()
    async with Enclave(adapter=adapter) as enclave:
        gate = asyncio.Semaphore(64)

        async def one(i: int) -> object:
            async with gate:
                result = await enclave.run(f"return {i} * 2;")
                assert result.success, result.error
                return result.value

        values = await asyncio.gather(*(one(i) for i in range(600)))
    assert values == [i * 2 for i in range(600)]


async def test_sequential_runs_reuse_a_few_threads() -> None:
    adapter = InProcessAdapter()
    async with Enclave(adapter=adapter) as enclave:
        for _ in range(30):
            assert (await enclave.run("return 1;")).value == 1
            await asyncio.sleep(0.005)  # let the thread check back in, as between agent turns
    assert adapter.threads_created <= 3
