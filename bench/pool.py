"""The worker-pool adapter against the in-process adapter, measured in the same run:

1. latency: p50/p95 of the four workloads of bench/latency.py, samples interleaved (one in-process run,
   one pool run, ..., with a 5 ms pause before each) so that load on the machine hits both alike; goal:
   p50 at most +0.15 ms over in-process for (a)-(c);
   Also the floor of any exchange with a worker: a one-byte pipe round trip to another Python process;
2. throughput: 2 000 `return 1 + 2` runs with 64 in flight on pool_size=2; goal >= 3 000 runs/s; with the
   CPU time per run spent in the host and in the workers;
3. parallelism: four CPU-bound runs at once on pool_size=2 against the same four one after another;
   goal: at most 0.6x the serial time.

    .venv/bin/python bench/pool.py [--runs N] [--json PATH]
"""

from __future__ import annotations

import argparse
import asyncio
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import psutil

from enclave_vm import Enclave, create_worker_pool_adapter
from latency import WORKLOADS, percentiles, timed_run, tool, write_report

LATENCY_GOAL_MS = 0.15
# Both adapters prepare the next engine context in the background right after a run; a short pause before
# each sample lets that finish, so a sample measures an adapter that is ready (not the other one's clean-up).
GAP_S = 0.005
THROUGHPUT_RUNS = 2000
THROUGHPUT_IN_FLIGHT = 64
THROUGHPUT_GOAL = 3000.0
PARALLEL_RUNS = 4
PARALLEL_GOAL = 0.6
CPU_BOUND = "let s = 0;\nfor (let i = 0; i < 3000000; i++) { s += i % 7; }\nreturn s;"


