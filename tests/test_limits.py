"""Every limit trips with its code, and is terminal: catching the error does not let a script go on."""

from __future__ import annotations

import time
from typing import Any

import pytest

from adapter_kinds import MakeEnclave
from enclave_vm import ErrorCode


def counting_handler() -> tuple[list[str], Any]:
    calls: list[str] = []

    def handler(name: str, args: dict[str, Any], context: Any) -> Any:
        calls.append(name)
        return {"ok": True}

    return calls, handler


#: The bound a run promises past its deadline (docs/errors.md: +100 ms at most on every adapter); tests
#: assert a bound 5x looser than the whole promise, the precise figure is bench/deadline.py's.
OVERRUN_S = 0.1


def within_promise(timeout_ms: int, elapsed_s: float) -> bool:
    return elapsed_s < 5 * (timeout_ms / 1000 + OVERRUN_S)


async def test_timeout_cpu_loop(make_enclave: MakeEnclave) -> None:
    with make_enclave(timeout=300, max_iterations=10**12) as enclave:
        started = time.perf_counter()
        result = await enclave.run("let x = 0; for (let i = 0; i < 1e12; i++) { x++ }")
        elapsed = time.perf_counter() - started
    assert result.error is not None and result.error.code is ErrorCode.TIMEOUT
    assert within_promise(300, elapsed)


async def test_timeout_recursion_without_loops(make_enclave: MakeEnclave) -> None:
    with make_enclave(timeout=300) as enclave:
        result = await enclave.run("const f = (n) => n <= 0 ? 1 : f(n - 1) + f(n - 1); return f(60)")
    assert result.error is not None and result.error.code is ErrorCode.TIMEOUT


async def test_timeout_hung_async_tool(make_enclave: MakeEnclave) -> None:
    import asyncio

    async def handler(name: str, args: dict[str, Any], context: Any) -> Any:
        await asyncio.Event().wait()

    with make_enclave(tool_handler=handler, timeout=300) as enclave:
        started = time.perf_counter()
        result = await enclave.run("return await callTool('hang', {})")
    assert result.error is not None and result.error.code is ErrorCode.TIMEOUT
    assert within_promise(300, time.perf_counter() - started)


async def test_timeout_hung_sync_tool_gives_up_on_thread(make_enclave: MakeEnclave) -> None:
    import threading

    release = threading.Event()
    calls: list[str] = []

    def handler(name: str, args: dict[str, Any], context: Any) -> Any:
        calls.append(name)
        release.wait(30)  # hangs until the test is done with the run
        return 1

    try:
        with make_enclave(tool_handler=handler, timeout=200) as enclave:
            started = time.perf_counter()
            result = await enclave.run(
                "console.log('before');\nawait callTool('slow', {}); await callTool('slow', {}); return 1"
            )
            assert within_promise(200, time.perf_counter() - started)
            assert result.error is not None and result.error.code is ErrorCode.TIMEOUT
            assert calls == ["slow"]
            assert (await enclave.run("return 5")).value == 5
    finally:
        release.set()
    assert calls == ["slow"]  # the hung call's result was dropped: the second call never ran


async def test_output_before_a_hung_sync_tool_is_kept(make_enclave: MakeEnclave) -> None:
    import threading

    release = threading.Event()

    def handler(name: str, args: dict[str, Any], context: Any) -> Any:
        release.wait(30)
        return 1

    try:
        with make_enclave(tool_handler=handler, timeout=200) as enclave:
            result = await enclave.run("console.log('before');\nawait callTool('slow', {});")
    finally:
        release.set()
    assert result.error is not None and result.error.code is ErrorCode.TIMEOUT
    assert result.stdout == "before\n"


async def test_timeout_per_run_override(make_enclave: MakeEnclave) -> None:
    with make_enclave(timeout=10_000, max_iterations=10**12) as enclave:
        started = time.perf_counter()
        result = await enclave.run("for (let i = 0; i < 1e12; i++) {}", timeout=200)
    assert result.error is not None and result.error.code is ErrorCode.TIMEOUT
    assert within_promise(200, time.perf_counter() - started)


