"""Is the code the truth every time? Runs scripts whose outcome used to vary from run to run and tallies
the codes per adapter.

    .venv/bin/python bench/outcomes.py [--runs N] [--adapters inprocess,pool,double-vm] [--json PATH]

- `spin` and `then-chain` (endless microtask chains), 512 MiB heap, 300 ms timeout: expect TIMEOUT;
- `spin` under an 8 MiB heap, 20 s timeout (its promise chain keeps growing): expect MEMORY_LIMIT_EXCEEDED.
Prints one row per (adapter, case) with the tally and whether all N runs gave the expected code, and
writes JSON. Run it while another process keeps a core busy (`yes > /dev/null &`) to see it under load.
"""

from __future__ import annotations

import argparse
import asyncio
import collections
from typing import Any

from enclave_vm import Enclave, create_double_vm_adapter, create_worker_pool_adapter
from latency import write_report

SPIN = "const spin = async () => { await null; return spin(); }; await spin();"
THEN_CHAIN = "const next = async () => 1; const loop = () => next().then(loop); await loop();"
CASES = [
    ("spin", SPIN, {"timeout": 300, "memory_limit": 512 << 20}, "TIMEOUT"),
    ("then-chain", THEN_CHAIN, {"timeout": 300, "memory_limit": 512 << 20}, "TIMEOUT"),
    ("spin-8MiB", SPIN, {"timeout": 20_000, "memory_limit": 8 << 20}, "MEMORY_LIMIT_EXCEEDED"),
]
ADAPTERS: dict[str, Any] = {
    "inprocess": lambda: None,
    "pool": lambda: create_worker_pool_adapter(pool_size=2),
    "double-vm": lambda: create_double_vm_adapter(),
}


class Shared:
    """One adapter for the Enclaves of every case: their dispose() leaves it running."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner

    async def execute(self, request: Any, tools: Any) -> Any:
        return await self.inner.execute(request, tools)

    def dispose(self) -> None:
        pass


async def tally(adapter_name: str, runs: int) -> list[dict[str, Any]]:
    inner = ADAPTERS[adapter_name]()
    adapter = Shared(inner) if inner is not None else None
    rows = []
    try:
        for case, code, options, expected in CASES:
            counts: collections.Counter[str] = collections.Counter()
            with Enclave(adapter=adapter, **options) as enclave:
                for _ in range(runs):
                    result = await enclave.run(code)
                    label = "ok" if result.error is None else f"{result.error.code}/{result.error.name}"
                    counts[label] += 1
            ok = sum(v for k, v in counts.items() if k.startswith(expected + "/"))
            rows.append({"adapter": adapter_name, "case": case, "expected": expected, "runs": runs,
                         "as_expected": ok, "tally": dict(counts)})  # fmt: skip
    finally:
        if inner is not None:
            inner.dispose()
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=100)
    parser.add_argument("--adapters", default="inprocess,pool,double-vm")
    parser.add_argument("--json", default="bench/results/outcomes.json")
    args = parser.parse_args()
    rows: list[dict[str, Any]] = []
    for name in args.adapters.split(","):
        rows.extend(asyncio.run(tally(name, args.runs)))
    print(f"{'adapter':<10} {'case':<11} {'expected':<22} {'as expected':>12}  tally")
    for row in rows:
        print(f"{row['adapter']:<10} {row['case']:<11} {row['expected']:<22} "
              f"{row['as_expected']:>5}/{row['runs']:<6} {row['tally']}")  # fmt: skip
    write_report({"rows": rows}, args.json)


if __name__ == "__main__":
    main()
