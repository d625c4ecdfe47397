"""How precisely each adapter keeps a run's deadline, and how fast the pool notices a dead worker.

1. Deadline overrun, per adapter (in-process, worker pool, double VM): how long past its deadline a run
   returns its TIMEOUT, p50/p99 over N runs of a 100 ms timeout, for
   - a CPU loop (the engine stops itself),
   - a hung sync tool (the adapter gives up on the thread running it),
   - a native operation that ignores the engine's interrupt (in-process: the thread is given up on; pool:
     the worker is SIGKILLed after its grace; double VM: the outer VM's epoch deadline traps it).
2. Death notice (pool): a worker SIGKILLed from outside while its run waits for a slow tool (async, then
   sync); how long until the run returns RUNTIME_ERROR, p50/p99.

    .venv/bin/python bench/deadline.py [--runs N] [--adapter NAME ...] [--json PATH]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
import statistics
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from enclave_vm import Enclave, ErrorCode, create_double_vm_adapter, create_worker_pool_adapter
from enclave_vm.adapters.worker_pool import WorkerPoolAdapter
from enclave_vm.outcome import now as run_clock
from latency import write_report

TIMEOUT_MS = 100
GAP_S = 0.02
CPU_LOOP = "let n = 0;\nfor (let i = 0; i < 1e15; i++) { n += i % 3 }\nreturn n;"
HUNG_SYNC_TOOL = "return await callTool('hang', {});"
#: Splitting and joining a 12-million-character string ignores the engine's interrupt for about a second.
STUCK_NATIVE = "const n = [6000000][0]; return 'ab'.repeat(n).split('').join('-').length"
HUNG_TOOL_S = 1.0
SLOW_TOOL_S = 30.0
WORKLOADS = {"cpu_loop": CPU_LOOP, "hung_sync_tool": HUNG_SYNC_TOOL, "stuck_native": STUCK_NATIVE}


def p50_p99(samples: list[float]) -> tuple[float, float]:
    ordered = sorted(samples)
    return statistics.median(ordered), ordered[max(int(len(ordered) * 0.99) - 1, 0)]


class Releasable:
    """A sync tool that blocks until released (each run releases the previous one's thread)."""

    def __init__(self) -> None:
        self.gate = threading.Event()

    def __call__(self, name: str, args: dict[str, Any], context: Any) -> Any:
        self.gate.wait(HUNG_TOOL_S)
        return 1

    def release(self) -> None:
        self.gate.set()
        self.gate = threading.Event()


async def ready(adapter: Any) -> None:
    """Wait until the adapter is ready for the next run: a pool's killed worker replaced and warm (its
    start-up is not charged to a run, so a run waiting for it would look late)."""
    await asyncio.sleep(GAP_S)
    if isinstance(adapter, WorkerPoolAdapter):
        while (workers := adapter.stats().workers)["starting"] or (workers["busy"] and not workers["idle"]):
            await asyncio.sleep(0.005)
        await asyncio.sleep(GAP_S)


async def overrun(enclave: Enclave, adapter: Any, code: str, runs: int, after: Callable[[], None]) -> list[float]:
    """Milliseconds past its deadline each run returned (TIMEOUT expected)."""
    samples = []
    for _ in range(runs):
        await ready(adapter)
        started = run_clock()
        result = await enclave.run(code)
        returned = run_clock()
        after()
        assert result.error is not None and result.error.code is ErrorCode.TIMEOUT, result.error
        samples.append((returned - started) * 1000 - TIMEOUT_MS)
    return samples


async def deadline_table(runs: int, only: list[str]) -> dict[str, Any]:
    report: dict[str, Any] = {}
    # In-process last: the threads it gives up on keep computing a stuck native operation for about a
    # second each, taking CPU from whatever is measured after them.
    adapters: dict[str, Callable[[], Any]] = {
        "pool": lambda: create_worker_pool_adapter(pool_size=1),
        "double_vm": create_double_vm_adapter,
        "inprocess": lambda: None,
    }
    print(f"\ndeadline overrun, ms past a {TIMEOUT_MS} ms deadline ({runs} runs each)")
    print(f"{'adapter':<10} {'workload':<16} {'p50':>8} {'p99':>8}")
    for adapter_name, make in adapters.items():
        if only and adapter_name not in only:
            continue
        tool = Releasable()
        adapter = make()
        options: dict[str, Any] = {"timeout": TIMEOUT_MS, "max_iterations": 10**15, "memory_limit": 1 << 30}
        with Enclave(adapter=adapter, tool_handler=tool, security_level="PERMISSIVE", **options) as enclave:
            await enclave.run("return 0", timeout=10_000)  # engines warm, workers started
            report[adapter_name] = {}
            for workload, code in WORKLOADS.items():
                kills = adapter.stats().kills if isinstance(adapter, WorkerPoolAdapter) else 0
                samples = await overrun(enclave, adapter, code, runs, tool.release)
                p50, p99 = p50_p99(samples)
                row: dict[str, Any] = {"p50_ms": p50, "p99_ms": p99, "runs": runs}
                if isinstance(adapter, WorkerPoolAdapter):
                    row["worker_kills"] = adapter.stats().kills - kills
                report[adapter_name][workload] = row
                shown = f"  ({row['worker_kills']} workers killed)" if "worker_kills" in row else ""
                print(f"{adapter_name:<10} {workload:<16} {p50:>8.1f} {p99:>8.1f}{shown}")
            tool.release()
    return report


async def death_notice(runs: int) -> dict[str, Any]:
    """Milliseconds from a SIGKILL of the worker to the run's return, while the run awaits a tool."""
    entered = threading.Event()
    hold = threading.Event()

    async def slow_async(name: str, args: dict[str, Any], context: Any) -> Any:
        entered.set()
        await asyncio.sleep(SLOW_TOOL_S)

    def slow_sync(name: str, args: dict[str, Any], context: Any) -> Any:
        entered.set()
        hold.wait(SLOW_TOOL_S)

    report: dict[str, Any] = {}
    print(f"death notice: a worker SIGKILLed while its run awaits a tool ({runs} runs each)")
    print(f"{'tool':<8} {'p50 ms':>8} {'p99 ms':>8}")
    for kind, handler in (("async", slow_async), ("sync", slow_sync)):
        pool = create_worker_pool_adapter(pool_size=1)
        samples = []
        with Enclave(adapter=pool, tool_handler=handler, timeout=60_000) as enclave:
            for _ in range(runs):
                await ready(pool)
                await enclave.run("return 0")
                entered.clear()
                task = asyncio.create_task(enclave.run("return await callTool('slow', {})"))
                await asyncio.to_thread(entered.wait, 10)
                await asyncio.sleep(GAP_S)
                pid = _only_pid(pool)
                killed = time.perf_counter()
                os.kill(pid, signal.SIGKILL)
                result = await task
                samples.append((time.perf_counter() - killed) * 1000)
                assert result.error is not None and result.error.name == "WorkerCrashedError", result.error
                hold.set()  # let go of the sync tool's thread
                hold.clear()
            stats = pool.stats()
        p50, p99 = p50_p99(samples)
        report[kind] = {"p50_ms": p50, "p99_ms": p99, "runs": runs, "crashes": stats.crashes}
        print(f"{kind:<8} {p50:>8.1f} {p99:>8.1f}")
    return report


def _only_pid(pool: WorkerPoolAdapter) -> int:
    [pid] = pool.worker_pids()
    return pid


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=30)
    parser.add_argument("--json", default="bench/results/deadline.json")
    parser.add_argument("--adapter", action="append", default=[], help="inprocess, pool or double_vm (repeatable)")
    args = parser.parse_args()
    report: dict[str, Any] = {"timeout_ms": TIMEOUT_MS}
    if not args.adapter or "pool" in args.adapter:  # first: nothing given up on is still computing
        report["death_notice"] = await death_notice(args.runs)
    report["overrun"] = await deadline_table(args.runs, args.adapter)
    write_report(report, args.json)


if __name__ == "__main__":
    asyncio.run(main())