SPIN = "const spin = async () => { await null; return spin(); }; await spin();"
THEN_CHAIN = "const next = async () => 1; const loop = () => next().then(loop); await loop();"


@pytest.mark.parametrize("code", [SPIN, THEN_CHAIN], ids=["spin", "then-chain"])
async def test_timeout_endless_microtasks(make_enclave: MakeEnclave, code: str) -> None:
    """With memory to spare, an endless microtask chain is stopped by the deadline, every time."""
    with make_enclave(timeout=300, memory_limit=512 << 20) as enclave:
        for _ in range(3):
            result = await enclave.run(code)
            assert result.error is not None and result.error.code is ErrorCode.TIMEOUT, result.error


async def test_growing_microtask_chain_runs_out_of_memory(make_enclave: MakeEnclave) -> None:
    """The spin script's promise chain keeps growing: under a small heap it ends MEMORY_LIMIT_EXCEEDED,
    never as a deadlock, though the failing job leaves no trace in the script's own state."""
    with make_enclave(timeout=20_000, memory_limit=8 << 20) as enclave:
        for _ in range(3):
            result = await enclave.run(SPIN)
            assert result.error is not None and result.error.code is ErrorCode.MEMORY_LIMIT_EXCEEDED, result.error


async def test_a_real_deadlock_ends_at_once(make_enclave: MakeEnclave) -> None:
    """A promise nothing can settle (no job, tool call or timer left) ends at once as a DeadlockError."""
    with make_enclave(timeout=20_000) as enclave:
        result = await enclave.run("const never = { then: () => {} };\nconsole.log('waiting');\nawait never;")
    assert result.error is not None and result.error.code is ErrorCode.RUNTIME_ERROR
    assert result.error.name == "DeadlockError" and result.stdout == "waiting\n"
    assert result.stats.duration < 10_000  # far below the timeout: it did not wait for the deadline


async def test_timeout_is_terminal_even_when_caught(make_enclave: MakeEnclave) -> None:
    calls, handler = counting_handler()
    with make_enclave(tool_handler=handler, timeout=300, max_iterations=10**12) as enclave:
        result = await enclave.run(
            "try { for (let i = 0; i < 1e12; i++) {} } catch (e) { await callTool('after', {}); return 'caught' }"
        )
    assert result.error is not None and result.error.code is ErrorCode.TIMEOUT
    assert calls == []


async def test_max_iterations(make_enclave: MakeEnclave) -> None:
    with make_enclave(max_iterations=100) as enclave:
        result = await enclave.run("let n = 0; for (let i = 0; i < 1000; i++) { n++ } return n")
    assert result.error is not None and result.error.code is ErrorCode.MAX_ITERATIONS
    assert result.stats.iteration_count == 101


async def test_max_iterations_exact_boundary(make_enclave: MakeEnclave) -> None:
    with make_enclave(max_iterations=100) as enclave:
        result = await enclave.run("let n = 0; for (let i = 0; i < 100; i++) { n++ } return n")
    assert result.value == 100 and result.stats.iteration_count == 100


async def test_max_iterations_counts_nested_loops_and_callbacks(make_enclave: MakeEnclave) -> None:
    with make_enclave(max_iterations=50) as enclave:
        result = await enclave.run("[1,2,3,4,5,6,7,8].forEach(a => { for (const b of [1,2,3,4,5,6,7,8]) { a + b } })")
    assert result.error is not None and result.error.code is ErrorCode.MAX_ITERATIONS


async def test_max_iterations_terminal_when_caught(make_enclave: MakeEnclave) -> None:
    calls, handler = counting_handler()
    with make_enclave(tool_handler=handler, max_iterations=10) as enclave:
        code = """
let out = 'none';
try { for (let i = 0; i < 100; i++) {} } catch (e) { out = 'caught'; }
for (const x of [1]) { out = 'looped again'; }
await callTool('after', {});
return out;
"""
        result = await enclave.run(code)
    assert result.error is not None and result.error.code is ErrorCode.MAX_ITERATIONS
    assert calls == []


