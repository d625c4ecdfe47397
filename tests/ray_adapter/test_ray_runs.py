"""Scripts on the Ray adapter, on a real local Ray: values, tools (sync and async, run in this process),
console output, every error code, and many runs at once."""

from __future__ import annotations

import asyncio
import os
import threading
from typing import Any

from ray_helpers import STUCK, MakeAdapter, wait_until

from enclave_vm import ConsoleEvent, Enclave, ErrorCode

CALLER_PID = os.getpid()


def sync_tool(name: str, args: dict[str, Any], context: dict[str, Any] | None) -> Any:
    if name == "double":
        return args["x"] * 2
    if name == "where":
        return {"pid": os.getpid(), "thread": threading.current_thread().name}
    if name == "context":
        return context
    if name == "fail":
        raise ValueError("the tool failed")
    raise KeyError(name)


async def async_tool(name: str, args: dict[str, Any], context: dict[str, Any] | None) -> Any:
    await asyncio.sleep(0.001)
    if name == "where":
        return {"pid": os.getpid()}
    return sync_tool(name, args, context)


# ---- values ----


VALUES = [
    ("return 1 + 2", 3),
    ("return 'text ' + 'ok'", "text ok"),
    ("return { a: [1, 2, { b: null }], c: true }", {"a": [1, 2, {"b": None}], "c": True}),
    ("return [1.5, -2, 'x']", [1.5, -2, "x"]),
    ("return null", None),
    ("return Array.from({ length: 1000 }, (_, i) => i).reduce((a, b) => a + b, 0)", 499500),
    ("const [a, b] = await Promise.all([1, 2].map(async x => x * 7)); return a + b", 21),
    ("return '€ and \\u{1F600}'.length", 8),
]


async def test_values(make_adapter: MakeAdapter) -> None:
    adapter = make_adapter()
    with Enclave(adapter=adapter) as enclave:
        for code, value in VALUES:
            result = await enclave.run(code)
            assert result.success, (code, result.error)
            assert result.value == value, code
    assert adapter.stats().runs == len(VALUES) and adapter.stats().started == 1


async def test_sync_tools_run_in_the_callers_process(make_adapter: MakeAdapter) -> None:
    with Enclave(adapter=make_adapter(), tool_handler=sync_tool) as enclave:
        result = await enclave.run(
            "const w = await callTool('where', {}); const d = await callTool('double', {x: 21}); return [w, d]"
        )
    assert result.success, result.error
    where, doubled = result.value
    assert where["pid"] == CALLER_PID and doubled == 42
    assert result.stats.tool_call_count == 2


async def test_async_tools_run_on_the_callers_loop(make_adapter: MakeAdapter) -> None:
    with Enclave(adapter=make_adapter(), tool_handler=async_tool) as enclave:
        result = await enclave.run(
            "const all = await Promise.all([1, 2, 3].map(x => callTool('double', {x})));"
            "const w = await callTool('where', {}); return [all, w.pid]"
        )
    assert result.success, result.error
    assert result.value == [[2, 4, 6], CALLER_PID]
    assert result.stats.tool_call_count == 4


async def test_the_tool_context_stays_in_the_caller(make_adapter: MakeAdapter) -> None:
    with Enclave(adapter=make_adapter(), tool_handler=sync_tool) as enclave:
        result = await enclave.run("return await callTool('context', {})", context={"user": "ada"})
    assert result.value == {"user": "ada"}


async def test_console_output_comes_back_with_its_levels(make_adapter: MakeAdapter) -> None:
    code = "console.log('one'); console.warn('two', 2); console.error({ three: 3 }); return 'done'"
    with Enclave(adapter=make_adapter()) as enclave:
        result = await enclave.run(code)
        assert result.value == "done"
        assert result.stdout == 'one\ntwo 2\n{"three":3}\n'
        levels = [(event.level, event.text) async for event in enclave.stream(code) if isinstance(event, ConsoleEvent)]
    assert levels == [("log", "one"), ("warn", "two 2"), ("error", '{"three":3}')]


async def test_console_output_before_an_error_is_kept(make_adapter: MakeAdapter) -> None:
    with Enclave(adapter=make_adapter()) as enclave:
        result = await enclave.run("console.log('before'); throw new Error('boom')")
    assert result.error is not None and result.error.code is ErrorCode.RUNTIME_ERROR
    assert result.stdout == "before\n"


# ---- error codes ----


async def test_a_cpu_loop_times_out(make_adapter: MakeAdapter) -> None:
    adapter = make_adapter()
    with Enclave(adapter=adapter, timeout=300, max_iterations=10**12) as enclave:
        result = await enclave.run("let n = 0; for (let i = 0; i < 1e12; i++) { n += i } return n")
        assert result.error is not None and result.error.code is ErrorCode.TIMEOUT, result.error
        assert (await enclave.run("return 'after'")).value == "after"


