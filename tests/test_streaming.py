"""`Enclave.stream()`: console lines, tool calls and results as they happen, the result last and exactly
once, and leaving early cancels the run. Runs on every adapter."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest

from adapter_kinds import MakeEnclave
from enclave_vm import ConsoleEvent, ErrorCode, ResultEvent, RunEvent, ToolCallEvent, ToolResultEvent

CODE = """
console.log('start', 1);
const a = await callTool('double', { x: 2 });
console.warn('got', a);
let failed = '';
try { await callTool('broken', {}); } catch (e) { failed = e.message; }
console.error('failed:', failed);
return a;
"""


def tools(name: str, args: dict[str, Any], context: Any) -> Any:
    if name == "broken":
        raise ValueError("no such thing")
    return args["x"] * 2


async def collect(make_enclave: MakeEnclave, code: str, handler: Any = tools) -> list[RunEvent]:
    with make_enclave(tool_handler=handler) as enclave:
        return [event async for event in enclave.stream(code)]


async def test_events_arrive_in_order_with_the_result_last(make_enclave: MakeEnclave) -> None:
    events = await collect(make_enclave, CODE)
    kinds = [event.type for event in events]
    assert kinds == ["console", "tool_call", "tool_result", "console", "tool_call", "tool_result", "console", "result"]
    assert events[0] == ConsoleEvent(level="log", text="start 1")
    assert isinstance(events[1], ToolCallEvent) and (events[1].name, events[1].args) == ("double", {"x": 2})
    assert isinstance(events[2], ToolResultEvent) and events[2].ok and events[2].id == events[1].id
    assert events[3] == ConsoleEvent(level="warn", text="got 4")
    assert isinstance(events[5], ToolResultEvent) and not events[5].ok
    assert events[6] == ConsoleEvent(level="error", text="failed: no such thing")
    last = events[-1]
    assert isinstance(last, ResultEvent) and last.result.value == 4
    assert last.result.stdout == "start 1\ngot 4\nfailed: no such thing\n"


async def test_every_event_is_json_ready_and_never_carries_a_tool_value(make_enclave: MakeEnclave) -> None:
    events = await collect(make_enclave, CODE)
    dicts = [event.to_dict() for event in events]
    json.dumps(dicts)
    assert all("value" not in d for d in dicts if d["type"] == "tool_result")
    result = dicts[-1]["result"]
    assert set(result) == {"success", "value", "error", "stdout", "stats", "state", "suspended"}
    assert set(result["stats"]) == {"duration", "tool_call_count", "iteration_count", "memory_usage"}


async def test_a_failed_run_still_ends_with_its_result(make_enclave: MakeEnclave) -> None:
    events = await collect(make_enclave, "console.log('x'); eval('1')")
    assert [e.type for e in events] == ["result"]  # nothing ran: the guard refused it
    last = events[-1]
    assert isinstance(last, ResultEvent) and last.result.error is not None
    assert last.result.error.code is ErrorCode.VALIDATION_ERROR


async def test_leaving_the_stream_early_cancels_the_run(make_enclave: MakeEnclave) -> None:
    started = asyncio.Event()
    cancelled = asyncio.Event()
    calls = 0

    async def slow(name: str, args: dict[str, Any], context: Any) -> Any:
        nonlocal calls
        calls += 1
        started.set()
        try:
            await asyncio.Event().wait()
        except asyncio.CancelledError:
            cancelled.set()
            raise

    code = "for (const i of [1, 2, 3]) { await callTool('slow', { i }); }\nreturn 1"
    with make_enclave(tool_handler=slow, timeout=30_000) as enclave:
        async with enclave.stream(code) as events:
            async for event in events:
                if event.type == "tool_call":
                    break
        await asyncio.wait_for(cancelled.wait(), 5)
    assert started.is_set() and calls == 1


async def test_a_break_cancels_the_run_when_the_iterator_is_finalised(make_enclave: MakeEnclave) -> None:
    cancelled = asyncio.Event()

    async def slow(name: str, args: dict[str, Any], context: Any) -> Any:
        try:
            await asyncio.Event().wait()
        except asyncio.CancelledError:
            cancelled.set()
            raise

    with make_enclave(tool_handler=slow, timeout=30_000) as enclave:
        async for event in enclave.stream("await callTool('slow', {}); return 1"):
            if event.type == "tool_call":
                break
        await asyncio.wait_for(cancelled.wait(), 5)


@pytest.mark.parametrize("state", [{"n": 1}])
async def test_stream_takes_the_run_options(make_enclave: MakeEnclave, state: dict[str, int]) -> None:
    with make_enclave() as enclave:
        events = [e async for e in enclave.stream("state.n += 1; return state.n", state=state, timeout=5000)]
    last = events[-1]
    assert isinstance(last, ResultEvent) and last.result.value == 2 and last.result.state == {"n": 2}