async def test_max_iterations_terminal_with_finally_return(make_enclave: MakeEnclave) -> None:
    with make_enclave(max_iterations=10) as enclave:
        result = await enclave.run("try { for (let i = 0; i < 100; i++) {} } finally { return 'escaped' }")
    assert result.error is not None and result.error.code is ErrorCode.MAX_ITERATIONS


async def test_max_tool_calls(make_enclave: MakeEnclave) -> None:
    calls, handler = counting_handler()
    with make_enclave(tool_handler=handler, max_tool_calls=3) as enclave:
        result = await enclave.run("for (const i of [1,2,3,4,5]) { await callTool('t', {i}) } return 1")
    assert result.error is not None and result.error.code is ErrorCode.MAX_TOOL_CALLS
    assert len(calls) == 3 and result.stats.tool_call_count == 3


async def test_max_tool_calls_parallel_flood_runs_none_past_the_limit(make_enclave: MakeEnclave) -> None:
    calls, handler = counting_handler()
    with make_enclave(tool_handler=handler, max_tool_calls=100, max_iterations=10**6) as enclave:
        code = "const ps = []; for (let i = 0; i < 1000; i++) { ps.push(callTool('t', {i})) } return ps.length"
        result = await enclave.run(code)
    assert result.error is not None and result.error.code is ErrorCode.MAX_TOOL_CALLS
    assert len(calls) <= 100


async def test_max_tool_calls_terminal_when_caught(make_enclave: MakeEnclave) -> None:
    calls, handler = counting_handler()
    with make_enclave(tool_handler=handler, max_tool_calls=1) as enclave:
        code = """
await callTool('one', {});
try { await callTool('two', {}) } catch (e) { }
try { await callTool('three', {}) } catch (e) { }
return 'went on';
"""
        result = await enclave.run(code)
    assert result.error is not None and result.error.code is ErrorCode.MAX_TOOL_CALLS
    assert calls == ["one"]


async def test_max_tool_calls_per_run_override(make_enclave: MakeEnclave) -> None:
    calls, handler = counting_handler()
    with make_enclave(tool_handler=handler, max_tool_calls=50) as enclave:
        result = await enclave.run("await callTool('a', {}); await callTool('b', {})", max_tool_calls=1)
    assert result.error is not None and result.error.code is ErrorCode.MAX_TOOL_CALLS
    assert calls == ["a"]


async def test_zero_tool_calls_allowed(make_enclave: MakeEnclave) -> None:
    calls, handler = counting_handler()
    with make_enclave(tool_handler=handler, max_tool_calls=0) as enclave:
        result = await enclave.run("await callTool('a', {})")
    assert result.error is not None and result.error.code is ErrorCode.MAX_TOOL_CALLS and calls == []


@pytest.mark.parametrize(
    "code",
    [
        "const a = []; for (let i = 0; i < 1e8; i++) { a.push({i, s: 'x' + i}) }",
        "let s = 'x'; for (let i = 0; i < 40; i++) { s = s + s } return s.length",
        "const o = {}; for (let i = 0; i < 1e8; i++) { o['k' + i] = i }",
        "const n = [2 ** 29][0]; return 'x'.repeat(n).length",
    ],
)
async def test_memory_limit(code: str, make_enclave: MakeEnclave) -> None:
    with make_enclave(memory_limit=16 * 1024 * 1024, max_iterations=10**9, timeout=20_000) as enclave:
        result = await enclave.run(code)
        assert result.error is not None, result.value
        assert result.error.code is ErrorCode.MEMORY_LIMIT_EXCEEDED, result.error
        assert (await enclave.run("return 'alive'")).value == "alive"