async def test_a_stuck_engine_is_killed_at_the_deadline_and_replaced(make_adapter: MakeAdapter) -> None:
    adapter = make_adapter()
    options: dict[str, Any] = {"timeout": 200, "memory_limit": 1 << 30, "security_level": "PERMISSIVE"}
    with Enclave(adapter=adapter, **options) as enclave:
        assert (await enclave.run("return 0")).value == 0
        result = await enclave.run(STUCK)
        assert result.error is not None and result.error.code is ErrorCode.TIMEOUT, result.error
        stats = adapter.stats()
        assert stats.timeout_kills == 1 and stats.kills == 1 and stats.replacements == 1 and stats.crashes == 0
        assert (await enclave.run("return 'replaced'")).value == "replaced"
    assert adapter.stats().started == 2


async def test_memory_limit_exceeded(make_adapter: MakeAdapter) -> None:
    code = "const a = []; for (let i = 0; i < 1e6; i++) { a.push('x'.repeat(1000) + i) } return a.length"
    with Enclave(adapter=make_adapter(), memory_limit=16 << 20, max_iterations=10**9, timeout=20_000) as enclave:
        result = await enclave.run(code)
        assert result.error is not None and result.error.code is ErrorCode.MEMORY_LIMIT_EXCEEDED, result.error
        assert (await enclave.run("return 'fresh'")).value == "fresh"


async def test_max_iterations(make_adapter: MakeAdapter) -> None:
    with Enclave(adapter=make_adapter(), max_iterations=1000) as enclave:
        result = await enclave.run("let n = 0; for (let i = 0; i < 100000; i++) { n += i } return n")
    assert result.error is not None and result.error.code is ErrorCode.MAX_ITERATIONS, result.error


async def test_max_tool_calls(make_adapter: MakeAdapter) -> None:
    calls: list[int] = []

    def tool(name: str, args: dict[str, Any], context: Any) -> Any:
        calls.append(args["i"])
        return args["i"]

    with Enclave(adapter=make_adapter(), tool_handler=tool, max_tool_calls=3) as enclave:
        result = await enclave.run("for (let i = 0; i < 10; i++) { await callTool('t', {i}) } return 'all'")
    assert result.error is not None and result.error.code is ErrorCode.MAX_TOOL_CALLS, result.error
    assert calls == [0, 1, 2]


async def test_runtime_error(make_adapter: MakeAdapter) -> None:
    with Enclave(adapter=make_adapter()) as enclave:
        result = await enclave.run("const o = {}; o.missing.field = 1")
    assert result.error is not None and result.error.code is ErrorCode.RUNTIME_ERROR
    assert result.error.name == "TypeError"


async def test_tool_error(make_adapter: MakeAdapter) -> None:
    with Enclave(adapter=make_adapter(), tool_handler=sync_tool) as enclave:
        failed = await enclave.run("return await callTool('fail', {})")
        caught = await enclave.run("try { await callTool('fail', {}) } catch (e) { return 'caught: ' + e.message }")
    assert failed.error is not None and failed.error.code is ErrorCode.TOOL_ERROR, failed.error
    assert "the tool failed" in failed.error.message
    assert caught.value == "caught: the tool failed"


async def test_validation_error(make_adapter: MakeAdapter) -> None:
    adapter = make_adapter()
    with Enclave(adapter=adapter) as enclave:
        result = await enclave.run("return (1 +")
    assert result.error is not None and result.error.code is ErrorCode.VALIDATION_ERROR
    assert adapter.stats().runs == 0  # refused before anything reached an actor


# ---- many runs ----


async def test_a_hundred_concurrent_runs_get_their_own_values(make_adapter: MakeAdapter) -> None:
    adapter = make_adapter(4)

    async def tool(name: str, args: dict[str, Any], context: Any) -> Any:
        await asyncio.sleep(0.001)
        return args["i"] * 10

    code = "const got = await callTool('t', {i: INDEX}); console.log('run', INDEX); return [INDEX, got + 1]"
    with Enclave(adapter=adapter, tool_handler=tool, timeout=60_000) as enclave:
        results = await asyncio.gather(*(enclave.run(code.replace("INDEX", str(i))) for i in range(100)))
    for i, result in enumerate(results):
        assert result.success, result.error
        assert result.value == [i, i * 10 + 1] and result.stdout == f"run {i}\n"
    stats = adapter.stats()
    assert stats.runs == 100 and stats.runs_in_flight == 0 and stats.queue_length == 0
    assert stats.kills == stats.crashes == 0 and stats.started == 4


async def test_runs_beyond_the_actors_wait_in_the_queue(make_adapter: MakeAdapter) -> None:
    adapter = make_adapter(1)
    release = asyncio.Event()
    entered = asyncio.Event()

    async def gate(name: str, args: dict[str, Any], context: Any) -> Any:
        entered.set()
        await release.wait()
        return "first"

    with Enclave(adapter=adapter, tool_handler=gate, timeout=30_000) as enclave:
        first = asyncio.create_task(enclave.run("return await callTool('gate', {})"))
        await asyncio.wait_for(entered.wait(), 30)
        second = asyncio.create_task(enclave.run("return 'second'"))
        assert await wait_until(lambda: adapter.stats().queue_length == 1)
        assert adapter.stats().actors["busy"] == 1
        release.set()
        assert (await first).value == "first"
        assert (await second).value == "second"
