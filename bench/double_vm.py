"""The double-VM adapter (QuickJS-NG in WebAssembly) against the in-process adapter, in the same run:

1. latency: p50/p95 of the four workloads of bench/latency.py, back to back and with 5 ms idle before
   each run (as between agent turns), in alternating blocks of the two adapters; goal: double-VM
   p50 <= 3 ms for (a)-(c);
2. instance warm-up: what preparing the next instance costs (done in the background after each run);
3. cold start: a fresh process that imports enclave_vm, creates the adapter and runs `return 1 + 2`,
   once with the compiled module in the cache and once with an empty cache (the first start on a machine).

    .venv/bin/python bench/double_vm.py [--runs N] [--json PATH]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from enclave_vm import Enclave, create_double_vm_adapter
from enclave_vm.engine.wasm_module import get_runtime
from enclave_vm.engine.wasm_session import WarmWasmContext
from latency import WORKLOADS, percentiles, timed_run, tool, write_report

GOAL_P50_MS = 3.0
GOAL_WORKLOADS = ("a_return", "b_one_tool_summary", "c_ten_sequential_tools")
GAP_S = 0.005
BLOCK = 20
COLD_START = """
import time
started = time.perf_counter()
from enclave_vm import Enclave, create_double_vm_adapter
from enclave_vm.engine.wasm_module import get_runtime
from enclave_vm.engine.wasm_session import WarmWasmContext
imported = time.perf_counter()
adapter = create_double_vm_adapter()
created = time.perf_counter()
with Enclave(adapter=adapter) as enclave:
    result = enclave.run_sync("return 1 + 2")
done = time.perf_counter()
assert result.value == 3, result.error
print(imported - started, created - imported, done - created, done - started)
"""


async def latency(inprocess: Enclave, double_vm: Enclave, runs: int) -> dict[str, Any]:
    """Each workload back to back and with GAP_S idle before each run (as between agent turns), in blocks
    of BLOCK runs alternating between the adapters so that load on the machine hits both alike."""
    report: dict[str, Any] = {}
    print(f"{'workload':<24} {'mode':<13} {'inproc p50':>10} {'dvm p50':>8} {'dvm p95':>8} {'ratio':>7} {'goal':>8}")
    for name, (code, _) in WORKLOADS.items():
        assert (await inprocess.run(code)).value == (await double_vm.run(code)).value
        report[name] = {}
        for mode, gap_s in (("back_to_back", 0.0), ("apart", GAP_S)):
            for enclave in (inprocess, double_vm):
                for _ in range(max(5, runs // 10)):
                    await timed_run(enclave, code, gap_s)
            ours: list[float] = []
            theirs: list[float] = []
            while len(ours) < runs:
                theirs.extend([await timed_run(inprocess, code, gap_s) for _ in range(BLOCK)])
                ours.extend([await timed_run(double_vm, code, gap_s) for _ in range(BLOCK)])
            base50, _ = percentiles(theirs)
            p50, p95 = percentiles(ours)
            goal = f"<={GOAL_P50_MS:.0f} ms" if name in GOAL_WORKLOADS else "-"
            report[name][mode] = {"inprocess_p50_ms": base50, "p50_ms": p50, "p95_ms": p95, "ratio": p50 / base50}
            print(f"{name:<24} {mode:<13} {base50:>10.3f} {p50:>8.3f} {p95:>8.3f} {p50 / base50:>6.1f}x {goal:>8}")
    return report


def warm_up(runs: int = 100) -> dict[str, float]:
    """p50 (ms) of preparing one instance for a run, as an engine thread does after each run."""
    runtime = get_runtime()
    samples = []
    for _ in range(runs):
        start = time.perf_counter()
        WarmWasmContext(runtime)
        samples.append((time.perf_counter() - start) * 1000)
    p50, p95 = percentiles(samples)
    print(f"\ninstance warm-up (instantiate, QuickJS runtime and context, prelude from bytecode): p50 {p50:.3f} ms")
    return {"p50_ms": p50, "p95_ms": p95}


def cold_start(cache_dir: str | None) -> dict[str, float]:
    env = dict(os.environ)
    if cache_dir is not None:
        env["ENCLAVE_VM_CACHE_DIR"] = cache_dir
    done = subprocess.run(
        [sys.executable, "-c", COLD_START], capture_output=True, text=True, env=env, check=True, timeout=300
    )
    imported, created, first_run, total = (float(x) * 1000 for x in done.stdout.split())
    return {"import_ms": imported, "create_adapter_ms": created, "first_run_ms": first_run, "total_ms": total}


def cold_starts() -> dict[str, dict[str, float]]:
    with tempfile.TemporaryDirectory() as empty:
        uncached = cold_start(empty)  # compiles the module and fills this cache
        cached = cold_start(empty)
    print(f"\n{'cold start (fresh process)':<28} {'import':>8} {'adapter':>9} {'1st run':>8} {'total':>8}")
    for label, row in (("compiled module cached", cached), ("empty cache (compiles)", uncached)):
        print(
            f"{label:<28} {row['import_ms']:>6.0f}ms {row['create_adapter_ms']:>7.0f}ms"
            f" {row['first_run_ms']:>6.1f}ms {row['total_ms']:>6.0f}ms"
        )
    return {"cached": cached, "uncached": uncached}


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=300)
    parser.add_argument("--json", default="bench/results/double_vm.json")
    args = parser.parse_args()
    inprocess = Enclave(security_level="STANDARD", tool_handler=tool, max_iterations=200_000)
    double_vm = Enclave(
        security_level="STANDARD", tool_handler=tool, max_iterations=200_000, adapter=create_double_vm_adapter()
    )
    report: dict[str, Any] = {"runs": args.runs, "goal_p50_ms": GOAL_P50_MS}
    report["latency"] = await latency(inprocess, double_vm, args.runs)
    report["warm_up"] = warm_up()
    inprocess.dispose()
    double_vm.dispose()
    report["cold_start"] = cold_starts()
    write_report(report, args.json)


if __name__ == "__main__":
    asyncio.run(main())
