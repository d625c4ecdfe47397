"""The reference sidecar on its own workload: one tool returns ~10 MB of rows, the script hands them to a
second tool. Without the sidecar the rows enter the engine (parsed into the JS heap, stringified back out);
with it the script only holds a reference and the rows stay in the host. Baseline = no sidecar, same run.

    .venv/bin/python bench/sidecar.py [--runs N] [--mb 10] [--redis-url URL] [--json PATH]

Without --redis-url a throwaway redis-server is started (if installed) for the Redis row.
Prints a table and writes JSON: p50/p95 ms (default in-process adapter); "heap peak" = `stats.memory_usage`
of one more run under a bench adapter that reads the engine heap after every step; "heap end" =
`stats.memory_usage` as the default adapter reports it (read when the run ends, after the script dropped
its data); speed-up and memory (peak) as ratios to the baseline.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import shutil
import sys
import time
from contextlib import ExitStack
from pathlib import Path
from typing import Any

from enclave_vm import Enclave
from enclave_vm.bridge.dispatch import ToolDispatcher
from enclave_vm.bridge.driver import drive
from enclave_vm.bridge.protocol import RunOutcome, StartRequest, Step, ToolResult
from enclave_vm.engine.session import QuickJsSession
from latency import ROWS, percentiles, write_report

HEAP = 512 << 20
HANDOFF = "const rows = await callTool('rows:export', {}); return await callTool('rows:import', { rows });"


def make_rows(megabytes: int) -> list[dict[str, Any]]:
    """The latency bench's user rows, repeated with fresh ids until the JSON is about `megabytes` MB."""

    def row(i: int) -> dict[str, Any]:
        return {**ROWS[i % len(ROWS)], "id": i, "name": f"user{i}", "email": f"u{i}@example.com"}

    per_row = len(json.dumps(row(100_000), separators=(",", ":"))) + 1
    return [row(i) for i in range(megabytes * 1_000_000 // per_row)]


def handler_for(rows: list[dict[str, Any]]) -> Any:
    def tool(name: str, args: dict[str, Any], context: dict[str, Any] | None) -> Any:
        if name == "rows:export":
            return rows
        imported = args["rows"]
        return {"imported": len(imported), "last": imported[-1]["id"]}

    return tool


class _PeakSession(QuickJsSession):
    """Reads the engine heap after every step (not only at the end), so the peak includes data the script
    held while it awaited a tool. Walking the heap costs time, so this is used for the memory pass only."""

    peak = 0

    def start(self) -> Step:
        return self._sample(super().start())

    def settle(self, results: list[ToolResult]) -> Step:
        return self._sample(super().settle(results))

    def _sample(self, step: Step) -> Step:
        self.peak = max(self.peak, self.memory_usage() or 0)
        return step


class PeakMemoryAdapter:
    """An in-process adapter (one thread per run) reporting the sampled peak heap in `stats.memory_usage`."""

    async def execute(self, request: StartRequest, tools: ToolDispatcher) -> RunOutcome:
        def run() -> RunOutcome:
            session = _PeakSession(request)
            try:
                outcome = drive(session, request, tools)
            finally:
                session.close()
            outcome.memory_usage = max(outcome.memory_usage or 0, session.peak)
            return outcome

        return await asyncio.to_thread(run)

    def dispose(self) -> None:
        pass


async def measure(enclave: Enclave, runs: int) -> tuple[list[float], int]:
    peak = 0
    samples = []
    for index in range(runs + 2):
        start = time.perf_counter()
        result = await enclave.run(HANDOFF)
        elapsed = (time.perf_counter() - start) * 1000
        assert result.success, result.error
        peak = max(peak, result.stats.memory_usage or 0)
        if index >= 2:  # two warm-up runs
            samples.append(elapsed)
    return samples, peak


def redis_url(stack: ExitStack, given: str | None) -> str | None:
    if given:
        return given
    if shutil.which("redis-server") is None:
        return None
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
    from redis_server import RedisServer

    return stack.enter_context(RedisServer.start()).url


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=15)
    parser.add_argument("--mb", type=int, default=10)
    parser.add_argument("--redis-url", default=None)
    parser.add_argument("--json", default="bench/results/sidecar.json")
    args = parser.parse_args()
    rows = make_rows(args.mb)
    size = len(json.dumps(rows, separators=(",", ":")))
    tool = handler_for(rows)
    report: dict[str, Any] = {"runs": args.runs, "payload_bytes": size, "modes": {}}
    with ExitStack() as stack:
        url = redis_url(stack, args.redis_url)
        modes: dict[str, dict[str, Any] | None] = {"inline (no sidecar)": None, "sidecar memory": {"enabled": True}}
        if url is not None:
            modes["sidecar redis"] = {"enabled": True, "storage": "redis", "redis_url": url}
        print(f"payload: {len(rows)} rows, {size / 1e6:.1f} MB of JSON; {args.runs} runs per mode")
        print(
            f"{'mode':<20} {'p50 ms':>9} {'p95 ms':>9} {'heap peak':>12} {'heap end':>11} {'speed-up':>9} {'memory':>8}"
        )
        base_p50 = base_peak = 0.0
        for name, options in modes.items():
            # The same generous heap for every mode, so the baseline can hold the rows at all.
            settings: dict[str, Any] = {"tool_handler": tool, "sidecar": options, "timeout": 120_000,
                                        "memory_limit": HEAP}  # fmt: skip
            with Enclave(**settings) as enclave:
                samples, end_heap = await measure(enclave, args.runs)
            with Enclave(adapter=PeakMemoryAdapter(), **settings) as enclave:
                sampled = await enclave.run(HANDOFF)
            assert sampled.success, sampled.error
            peak = sampled.stats.memory_usage or 0
            p50, p95 = percentiles(samples)
            if options is None:
                base_p50, base_peak = p50, float(peak)
            speedup, memory = base_p50 / p50, peak / base_peak
            report["modes"][name] = {"p50_ms": p50, "p95_ms": p95, "engine_peak_bytes": peak,
                                     "engine_end_bytes": end_heap, "speedup_vs_inline": speedup,
                                     "memory_vs_inline": memory}  # fmt: skip
            print(
                f"{name:<20} {p50:>9.1f} {p95:>9.1f} {peak / 1e6:>10.2f}MB {end_heap / 1e6:>9.2f}MB"
                f" {speedup:>8.1f}x {memory:>7.1%}"
            )
    write_report(report, args.json)


if __name__ == "__main__":
    asyncio.run(main())