async def test_memory_limit_terminal_when_caught(make_enclave: MakeEnclave) -> None:
    calls, handler = counting_handler()
    with make_enclave(tool_handler=handler, memory_limit=16 * 1024 * 1024, max_iterations=10**9) as enclave:
        code = """
try { const a = []; for (let i = 0; i < 1e8; i++) { a.push({i}) } } catch (e) { await callTool('after', {}) }
return 'went on';
"""
        result = await enclave.run(code)
    assert result.error is not None and result.error.code is ErrorCode.MEMORY_LIMIT_EXCEEDED
    assert calls == []


async def test_oversized_return_value(make_enclave: MakeEnclave) -> None:
    with make_enclave(security_level="STRICT", memory_limit=64 * 1024 * 1024) as enclave:
        result = await enclave.run("const n = [2 * 1024 * 1024][0]; return 'x'.repeat(n)")
    assert result.error is not None and result.error.code is ErrorCode.MEMORY_LIMIT_EXCEEDED


async def test_oversized_tool_result(make_enclave: MakeEnclave) -> None:
    def handler(name: str, args: dict[str, Any], context: Any) -> Any:
        return "x" * (2 * 1024 * 1024)

    with make_enclave(security_level="STRICT", tool_handler=handler) as enclave:
        result = await enclave.run("try { await callTool('big', {}) } catch (e) { return 'caught' }")
    assert result.error is not None and result.error.code is ErrorCode.MEMORY_LIMIT_EXCEEDED


async def test_oversized_tool_arguments(make_enclave: MakeEnclave) -> None:
    calls, handler = counting_handler()
    with make_enclave(security_level="STRICT", tool_handler=handler) as enclave:
        result = await enclave.run("const n = [2 * 1024 * 1024][0]; await callTool('t', {blob: 'x'.repeat(n)})")
    assert result.error is not None and result.error.code is ErrorCode.MEMORY_LIMIT_EXCEEDED
    assert calls == []


async def test_too_deep_tool_arguments(make_enclave: MakeEnclave) -> None:
    calls, handler = counting_handler()
    with make_enclave(tool_handler=handler) as enclave:
        code = "let o = {}; const root = o; for (let i = 0; i < 500; i++) { o.c = {}; o = o.c } "
        code += "await callTool('t', root)"
        result = await enclave.run(code)
    assert result.error is not None and result.error.code is ErrorCode.MEMORY_LIMIT_EXCEEDED
    assert calls == []


async def test_too_deep_tool_result(make_enclave: MakeEnclave) -> None:
    deep: dict[str, Any] = {}
    node = deep
    for _ in range(200):
        node["c"] = {}
        node = node["c"]

    with make_enclave(tool_handler=lambda n, a, c: deep) as enclave:
        result = await enclave.run("return await callTool('deep', {})")
    assert result.error is not None and result.error.code is ErrorCode.MEMORY_LIMIT_EXCEEDED


async def test_console_byte_cap(make_enclave: MakeEnclave) -> None:
    with make_enclave(security_level="STRICT") as enclave:
        result = await enclave.run("for (let i = 0; i < 100; i++) { console.log('x'.repeat(1000)) }")
    assert result.error is not None and result.error.code is ErrorCode.RUNTIME_ERROR
    assert "Console output limit" in result.error.message
    assert len(result.stdout.encode()) <= 65536


async def test_console_call_cap(make_enclave: MakeEnclave) -> None:
    with make_enclave(security_level="STRICT") as enclave:
        result = await enclave.run("for (let i = 0; i < 500; i++) { console.log(i) }")
    assert result.error is not None and "Console call limit" in result.error.message
    assert result.stdout.count("\n") == 100


async def test_stack_overflow_is_clean(make_enclave: MakeEnclave) -> None:
    with make_enclave() as enclave:
        result = await enclave.run("const f = (n) => f(n + 1) + 1; return f(0)")
        assert result.error is not None and result.error.code is ErrorCode.RUNTIME_ERROR
        assert "stack" in result.error.message.lower()
        assert (await enclave.run("return 1")).value == 1
