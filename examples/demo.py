"""The main job in one screen: an LLM-style script orchestrates two Python tools inside the sandbox,
then an attack is stopped with its error code.

    make demo
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

from enclave_vm import Enclave

ORDERS = [
    {"id": 1, "customer": "ada", "total": 120.0, "status": "paid"},
    {"id": 2, "customer": "bob", "total": 35.5, "status": "refunded"},
    {"id": 3, "customer": "ada", "total": 80.0, "status": "paid"},
    {"id": 4, "customer": "cy", "total": 210.0, "status": "paid"},
]


async def tools(name: str, args: dict[str, Any], context: dict[str, Any] | None) -> Any:
    print(f"  [host] tool call {name} {json.dumps(args)}")
    if name == "orders:list":
        return [o for o in ORDERS if o["status"] == args.get("status", o["status"])]
    if name == "customers:get":
        return {"id": args["id"], "tier": "gold" if args["id"] == "ada" else "standard"}
    raise KeyError(f"Unknown tool: {name}")


SCRIPT = """
const orders = await callTool('orders:list', { status: 'paid' });
const byCustomer = {};
for (const o of orders) { byCustomer[o.customer] = (byCustomer[o.customer] || 0) + o.total; }
const top = Object.entries(byCustomer).sort((a, b) => b[1] - a[1])[0];
const customer = await callTool('customers:get', { id: top[0] });
console.log('top customer', top[0], 'spent', top[1]);
return { customer: top[0], spent: top[1], tier: customer.tier };
"""

ATTACKS = {
    "constructor escape": "const F = (() => {}).constructor; return F('return process')();",
    "endless loop": "let n = 0; for (let i = 0; i >= 0; i++) { n++ } return n;",
}


async def main() -> None:
    async with Enclave(tool_handler=tools, security_level="STANDARD", timeout=2000) as enclave:
        print("== an orchestration script ==")
        result = await enclave.run(SCRIPT)
        print("  value :", result.value)
        print("  stdout:", result.stdout.strip())
        stats = result.stats
        print(f"  stats : {stats.duration:.2f} ms, {stats.tool_call_count} tool calls, "
              f"{stats.iteration_count} loop iterations")  # fmt: skip
        for label, attack in ATTACKS.items():
            print(f"\n== an attack: {label} ==")
            blocked = await enclave.run(attack)
            assert blocked.error is not None
            print(f"  blocked: {blocked.error.code} - {blocked.error.message}")


if __name__ == "__main__":
    asyncio.run(main())
