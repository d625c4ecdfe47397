"""A human approves a refund between two runs of the same script, and nothing happens twice.

    .venv/bin/python examples/approval.py

The `refund` tool pauses the run with `Suspend`; the host shows the pending request to a human (here,
an auto-approving stand-in) and resumes with the decision. On resume the script runs again from the
top, but `lookup_order` is answered from the run's journal: the order is looked up once, the money moves
once. With `DurableOptions(storage="redis", ...)` the resume can happen in another process.
"""

from __future__ import annotations

import asyncio
from typing import Any

from enclave_vm import Enclave, Suspend

SCRIPT = """
const order = await callTool('lookup_order', { id: 'A-17' });
console.log('order', order.id, 'total', order.total);
const decision = await callTool('refund', { order: order.id, amount: order.total });
if (!decision.approved) return { refunded: 0, reason: decision.reason };
await callTool('send_email', { to: order.email, text: 'Your refund of ' + order.total + ' is on its way' });
return { refunded: order.total };
"""

calls: list[str] = []


def tools(name: str, args: dict[str, Any], context: Any) -> Any:
    calls.append(name)
    if name == "lookup_order":
        return {"id": args["id"], "total": 42.5, "email": "ada@example.com"}
    if name == "refund":  # money moves only with a human's approval: the resume answers this call
        raise Suspend("refund needs approval", {"order": args["order"], "amount": args["amount"]})
    if name == "send_email":
        return {"sent": True}
    raise KeyError(name)


def ask_a_human(request: dict[str, Any]) -> bool:
    print(f"[human] approve refund of {request['amount']} for order {request['order']}? yes")
    return True


async def main() -> None:
    async with Enclave(tool_handler=tools, security_level="STANDARD") as enclave:
        result = await enclave.run(SCRIPT)
        while result.suspended is not None:  # a run may pause more than once
            pending = result.suspended
            print(f"[host] paused at {pending.tool}: {pending.reason}")
            yes = ask_a_human(pending.data or {})
            result = await enclave.resume(pending.token, {"approved": yes, "reason": "" if yes else "declined"})
        print("[host] result:", result.value, "| stdout:", result.stdout.strip())
        print("[host] tool calls:", calls)
    assert result.value == {"refunded": 42.5}
    assert calls == ["lookup_order", "refund", "send_email"]  # each tool ran once


if __name__ == "__main__":
    asyncio.run(main())
