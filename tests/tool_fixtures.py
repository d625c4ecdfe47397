"""Tool handlers shared by the core tests."""

from __future__ import annotations

import asyncio
from typing import Any

ROWS = [{"id": i, "name": f"user{i}", "active": i % 2 == 0} for i in range(10)]


def sync_tools(name: str, args: dict[str, Any], context: dict[str, Any] | None) -> Any:
    if name == "users:list":
        return ROWS[: args.get("limit", 10)]
    if name == "echo":
        return {"args": args, "context": context}
    if name == "fail":
        raise ValueError(args.get("message", "tool failed"))
    if name == "big":
        return "x" * args["size"]
    if name == "weird":
        return {1, 2, 3}
    raise KeyError(f"Unknown tool: {name}")


async def async_tools(name: str, args: dict[str, Any], context: dict[str, Any] | None) -> Any:
    if name == "sleep":
        await asyncio.sleep(args.get("seconds", 0.01))
        return {"slept": args.get("seconds", 0.01)}
    if name == "hang":
        await asyncio.Event().wait()
    return sync_tools(name, args, context)
