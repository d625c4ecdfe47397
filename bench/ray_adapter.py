"""The Ray adapter against the worker pool, measured in the same run on a local Ray (loopback only):

1. latency: p50/p95 of the four workloads of bench/latency.py (a trivial return, one tool call and a
   summary, ten sequential tool calls, a 100k-iteration loop), samples interleaved (one pool run, one Ray
   run, ..., with a 5 ms pause before each) so that load on the machine hits both alike. Reported as the
   Ray adapter's extra milliseconds per run and its ratio to the pool;
   Also the floor of any exchange with an actor: a no-op actor method returning a few bytes (ray.get);
2. throughput: 1 000 `return 1 + 2` runs with 64 in flight, num_actors=2 against pool_size=2;
3. replacement: on num_actors=1, how long after a deadline kill the next run is answered (its new
   actor starts meanwhile).

    .venv/bin/python bench/ray_adapter.py [--runs N] [--json PATH]
"""

from __future__ import annotations

import argparse
import asyncio
import time
from typing import Any

import ray

from enclave_vm import Enclave, create_ray_adapter, create_worker_pool_adapter
from enclave_vm.adapters.ray import start_local_ray
from latency import WORKLOADS, percentiles, timed_run, tool, write_report

GAP_S = 0.005
THROUGHPUT_RUNS = 1000
THROUGHPUT_IN_FLIGHT = 64
SIZE = 2
#: Busy in a native operation well past a 200 ms deadline: its actor is killed.
STUCK = "const n = [6000000][0]; const s = 'ab'.repeat(n); return s.split('').join('-').length"
REPLACEMENTS = 3


class Echo:
    def answer(self, frame: bytes) -> bytes:
        return frame


def ray_round_trip_floor(runs: int) -> float:
    """p50 (ms) of a no-op actor call carrying a small frame, 5 ms apart: what any exchange with an actor
    costs at least here."""
    actor = ray.remote(Echo).remote()
    frame = b"\0\0\0\x10" + b'["slice",1,[],[]]'
    for _ in range(20):
        ray.get(actor.answer.remote(frame))
    samples = []
    for _ in range(runs):
        time.sleep(GAP_S)
        start = time.perf_counter()
        ray.get(actor.answer.remote(frame))
        samples.append((time.perf_counter() - start) * 1000)
    ray.kill(actor)
    return percentiles(samples)[0]


async def latency(pool: Enclave, on_ray: Enclave, runs: int) -> dict[str, Any]:
    report: dict[str, Any] = {}
    print(f"{'workload':<24} {'pool p50':>9} {'pool p95':>9} {'ray p50':>9} {'ray p95':>9} {'diff ms':>8} {'ratio':>6}")
    for name, (code, _) in WORKLOADS.items():
        for _ in range(max(10, runs // 10)):
            await timed_run(pool, code, GAP_S)
            await timed_run(on_ray, code, GAP_S)
        base: list[float] = []
        ours: list[float] = []
        for _ in range(runs):
            base.append(await timed_run(pool, code, GAP_S))
            ours.append(await timed_run(on_ray, code, GAP_S))
        base50, base95 = percentiles(base)
        p50, p95 = percentiles(ours)
        report[name] = {"pool_p50_ms": base50, "pool_p95_ms": base95, "ray_p50_ms": p50, "ray_p95_ms": p95,
                        "diff_p50_ms": p50 - base50, "ratio_p50": p50 / base50}  # fmt: skip
        print(f"{name:<24} {base50:>9.3f} {base95:>9.3f} {p50:>9.3f} {p95:>9.3f} {p50 - base50:>+8.3f} "
              f"{p50 / base50:>5.1f}x")  # fmt: skip
    return report


async def throughput(enclave: Enclave) -> float:
    gate = asyncio.Semaphore(THROUGHPUT_IN_FLIGHT)

    async def one() -> None:
        async with gate:
            result = await enclave.run("return 1 + 2")
            assert result.value == 3, result.error

    await asyncio.gather(*(one() for _ in range(100)))  # warm-up
    start = time.perf_counter()
    await asyncio.gather(*(one() for _ in range(THROUGHPUT_RUNS)))
    return THROUGHPUT_RUNS / (time.perf_counter() - start)


async def replacement(enclave: Enclave) -> list[float]:
    """Seconds from the end of a run whose actor was killed at its deadline to the next run's answer."""
    samples = []
    for _ in range(REPLACEMENTS):
        stuck = await enclave.run(STUCK, timeout=200)
        assert stuck.error is not None and stuck.error.code == "TIMEOUT", stuck.error
        start = time.perf_counter()
        assert (await enclave.run("return 1")).value == 1
        samples.append(time.perf_counter() - start)
    return samples


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=200)
    parser.add_argument("--json", default="bench/results/ray_adapter.json")
    args = parser.parse_args()
    started = time.perf_counter()
    start_local_ray(num_cpus=SIZE)
    init_s = time.perf_counter() - started
    print(f"local Ray started in {init_s:.2f} s")
    options: dict[str, Any] = {"security_level": "STANDARD", "tool_handler": tool, "max_iterations": 10_000_000}
    pool_adapter = create_worker_pool_adapter(pool_size=SIZE)
    ray_adapter = create_ray_adapter(SIZE)
    pool = Enclave(adapter=pool_adapter, **options)
    on_ray = Enclave(adapter=ray_adapter, **options)
    report: dict[str, Any] = {"runs": args.runs, "size": SIZE, "ray_init_s": init_s}
    report["latency"] = await latency(pool, on_ray, args.runs)

    floor = ray_round_trip_floor(args.runs)
    report["ray_round_trip_p50_ms"] = floor
    print(f"\nfloor: a no-op Ray actor call with a small frame, 5 ms apart: p50 {floor:.3f} ms")

    pool_rate = await throughput(pool)
    ray_rate = await throughput(on_ray)
    report["throughput"] = {"pool_runs_per_s": pool_rate, "ray_runs_per_s": ray_rate, "ratio": ray_rate / pool_rate,
                            "runs": THROUGHPUT_RUNS, "in_flight": THROUGHPUT_IN_FLIGHT}  # fmt: skip
    print(f"\nthroughput ({THROUGHPUT_RUNS} runs, {THROUGHPUT_IN_FLIGHT} in flight, {SIZE} workers/actors): "
          f"pool {pool_rate:,.0f} runs/s, Ray {ray_rate:,.0f} runs/s ({ray_rate / pool_rate:.2f}x)")  # fmt: skip

    single = create_ray_adapter(1)
    with Enclave(adapter=single, memory_limit=1 << 30, security_level="PERMISSIVE") as alone:
        assert (await alone.run("return 0")).value == 0
        after_kill = await replacement(alone)
    report["replacement_s"] = after_kill
    print(f"first run after a deadline kill (a new actor starts): {', '.join(f'{s:.2f}' for s in after_kill)} s")
    report["ray_stats"] = ray_adapter.stats().__dict__
    pool.dispose()
    on_ray.dispose()
    ray.shutdown()
    write_report(report, args.json)


if __name__ == "__main__":
    asyncio.run(main())
