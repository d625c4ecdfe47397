"""The run contract: values, tools, stdout, errors, stats, globals, isolation, lifetime."""

from __future__ import annotations

import asyncio
import json
import os
import threading
from typing import Any

import pytest

from adapter_kinds import MakeEnclave
from enclave_vm import Enclave, ErrorCode
from tool_fixtures import sync_tools


async def test_return_value_and_stats(enclave: Enclave) -> None:
    result = await enclave.run("const x = 1 + 2;\nreturn x;")
    assert result.success and result.value == 3 and result.error is None
    assert result.stats.duration > 0 and result.stats.tool_call_count == 0
    assert result.stats.memory_usage is not None and result.stats.memory_usage > 0


async def test_memory_usage_is_the_peak_not_what_is_left_at_the_end(enclave: Enclave) -> None:
    small = await enclave.run("return 1;")
    code = """
const big = Array.from({ length: 300000 }, (_, i) => ({ i, s: 'row' + i }));
await callTool('echo', { n: big.length });
return big.length;
"""
    result = await enclave.run(code)
    assert result.success, result.error
    assert small.stats.memory_usage is not None and result.stats.memory_usage is not None
    # 300 000 small objects take well over 10 MB while the script awaits the tool; once the script has
    # returned they are freed, so only a peak (sampled at the engine's step boundaries) shows them.
    assert result.stats.memory_usage > small.stats.memory_usage + 10_000_000


@pytest.mark.parametrize(
    ("code", "value"),
    [
        ("return undefined", None),
        ("", None),
        ("return null", None),
        ("return 'héllo ✓'", "héllo ✓"),
        ("return [1, 'a', true, null, {b: [2]}]", [1, "a", True, None, {"b": [2]}]),
        ("return {n: NaN, i: Infinity}", {"n": None, "i": None}),
        ("return 2 ** 53", 2**53),
        ("return 0.5", 0.5),
        ("const d = new Date(0); return d.toISOString()", "1970-01-01T00:00:00.000Z"),
        ("return await 5", 5),
    ],
)
async def test_values_cross_as_json(enclave: Enclave, code: str, value: Any) -> None:
    result = await enclave.run(code)
    assert result.success, result.error
    assert result.value == value


async def test_tool_call_with_args_and_context(enclave: Enclave) -> None:
    result = await enclave.run(
        "const r = await callTool('echo', {a: 1, nested: {b: [1, 2]}}); return r;", context={"user": "u1"}
    )
    assert result.value == {"args": {"a": 1, "nested": {"b": [1, 2]}}, "context": {"user": "u1"}}
    assert result.stats.tool_call_count == 1


async def test_orchestration_script(enclave: Enclave) -> None:
    code = """
const users = await callTool('users:list', {limit: 6});
const names = users.filter(u => u.active).map(u => u.name);
for (const n of names) { console.log('user', n); }
return { count: names.length, names };
"""
    result = await enclave.run(code)
    assert result.value == {"count": 3, "names": ["user0", "user2", "user4"]}
    assert result.stdout == "user user0\nuser user2\nuser user4\n"
    assert result.stats.iteration_count == 3


async def test_async_tool_handler(async_enclave: Enclave) -> None:
    result = await async_enclave.run("return await callTool('sleep', {seconds: 0.01});")
    assert result.value == {"slept": 0.01}


def test_run_sync_with_sync_and_async_handlers(make_enclave: MakeEnclave) -> None:
    async def handler(name: str, args: dict[str, Any], context: Any) -> Any:
        await asyncio.sleep(0)
        return args["x"] * 2

    with make_enclave(tool_handler=handler) as enclave:
        assert enclave.run_sync("return await callTool('double', {x: 21})").value == 42
        assert enclave.run_sync("return 7").value == 7


async def test_run_sync_inside_loop_is_refused(enclave: Enclave) -> None:
    with pytest.raises(RuntimeError, match="run_sync"):
        enclave.run_sync("return 1")


