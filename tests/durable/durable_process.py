"""One step of a durable run in a process of its own (run by test_durable_processes.py):

    python durable_process.py REDIS_URL start|resume|uninterrupted [TOKEN VALUE_JSON]

Prints one JSON line: {"token": ..., "tool": ...} when the run paused, {"value": ...} when it ended.
Every tool call is counted in Redis (`count:<name>`), so the test can see that each ran exactly once.
"""

from __future__ import annotations

import json
import sys
from typing import Any

import redis

from enclave_vm import DurableOptions, Enclave, Suspend

SCRIPT = """
const order = await callTool('create_order', { item: 'book', qty: 2 });
const approval = await callTool('approve', { order: order.id, total: order.total });
const charge = await callTool('charge', { order: order.id, amount: order.total });
const confirmation = await callTool('confirm', { charge: charge.id });
await callTool('notify', { order: order.id });
return { order, approval, charge, confirmation };
"""
HUMAN = {"approve": {"ok": True, "by": "ada"}, "confirm": {"confirmed": True}}


def main() -> None:
    url, action = sys.argv[1], sys.argv[2]
    client = redis.Redis.from_url(url)
    counts = "counts-uninterrupted" if action == "uninterrupted" else "counts"

    def tools(name: str, args: dict[str, Any], context: Any) -> Any:
        client.hincrby(counts, name, 1)
        if name in HUMAN:
            if action == "uninterrupted":
                return HUMAN[name]
            raise Suspend(f"{name} needs a human", {"args": args})
        return {"create_order": {"id": 42, "total": 30}, "charge": {"id": "ch_1"}, "notify": None}[name]

    durable = DurableOptions(storage="redis", redis_url=url, namespace="durable-test", secret="shared secret")
    with Enclave(tool_handler=tools, durable=durable) as enclave:
        if action == "resume":
            try:
                result = enclave.resume_sync(sys.argv[3], json.loads(sys.argv[4]))
            except LookupError as exc:
                print(json.dumps({"lookup": str(exc)}))
                return
        else:
            result = enclave.run_sync(SCRIPT)
    if result.suspended is not None:
        print(json.dumps({"token": result.suspended.token, "tool": result.suspended.tool}))
    elif result.success:
        print(json.dumps({"value": result.value}))
    else:
        assert result.error is not None
        print(json.dumps({"error": result.error.code, "message": result.error.message}))


if __name__ == "__main__":
    main()
