from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest

from enclave_vm import Enclave

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


@pytest.fixture
def enclave() -> Iterator[Enclave]:
    with Enclave(tool_handler=sync_tools) as instance:
        yield instance


@pytest.fixture
async def async_enclave() -> AsyncIterator[Enclave]:
    async with Enclave(tool_handler=async_tools, timeout=3000) as instance:
        yield instance