async def latency(inprocess: Enclave, pool: Enclave, runs: int) -> dict[str, Any]:
    report: dict[str, Any] = {}
    print(f"{'workload':<24} {'inproc p50':>10} {'pool p50':>9} {'pool p95':>9} {'diff ms':>8} {'goal':>7}")
    for name, (code, _) in WORKLOADS.items():
        for _ in range(max(10, runs // 10)):
            await timed_run(inprocess, code, GAP_S)
            await timed_run(pool, code, GAP_S)
        ours: list[float] = []
        theirs: list[float] = []
        for _ in range(runs):
            theirs.append(await timed_run(inprocess, code, GAP_S))
            ours.append(await timed_run(pool, code, GAP_S))
        base50, base95 = percentiles(theirs)
        p50, p95 = percentiles(ours)
        goal = LATENCY_GOAL_MS if name != "d_loop_100k" else None
        report[name] = {"inprocess_p50_ms": base50, "inprocess_p95_ms": base95, "pool_p50_ms": p50,
                        "pool_p95_ms": p95, "diff_p50_ms": p50 - base50, "goal_diff_ms": goal}  # fmt: skip
        shown = f"+{goal:.2f}" if goal is not None else "-"
        print(f"{name:<24} {base50:>10.3f} {p50:>9.3f} {p95:>9.3f} {p50 - base50:>+8.3f} {shown:>7}")
    return report


async def throughput(
    enclave: Enclave, worker_pids: Callable[[], list[int]] | None = None
) -> tuple[float, dict[str, float]]:
    """Runs per second, and the CPU time per run spent in this process and (for a pool) in its workers."""
    gate = asyncio.Semaphore(THROUGHPUT_IN_FLIGHT)

    async def one() -> None:
        async with gate:
            result = await enclave.run("return 1 + 2")
            assert result.value == 3, result.error

    await asyncio.gather(*(one() for _ in range(200)))  # warm-up: every worker started
    host = psutil.Process()
    workers = [psutil.Process(pid) for pid in (worker_pids() if worker_pids else [])]  # all started by now
    cpu_before = [sum(p.cpu_times()[:2]) for p in [host, *workers]]
    start = time.perf_counter()
    await asyncio.gather(*(one() for _ in range(THROUGHPUT_RUNS)))
    rate = THROUGHPUT_RUNS / (time.perf_counter() - start)
    cpu = [sum(p.cpu_times()[:2]) - before for p, before in zip([host, *workers], cpu_before, strict=True)]
    per_run = {"host_cpu_ms": cpu[0] * 1000 / THROUGHPUT_RUNS, "workers_cpu_ms": sum(cpu[1:]) * 1000 / THROUGHPUT_RUNS}
    return rate, per_run


def pipe_round_trip_floor(runs: int) -> float:
    """p50 (ms) of a one-byte round trip to another Python process over pipes, 5 ms apart: what any
    exchange with a worker costs at least on this machine."""
    echo = "import os\nwhile True:\n    b = os.read(0, 1)\n    if not b: break\n    os.write(1, b)\n"
    child = subprocess.Popen([sys.executable, "-c", echo], stdin=subprocess.PIPE, stdout=subprocess.PIPE, bufsize=0)
    assert child.stdin is not None and child.stdout is not None
    samples = []
    try:
        for _ in range(runs):
            time.sleep(GAP_S)
            start = time.perf_counter()
            child.stdin.write(b"x")
            child.stdout.read(1)
            samples.append((time.perf_counter() - start) * 1000)
    finally:
        child.stdin.close()
        child.wait()
    return percentiles(samples)[0]


async def parallelism(enclave: Enclave) -> tuple[float, float]:
    await asyncio.gather(*(enclave.run(CPU_BOUND) for _ in range(PARALLEL_RUNS)))  # warm-up
    start = time.perf_counter()
    for _ in range(PARALLEL_RUNS):
        await timed_run(enclave, CPU_BOUND, GAP_S)
    serial = time.perf_counter() - start
    start = time.perf_counter()
    results = await asyncio.gather(*(enclave.run(CPU_BOUND) for _ in range(PARALLEL_RUNS)))
    concurrent = time.perf_counter() - start
    assert all(r.success for r in results)
    return serial, concurrent


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=300)
    parser.add_argument("--json", default="bench/results/pool.json")
    args = parser.parse_args()
    options: dict[str, Any] = {"security_level": "STANDARD", "tool_handler": tool, "max_iterations": 10_000_000}
    adapter = create_worker_pool_adapter(pool_size=2)
    inprocess = Enclave(**options)
    pool = Enclave(adapter=adapter, **options)
    report: dict[str, Any] = {"runs": args.runs, "latency": await latency(inprocess, pool, args.runs)}

    floor = pipe_round_trip_floor(args.runs)
    report["pipe_round_trip_p50_ms"] = floor
    print(f"\nfloor: a one-byte pipe round trip to another Python process, 5 ms apart: p50 {floor:.3f} ms")

    try:
        base_rate: float | None = (await throughput(inprocess))[0]
    except Exception as exc:  # the baseline is for reference only; the goal is absolute
        print(f"in-process throughput baseline failed: {type(exc).__name__}: {exc}")
        base_rate = None
    rate, cpu = await throughput(pool, adapter.worker_pids)
    report["throughput"] = {"inprocess_runs_per_s": base_rate, "pool_runs_per_s": rate,
                            "goal_runs_per_s": THROUGHPUT_GOAL, "runs": THROUGHPUT_RUNS,
                            "in_flight": THROUGHPUT_IN_FLIGHT, "pool_size": 2, **cpu}  # fmt: skip
    print(f"\nthroughput ({THROUGHPUT_RUNS} runs, {THROUGHPUT_IN_FLIGHT} in flight, pool_size=2): "
          f"pool {rate:,.0f} runs/s (goal >= {THROUGHPUT_GOAL:,.0f}); in-process "
          f"{'n/a' if base_rate is None else f'{base_rate:,.0f}'} runs/s")  # fmt: skip
    host_ms, workers_ms = cpu["host_cpu_ms"], cpu["workers_cpu_ms"]
    print(f"CPU per pool run: {host_ms:.3f} ms in this process, {workers_ms:.3f} ms in the workers")

    serial, concurrent = await parallelism(pool)
    ratio = concurrent / serial
    report["parallelism"] = {
        "serial_s": serial,
        "concurrent_s": concurrent,
        "ratio": ratio,
        "goal_ratio": PARALLEL_GOAL,
    }
    print(f"parallelism ({PARALLEL_RUNS} CPU-bound runs, pool_size=2): serial {serial:.3f} s, concurrent "
          f"{concurrent:.3f} s, ratio {ratio:.2f}x (goal <= {PARALLEL_GOAL}x)")  # fmt: skip
    report["pool_stats"] = adapter.stats().__dict__
    inprocess.dispose()
    pool.dispose()
    write_report(report, args.json)


if __name__ == "__main__":
    asyncio.run(main())
