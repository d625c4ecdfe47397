"""Scripts in a pool of OS worker processes: concurrent runs, and a runaway script that is killed.

The in-process default runs the engine on threads of your process; a worker pool runs it in separate
processes that are recycled after some runs and killed outright when a run overruns its deadline.
Tools still run in your process: only JSON crosses to the workers.

    .venv/bin/python examples/worker_pool.py
"""

from __future__ import annotations

import asyncio
import os
import time
from typing import Any

from enclave_vm import Enclave, create_worker_pool_adapter

PRICES = {"apple": 0.5, "pear": 0.8, "plum": 0.3}


def price(name: str, args: dict[str, Any], context: dict[str, Any] | None) -> Any:
    if name == "price:get":
        return {"item": args["item"], "price": PRICES[args["item"]], "served_by_pid": os.getpid()}
    raise KeyError(f"Unknown tool: {name}")


BASKET = """
const items = ['apple', 'pear', 'plum'];
let total = 0;
for (const item of items) {
  const p = await callTool('price:get', { item });
  total += p.price * quantity;
}
return Math.round(total * 100) / 100;
"""

# CPU-bound past its 500 ms deadline: the pool kills the worker process running it and starts another.
RUNAWAY = "let n = 0;\nfor (let i = 0; i < 1e12; i++) { n += i % 3 }\nreturn n;"


async def main() -> None:
    adapter = create_worker_pool_adapter(pool_size=2, max_executions_per_worker=50, idle_timeout=30_000)
    async with Enclave(tool_handler=price, adapter=adapter, timeout=3000, max_iterations=10**9) as enclave:
        print(f"host pid {os.getpid()}; tools run here, scripts run in the pool's workers")
        await asyncio.gather(enclave.run("return 0"), enclave.run("return 0"))  # start both workers
        started = time.perf_counter()
        results = await asyncio.gather(*(enclave.run(BASKET.replace("quantity", str(q))) for q in range(1, 7)))
        elapsed = (time.perf_counter() - started) * 1000
        print(f"6 concurrent runs in {elapsed:.0f} ms:", [r.value for r in results])

        runaway = await enclave.run(RUNAWAY, timeout=500)
        assert runaway.error is not None
        print(f"runaway script: {runaway.error.code} after {runaway.stats.duration:.0f} ms")

        again = await enclave.run("return 'the pool is still serving';")
        print("next run:", again.value)


if __name__ == "__main__":
    asyncio.run(main())