@pytest.mark.parametrize("method", ["log", "info", "warn", "error", "debug"])
async def test_console_methods_captured(enclave: Enclave, method: str) -> None:
    result = await enclave.run(f"console.{method}('a', 1, {{b: 2}}, [3], null, undefined, true); return 1")
    assert result.stdout == 'a 1 {"b":2} [3] null undefined true\n'


async def test_tool_exception_is_catchable_with_message_only(enclave: Enclave) -> None:
    code = "try { await callTool('fail', {message: 'nope'}) } catch (e) { return [e.message, e.name] }"
    result = await enclave.run(code)
    assert result.value == ["nope", "Error"]


async def test_uncaught_tool_error(enclave: Enclave) -> None:
    result = await enclave.run("await callTool('fail', {message: 'db down'}); return 1")
    assert not result.success and result.error is not None
    assert result.error.code is ErrorCode.TOOL_ERROR
    assert result.error.message == "db down"
    assert "Traceback" not in str(result.error) and os.sep + "enclave_vm" not in str(result.error)


async def test_unknown_tool_is_tool_error(enclave: Enclave) -> None:
    result = await enclave.run("return await callTool('nope', {})")
    assert result.error is not None and result.error.code is ErrorCode.TOOL_ERROR
    assert "Unknown tool: nope" in result.error.message


async def test_no_handler_is_tool_error(make_enclave: MakeEnclave) -> None:
    with make_enclave() as enclave:
        result = await enclave.run("return await callTool('x', {})")
    assert result.error is not None and result.error.code is ErrorCode.TOOL_ERROR
    assert "No tool handler" in result.error.message


async def test_verbose_errors_add_host_detail(make_enclave: MakeEnclave) -> None:
    with make_enclave(tool_handler=sync_tools, verbose_errors=True) as enclave:
        result = await enclave.run("await callTool('fail', {message: 'boom'})")
    assert result.error is not None and result.error.code is ErrorCode.TOOL_ERROR
    assert result.error.data is not None and result.error.data["exception_type"] == "ValueError"
    assert "Traceback" in result.error.data["traceback"] and result.error.stack is not None


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ("5", "must be an object"),
        ("[1]", "must be an object"),
        ("null", "must be an object"),
        ("(() => { const o = {}; o.self = o; return o })()", "not JSON-serializable"),
        ("{big: 10n}", "not JSON-serializable"),
    ],
)
async def test_bad_tool_arguments(enclave: Enclave, args: str, message: str) -> None:
    result = await enclave.run(f"return await callTool('echo', {args})")
    assert result.error is not None and result.error.code is ErrorCode.TOOL_ERROR
    assert message in result.error.message


@pytest.mark.parametrize("name", ["42", "null", "{}", "''", "'x'.repeat(300)"])
async def test_non_string_tool_names_rejected_by_the_bridge(name: str, make_enclave: MakeEnclave) -> None:
    # PERMISSIVE still validates; the name check here is the bridge's own (dynamic names from data).
    with make_enclave(tool_handler=sync_tools) as enclave:
        result = await enclave.run(f"const n = {name}; const f = callTool; return await f(n, {{}})")
    assert result.error is not None
    assert result.error.code in (ErrorCode.TOOL_ERROR, ErrorCode.VALIDATION_ERROR)


async def test_tool_returning_non_json_is_tool_error(enclave: Enclave) -> None:
    result = await enclave.run("return await callTool('weird', {})")
    assert result.error is not None and result.error.code is ErrorCode.TOOL_ERROR
    assert "not JSON data" in result.error.message


async def test_guest_exception_is_runtime_error_with_user_lines(enclave: Enclave) -> None:
    result = await enclave.run("const a = 1;\nconst b = null;\nreturn b.x;")
    assert result.error is not None and result.error.code is ErrorCode.RUNTIME_ERROR
    assert result.error.name == "TypeError"
    assert result.error.stack is not None and "agentscript:3:" in result.error.stack


async def test_thrown_non_error_values(enclave: Enclave) -> None:
    result = await enclave.run("throw 'plain string'")
    assert result.error is not None and result.error.code is ErrorCode.RUNTIME_ERROR
    assert result.error.message == "plain string"
    result = await enclave.run("throw null")
    assert result.error is not None and result.error.code is ErrorCode.RUNTIME_ERROR


