"""One agent session served by two host "processes" (two Enclaves here) that share large tool results
through Redis: the first turn exports ~5 MB, the script only ever holds a small reference, the second
turn (on the other Enclave) hands that reference to another tool, and a third Enclave in another
namespace is refused.

    REDIS_URL=redis://127.0.0.1:6379/0 .venv/bin/python examples/sidecar_redis.py

Starts nothing itself: it needs a running Redis at REDIS_URL (default redis://127.0.0.1:6379/0).
"""

from __future__ import annotations

import asyncio
import json
import os
import secrets
from typing import Any

from enclave_vm import Enclave, SidecarOptions

REDIS_URL = os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0")
EVENTS = [{"id": i, "kind": ("click", "view", "buy")[i % 3], "user": f"u{i % 997}"} for i in range(100_000)]


async def tools(name: str, args: dict[str, Any], context: dict[str, Any] | None) -> Any:
    if name == "events:export":
        return EVENTS
    if name == "events:count":
        events = args["events"]  # the stored data, resolved before this handler runs
        counts: dict[str, int] = {}
        for event in events:
            counts[event["kind"]] = counts.get(event["kind"], 0) + 1
        return counts
    raise KeyError(f"Unknown tool: {name}")


async def main() -> None:
    session = "agent-session-" + secrets.token_hex(4)
    options = SidecarOptions(
        enabled=True, storage="redis", redis_url=REDIS_URL, namespace=session, ttl=60_000, resolve_value=False
    )
    print(f"Redis at {REDIS_URL}, namespace {session}, {len(json.dumps(EVENTS)) / 1e6:.1f} MB of events")

    with Enclave(tool_handler=tools, sidecar=options, memory_limit=8 * 1024 * 1024) as host_a:
        turn1 = await host_a.run("const events = await callTool('events:export', {}); return events")
    if not turn1.success:
        raise SystemExit(f"turn 1 failed: {turn1.error}")
    ref = turn1.value
    print(f"turn 1 (host A): the script returned a reference: {json.dumps(ref)}")

    with Enclave(tool_handler=tools, sidecar=options) as host_b:
        turn2 = await host_b.run(f"return await callTool('events:count', {{ events: {json.dumps(ref)} }})")
    print(f"turn 2 (host B, same namespace): {turn2.value if turn2.success else turn2.error}")

    stranger = SidecarOptions(enabled=True, storage="redis", redis_url=REDIS_URL, namespace="someone-else")
    with Enclave(tool_handler=tools, sidecar=stranger) as host_c:
        turn3 = await host_c.run(f"return await callTool('events:count', {{ events: {json.dumps(ref)} }})")
    print(f"turn 3 (another namespace): {turn3.error.code if turn3.error else turn3.value}")


if __name__ == "__main__":
    asyncio.run(main())
