"""The HTTP service against the in-process `Enclave`, measured in the same run: the same runs, the same
concurrency, through `RemoteEnclave` to a real `enclave-vm serve` process on 127.0.0.1 (started here,
with bench/latency.py's tools), and directly on an `Enclave` in this process (the baseline).

For each workload of bench/latency.py (a-c): runs/s, p50 and p99 of a run as its caller sees it (queueing
behind the other runs in flight included), and the service's ratios to the baseline.

    .venv/bin/python bench/service.py [--runs N] [--concurrency C] [--json PATH]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import re
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import httpx

from enclave_vm import Enclave, ExecutionResult, RemoteEnclave
from latency import WORKLOADS, tool, write_report

BENCH = Path(__file__).resolve().parent
ENTRY = Path(sys.executable).with_name("enclave-vm")
SELECTED = ("a_return", "b_one_tool_summary", "c_ten_sequential_tools")
WARM_UP = 100
START_TIMEOUT_S = 60.0


class Service:
    """`enclave-vm serve` on a free port of 127.0.0.1, stopped (SIGTERM) on close."""

    def __init__(self, max_concurrency: int) -> None:
        command = [str(ENTRY), "serve", "--tools", f"{BENCH / 'latency.py'}:tool", "--port", "0",
                   "--max-concurrency", str(max_concurrency), "--shutdown-grace", "5"]  # fmt: skip
        self.process = subprocess.Popen(command, stderr=subprocess.PIPE, text=True)
        self.url = self._url()
        # The access log (one line per request) is read and dropped, so that the pipe never fills.
        threading.Thread(target=self._drain, daemon=True).start()
        self._wait_healthy()

    def _url(self) -> str:
        assert self.process.stderr is not None
        for line in self.process.stderr:
            if match := re.search(r"serving on (http://127\.0\.0\.1:\d+)", line):
                return match.group(1)
        raise RuntimeError(f"enclave-vm serve did not start (exit code {self.process.wait()})")

    def _drain(self) -> None:
        assert self.process.stderr is not None
        for _ in self.process.stderr:
            pass

    def _wait_healthy(self) -> None:
        deadline = time.monotonic() + START_TIMEOUT_S
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"{self.url}/healthz").status_code == 200:
                    return
            except httpx.TransportError:
                pass
            time.sleep(0.05)
        raise RuntimeError("enclave-vm serve did not become healthy")

    def cpu_seconds(self) -> float:
        """User + system CPU time of the service process so far."""
        fields = Path(f"/proc/{self.process.pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def close(self) -> None:
        self.process.send_signal(signal.SIGTERM)
        self.process.wait(30)


def percentile(ordered: list[float], fraction: float) -> float:
    return ordered[min(len(ordered) - 1, int(len(ordered) * fraction))]


Run = Callable[[str], Awaitable[ExecutionResult]]


async def measure(run: Run, code: str, runs: int, concurrency: int) -> dict[str, float]:
    """`runs` runs of `code`, `concurrency` in flight: runs/s, p50 and p99 in ms."""
    gate = asyncio.Semaphore(concurrency)
    latencies: list[float] = []

    async def one() -> None:
        async with gate:
            started = time.perf_counter()
            result = await run(code)
            latencies.append((time.perf_counter() - started) * 1000)
            assert result.success, result.error

    await asyncio.gather(*(one() for _ in range(WARM_UP)))
    latencies.clear()
    started = time.perf_counter()
    await asyncio.gather(*(one() for _ in range(runs)))
    elapsed = time.perf_counter() - started
    ordered = sorted(latencies)
    return {"runs_per_s": runs / elapsed, "p50_ms": percentile(ordered, 0.5), "p99_ms": percentile(ordered, 0.99)}


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=2000)
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--json", default="bench/results/service.json")
    args = parser.parse_args()
    report: dict[str, Any] = {"runs": args.runs, "concurrency": args.concurrency, "cpus": os.cpu_count(),
                              "workloads": {}}  # fmt: skip
    service = Service(max_concurrency=args.concurrency)
    enclave = Enclave(tool_handler=tool)
    try:
        async with RemoteEnclave(service.url) as remote:
            print(f"{args.runs} runs per workload, {args.concurrency} in flight; service: {service.url}\n")
            print(f"{'workload':<24} {'':<10} {'runs/s':>8} {'p50 ms':>8} {'p99 ms':>8}")
            for name in SELECTED:
                code = WORKLOADS[name][0]
                client_before = time.process_time()
                baseline = await measure(enclave.run, code, args.runs, args.concurrency)
                per_run = 1000 / (args.runs + WARM_UP)
                baseline["cpu_ms_per_run"] = (time.process_time() - client_before) * per_run
                cpu_before, client_before = service.cpu_seconds(), time.process_time()
                served = await measure(remote.run, code, args.runs, args.concurrency)
                served["service_cpu_ms_per_run"] = (service.cpu_seconds() - cpu_before) * per_run
                served["client_cpu_ms_per_run"] = (time.process_time() - client_before) * per_run
                ratios = {
                    "throughput": served["runs_per_s"] / baseline["runs_per_s"],
                    "p50": served["p50_ms"] / baseline["p50_ms"],
                    "p99": served["p99_ms"] / baseline["p99_ms"],
                }
                report["workloads"][name] = {"inprocess": baseline, "service": served, "ratio": ratios}
                print(f"{name:<24} {'in-process':<10} {baseline['runs_per_s']:>8,.0f} {baseline['p50_ms']:>8.2f} "
                      f"{baseline['p99_ms']:>8.2f}   CPU/run {baseline['cpu_ms_per_run']:.2f} ms")  # fmt: skip
                print(f"{'':<24} {'service':<10} {served['runs_per_s']:>8,.0f} {served['p50_ms']:>8.2f} "
                      f"{served['p99_ms']:>8.2f}   CPU/run {served['service_cpu_ms_per_run']:.2f} ms in the service, "
                      f"{served['client_cpu_ms_per_run']:.2f} ms in the client")  # fmt: skip
                print(f"{'':<24} {'ratio':<10} {ratios['throughput']:>7.2f}x {ratios['p50']:>7.1f}x "
                      f"{ratios['p99']:>7.1f}x")  # fmt: skip
    finally:
        enclave.dispose()
        service.close()
    write_report(report, args.json)


if __name__ == "__main__":
    asyncio.run(main())