async def test_validation_error_runs_nothing(make_enclave: MakeEnclave) -> None:
    calls: list[str] = []

    def handler(name: str, args: dict[str, Any], context: Any) -> Any:
        calls.append(name)

    with make_enclave(tool_handler=handler) as enclave:
        result = await enclave.run("await callTool('a', {});\neval('x')")
    assert result.error is not None and result.error.code is ErrorCode.VALIDATION_ERROR
    assert result.error.data is not None
    issue = result.error.data["issues"][0]
    assert issue["message"] == "Identifier 'eval' is not allowed"
    assert issue["location"] == {"line": 2, "column": 1}
    assert calls == []


async def test_validate_api(enclave: Enclave) -> None:
    result = await enclave.validate("eval('dangerous')")
    assert not result.valid and result.issues[0].message == "Identifier 'eval' is not allowed"
    assert enclave.validate_sync("return 1").valid


async def test_syntax_error_is_validation_error(enclave: Enclave) -> None:
    result = await enclave.run("const = ;")
    assert result.error is not None and result.error.code is ErrorCode.VALIDATION_ERROR


async def test_returned_value_not_serializable(enclave: Enclave) -> None:
    result = await enclave.run("const o = {}; o.o = o; return o;")
    assert result.error is not None and result.error.code is ErrorCode.RUNTIME_ERROR


async def test_globals_are_read_only_copies(make_enclave: MakeEnclave) -> None:
    config: dict[str, Any] = {"limits": {"max": 5}, "tags": ["a"]}
    with make_enclave(globals={"config": config}) as enclave:
        result = await enclave.run("return [config.limits.max, config.tags[0]]")
        assert result.value == [5, "a"]
        result = await enclave.run("config.limits.max = 99; return config.limits.max")
        # the guard rejects the write statically; the engine's frozen copy would refuse it too
        assert result.error is not None
        assert result.error.code in (ErrorCode.VALIDATION_ERROR, ErrorCode.RUNTIME_ERROR)
        result = await enclave.run("const t = config.tags; try { t.push('b') } catch (e) {} return t.length")
        assert result.value == 1 or (result.error is not None and result.error.code is ErrorCode.VALIDATION_ERROR)
    assert config == {"limits": {"max": 5}, "tags": ["a"]}


async def test_globals_snapshot_at_construction(make_enclave: MakeEnclave) -> None:
    data = {"n": 1}
    with make_enclave(globals={"data": data}) as enclave:
        data["n"] = 2
        assert (await enclave.run("return data.n")).value == 1


async def test_no_state_leaks_between_runs(enclave: Enclave) -> None:
    first = await enclave.run("Object.assign(Math, {}); globalThis_like = 1; return 1")
    assert first.error is not None  # strict mode: assigning an undeclared name throws
    await enclave.run("Array.prototype.leak = 1")
    result = await enclave.run("const a = []; return [typeof a.leak, typeof globalThis_like]")
    assert result.value == ["undefined", "undefined"] or (
        result.error is not None and result.error.code is ErrorCode.VALIDATION_ERROR
    )


def barrier_tool(parties: int) -> tuple[Any, list[int]]:
    """An async tool whose calls all wait until `parties` of them are in flight at once: it can only
    succeed if the calls really overlap (one after another, the first would wait out its 10 s guard)."""
    arrived: list[int] = []
    everyone = asyncio.Event()

    async def tool(name: str, args: dict[str, Any], context: Any = None) -> Any:
        arrived.append(len(arrived))
        if len(arrived) >= parties:
            everyone.set()
        await asyncio.wait_for(everyone.wait(), 10)
        return {"slept": 0.2}

    return tool, arrived


async def test_concurrent_runs_interleave_tool_awaits(make_enclave: MakeEnclave, adapter_kind: str) -> None:
    # In-process and in the double VM every run awaits its tool at once; a pool worker serves one run at
    # a time (runs beyond its 2 workers wait in its queue), so there 2 runs overlap.
    parties = 2 if adapter_kind in ("pool", "ray") else 20
    tool, arrived = barrier_tool(parties)
    code = "const r = await callTool('sleep', {seconds: 0.2}); return r.slept"
    with make_enclave(tool_handler=tool, timeout=20_000) as enclave:
        results = await asyncio.gather(*(enclave.run(code) for _ in range(20)))
    assert [r.value for r in results] == [0.2] * 20 and len(arrived) == 20


async def test_cpu_bound_script_does_not_block_event_loop(make_enclave: MakeEnclave) -> None:
    ticks = 0

    async def ticker() -> None:
        nonlocal ticks
        while True:
            await asyncio.sleep(0.01)
            ticks += 1

    with make_enclave(timeout=600, max_iterations=10**9) as enclave:
        task = asyncio.create_task(ticker())
        result = await enclave.run("let s = 0; for (let i = 0; i < 1e9; i++) { s += i } return s")
        task.cancel()
    assert result.error is not None and result.error.code is ErrorCode.TIMEOUT
    assert ticks >= 5  # up to 60 ticks fit in the run; a blocked loop would see at most one


async def test_parallel_tool_calls_run_concurrently(make_enclave: MakeEnclave) -> None:
    tool, arrived = barrier_tool(5)
    code = "const xs = [1,2,3,4,5].map(i => callTool('sleep', {seconds: 0.2}));\n"
    code += "let n = 0; for (const x of xs) { n += (await x).slept } return n"
    with make_enclave(tool_handler=tool, timeout=20_000) as enclave:
        result = await enclave.run(code)
    assert result.value == pytest.approx(1.0) and len(arrived) == 5


async def test_dispose_is_idempotent_and_final(make_enclave: MakeEnclave) -> None:
    enclave = make_enclave()
    assert (await enclave.run("return 1")).value == 1
    enclave.dispose()
    enclave.dispose()
    with pytest.raises(RuntimeError):
        await enclave.run("return 1")


def test_context_manager_disposes(make_enclave: MakeEnclave) -> None:
    with make_enclave() as enclave:
        assert enclave.run_sync("return 2").value == 2
    with pytest.raises(RuntimeError):
        enclave.run_sync("return 1")


async def test_engine_threads_do_not_pile_up(make_enclave: MakeEnclave) -> None:
    before = threading.active_count()
    with make_enclave() as enclave:
        for _ in range(30):
            await enclave.run("return 1")
    assert threading.active_count() <= before + 9


TRICKY_RESULTS = [
    {"__proto__": {"polluted": True}, "constructor": {"prototype": 1}},
    {"text": 'quote " backslash \\ newline \n separators \u2028\u2029 nul \u0000', "emoji": "\U0001f600"},
    {"numbers": [0, 0.1, 1e308, -1e-308, 2**53, -(2**53)]},
    [[[[[]]]], {}, "", None, True, False],
    "a bare string",
    None,
]


@pytest.mark.parametrize("value", TRICKY_RESULTS, ids=range(len(TRICKY_RESULTS)))
async def test_tool_results_reach_the_script_exactly(make_enclave: MakeEnclave, value: object) -> None:
    # A result travels as JSON text into the engine; whatever its content, the script sees exactly
    # that value (own keys like "__proto__" stay data) and no other result is touched.
    def handler(name: str, args: dict[str, object], context: object = None) -> object:
        return value if name == "tricky" else "other"

    with make_enclave(tool_handler=handler) as enclave:
        result = await enclave.run(
            "const a = await callTool('tricky', {});\nconst b = await callTool('plain', {});\n"
            "const keys = a && typeof a === 'object' ? Object.keys(a) : null;\n"
            "return { a, b, polluted: ({}).polluted === undefined, keys };"
        )
    assert result.success, result.error
    expected = json.loads(json.dumps(value))
    assert result.value["a"] == expected
    assert result.value["b"] == "other"
    assert result.value["polluted"] is True
    if isinstance(expected, dict):
        assert result.value["keys"] == list(expected)
