"""The double-VM adapter: QuickJS-NG compiled to WebAssembly inside wasmtime.

Its own behaviour: options, the missing-extra error, the outer VM's limits (epoch deadline, linear-memory
cap, C stack), recovery after a trap, the compiled-module cache and the stack relocation. The shared
contract runs against it through `adapter_kinds`.
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import textwrap
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from enclave_vm import DoubleVmOptions, Enclave, ErrorCode, create_double_vm_adapter
from enclave_vm.adapters.double_vm import DoubleVmAdapter
from enclave_vm.bridge.codec import ValueLimits
from enclave_vm.bridge.dispatch import ToolDispatcher
from enclave_vm.bridge.protocol import EngineLimits, RunOutcome, StartRequest
from enclave_vm.engine.session import EngineTerminated
from enclave_vm.engine.wasm_module import PAGE, get_runtime, module_path, relocate_stack
from enclave_vm.engine.wasm_session import WarmWasmContext
from enclave_vm.guard.instrument import WRAP_PREFIX, WRAP_SUFFIX
from engine_fixtures import engine_limits
from tool_fixtures import async_tools, sync_tools

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def adapter() -> Iterator[DoubleVmAdapter]:
    instance = create_double_vm_adapter()
    yield instance
    instance.dispose()


def limits(timeout_ms: int = 3000, memory_limit: int = 32 * 1024 * 1024) -> EngineLimits:
    return engine_limits(timeout_ms=timeout_ms, max_iterations=10**9, memory_limit=memory_limit)


async def run_raw(adapter: DoubleVmAdapter, body: str, engine_limits: EngineLimits | None = None) -> RunOutcome:
    """Run `body` without the guard or instrumentation: only the VM's own limits can stop it."""
    engine_limits = engine_limits or limits()
    request = StartRequest(
        program=WRAP_PREFIX + body + WRAP_SUFFIX,
        globals_json="{}",
        limits=engine_limits,
        deadline=time.monotonic() + engine_limits.timeout_ms / 1000.0,
    )
    tools = ToolDispatcher(sync_tools, None, asyncio.get_running_loop(), ValueLimits(1 << 20, 32))
    return await adapter.execute(request, tools)


async def assert_next_run_works(adapter: DoubleVmAdapter) -> None:
    with Enclave(adapter=adapter, tool_handler=sync_tools) as enclave:
        result = await enclave.run("const r = await callTool('echo', { n: 2 }); return r.args.n + 1")
    assert result.success and result.value == 3, result.error


# ---- options and the factory ----


def test_factory_takes_arguments_options_or_a_dict() -> None:
    for made in (
        create_double_vm_adapter(500, 200),
        create_double_vm_adapter(DoubleVmOptions(outer_timeout=500, inner_timeout=200)),
        create_double_vm_adapter({"outer_timeout": 500, "inner_timeout": 200}),
    ):
        assert made.options == DoubleVmOptions(outer_timeout=500, inner_timeout=200)
        made.dispose()


@pytest.mark.parametrize(
    ("args", "error"),
    [((0,), ValueError), ((None, -1), ValueError), (("1",), TypeError), ((True,), TypeError)],
)
def test_bad_options_name_the_option(args: tuple[object, ...], error: type[Exception]) -> None:
    with pytest.raises(error, match="timeout"):
        create_double_vm_adapter(*args)  # type: ignore[arg-type]


def test_unknown_option_in_a_dict_is_refused() -> None:
    with pytest.raises(TypeError, match="outer"):
        create_double_vm_adapter({"outer": 5})


def test_missing_extra_raises_import_error_naming_it() -> None:
    script = textwrap.dedent(
        """
        import sys
        sys.modules["wasmtime"] = None  # as if the extra were not installed
        from enclave_vm import create_double_vm_adapter
        try:
            create_double_vm_adapter()
        except ImportError as exc:
            print("IMPORT-ERROR", exc)
        """
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60, check=True)
    assert "IMPORT-ERROR" in done.stdout and "enclave-vm[wasm]" in done.stdout


# ---- runs ----


async def test_runs_tools_console_and_globals(adapter: DoubleVmAdapter) -> None:
    with Enclave(adapter=adapter, tool_handler=async_tools, globals={"factor": 3}) as enclave:
        result = await enclave.run(
            "const rows = await callTool('users:list', { limit: 4 });\n"
            "const slept = await callTool('sleep', { seconds: 0.01 });\n"
            "console.log('rows', rows.length);\n"
            "return { n: rows.filter((r) => r.active).length * factor, slept: slept.slept, s: 'é\\u{1F600}' };"
        )
    assert result.success, result.error
    assert result.value == {"n": 6, "slept": 0.01, "s": "é\U0001f600"}
    assert result.stdout == "rows 4\n"
    assert result.stats.tool_call_count == 2 and result.stats.memory_usage is not None


async def test_concurrent_runs_do_not_block_the_event_loop(adapter: DoubleVmAdapter) -> None:
    ticks = 0

    async def ticker() -> None:
        nonlocal ticks
        for _ in range(20):
            await asyncio.sleep(0.005)
            ticks += 1

    with Enclave(adapter=adapter, max_iterations=10**9) as enclave:
        spin = "let s = 0; for (let i = 0; i < 300000; i++) { s += i % 7 } return s"
        results = await asyncio.gather(enclave.run(spin), enclave.run(spin), enclave.run("return 1"), ticker())
    assert [r.value for r in results[:3]] == [899997, 899997, 1]
    assert ticks == 20


async def test_inner_timeout_ends_the_run_cleanly_with_its_output() -> None:
    adapter = create_double_vm_adapter(inner_timeout=200)
    try:
        with Enclave(adapter=adapter, timeout=5000, max_iterations=10**12) as enclave:
            started = time.perf_counter()
            result = await enclave.run("console.log('before'); for (let i = 0; i < 1e12; i++) {}")
        assert time.perf_counter() - started < 1.5
        assert result.error is not None and result.error.code is ErrorCode.TIMEOUT
        assert result.error.message == "Execution timed out after 200ms"
        assert result.stdout == "before\n"
        await assert_next_run_works(adapter)
    finally:
        adapter.dispose()


async def test_outer_timeout_traps_code_that_never_checks_the_clock() -> None:
    adapter = create_double_vm_adapter(outer_timeout=250)
    try:
        started = time.perf_counter()
        outcome = await run_raw(adapter, "for (;;) {}", limits(timeout_ms=5000))
        elapsed = time.perf_counter() - started
        assert (outcome.code, outcome.message) == ("TIMEOUT", "Execution timed out after 250ms")
        assert 0.25 <= elapsed < 1.0
        assert adapter.retired_threads == 0  # the epoch trap ended it: no thread had to be abandoned
        await assert_next_run_works(adapter)
    finally:
        adapter.dispose()


async def test_run_timeout_is_enforced_by_the_epoch_without_options(adapter: DoubleVmAdapter) -> None:
    outcome = await run_raw(adapter, "for (;;) {}", limits(timeout_ms=200))
    assert outcome.code == "TIMEOUT" and adapter.retired_threads == 0
    await assert_next_run_works(adapter)


async def test_one_huge_allocation_hits_the_linear_memory_cap(adapter: DoubleVmAdapter) -> None:
    # QuickJS's own accounting misses the size of single blocks in this build: the store's cap must catch it.
    outcome = await run_raw(adapter, "const s = 'x'.repeat(2 ** 26); return s.length", limits(memory_limit=16 << 20))
    assert outcome.code == "MEMORY_LIMIT_EXCEEDED", outcome
    await assert_next_run_works(adapter)


async def test_many_small_allocations_hit_the_memory_limit(adapter: DoubleVmAdapter) -> None:
    with Enclave(adapter=adapter, memory_limit=16 << 20, max_iterations=10**9) as enclave:
        result = await enclave.run("const a = []; for (let i = 0; i < 1e7; i++) { a.push({ i }) } return a.length")
    assert result.error is not None and result.error.code is ErrorCode.MEMORY_LIMIT_EXCEEDED
    await assert_next_run_works(adapter)


async def test_memory_usage_is_the_heap_high_water_mark(adapter: DoubleVmAdapter) -> None:
    with Enclave(adapter=adapter, max_iterations=10**9) as enclave:
        small = await enclave.run("return 1")
        big = await enclave.run("let a = []; for (let i = 0; i < 200000; i++) { a.push({ i }) } a = null; return 1")
    assert small.stats.memory_usage is not None and big.stats.memory_usage is not None
    assert big.stats.memory_usage > small.stats.memory_usage + 5_000_000


async def test_deep_recursion_is_a_clean_runtime_error(adapter: DoubleVmAdapter) -> None:
    with Enclave(adapter=adapter) as enclave:
        fine = await enclave.run("const f = (n) => n ? 1 + f(n - 1) : 0; return f(400)")
        deep = await enclave.run("const f = (n) => f(n + 1) + 1; return f(0)")
    assert fine.value == 400
    assert deep.error is not None and deep.error.code is ErrorCode.RUNTIME_ERROR
    assert deep.error.message == "Maximum call stack size exceeded"
    await assert_next_run_works(adapter)


async def test_c_stack_overrun_by_huge_frames_is_caught_by_the_guard_bytes(adapter: DoubleVmAdapter) -> None:
    # 600 locals make each JS frame far bigger on the C stack than on the native stack: the C stack runs
    # out first and writes below its region; the run must end as a stack overflow, not go on corrupted.
    locals_ = ", ".join(f"a{i} = n + {i}" for i in range(600))
    body = f"const f = (n) => {{ const {locals_}; return n > 0 ? f(n - 1) + a0 - n : 0 }}; return f(100000)"
    outcome = await run_raw(adapter, body)
    assert (outcome.code, outcome.message) == ("RUNTIME_ERROR", "Maximum call stack size exceeded")
    await assert_next_run_works(adapter)


async def test_the_guest_sees_no_wasi_world(adapter: DoubleVmAdapter) -> None:
    outcome = await run_raw(
        adapter,
        "return [typeof std, typeof os, typeof scriptArgs, typeof print, typeof require, typeof process]",
    )
    assert outcome.ok and json.loads(outcome.value_json) == ["undefined"] * 6


# ---- the glue and the module ----


def test_a_reference_outside_linear_memory_is_refused() -> None:
    warm = WarmWasmContext()
    with pytest.raises(EngineTerminated, match="out-of-bounds"):
        warm.vm._read(2**32 - 8, 64)
    assert warm.vm.dead
    with pytest.raises(EngineTerminated):
        warm.vm.eval("1")  # a dead instance is never called again


def test_reads_and_writes_follow_linear_memory_as_it_grows() -> None:
    # The glue bounds accesses by a cached memory size; memory the engine grew since is reachable.
    warm = WarmWasmContext()
    vm = warm.vm
    before = vm.heap_bytes()
    block = 8 << 20
    ptr = vm.malloc(block)  # grows linear memory inside the engine
    vm._write(ptr + block - 4, b"abcd")
    assert vm._read(ptr + block - 4, 4) == b"abcd"
    # Memory grew (by less than the block when the heap already had free space: the prelude's warm-up
    # leaves some), and the end of the block is readable above.
    assert vm.heap_bytes() > before
    with pytest.raises(EngineTerminated, match="out-of-bounds"):
        vm._read(ptr + block + (64 << 20), 4)  # far past the end: still refused


def test_prelude_bytecode_loads_into_a_fresh_instance_like_the_source() -> None:
    # Warm instances load the prelude compiled once per process; it behaves as the source evaluated.
    warm = WarmWasmContext()
    vm = warm.vm
    value = vm.eval("[typeof callTool, typeof console.log, typeof eval, Object.isFrozen(Array.prototype)].join()")
    try:
        assert vm.to_text(value) == "function,function,undefined,true"
    finally:
        vm.free(value)


def test_stack_relocation_moves_the_stack_pointer_above_the_initial_memory() -> None:
    original = module_path().read_bytes()
    patched, layout = relocate_stack(original, pages=16)
    assert layout.top - layout.bottom == 16 * PAGE
    assert layout.bottom == 3 * PAGE  # the build's initial memory is 3 pages
    _, same = relocate_stack(patched, pages=0)
    assert same.bottom == layout.top and same.top == layout.top  # the patched module reads back as written
    with pytest.raises(ValueError):
        relocate_stack(b"\0asm\x02\0\0\0")


def test_compiled_module_is_cached_and_reused(tmp_path: Path) -> None:
    script = textwrap.dedent(
        """
        import time
        started = time.perf_counter()
        from enclave_vm.engine.wasm_module import get_runtime
        runtime = get_runtime()
        print(runtime.from_cache, round(time.perf_counter() - started, 3))
        """
    )
    env = {**os.environ, "ENCLAVE_VM_CACHE_DIR": str(tmp_path / "cache")}

    def start() -> tuple[str, float]:
        done = subprocess.run(
            [sys.executable, "-c", script], capture_output=True, text=True, timeout=120, env=env, check=True
        )
        cached, seconds = done.stdout.split()
        return cached, float(seconds)

    assert start()[0] == "False"
    files = list((tmp_path / "cache").glob("*.cwasm"))
    assert len(files) == 1 and get_runtime().wasmtime_version in files[0].name
    assert start()[0] == "True"
    files[0].chmod(0o666)  # writable by others: compiled code from there is never loaded
    assert start()[0] == "False"


async def test_a_prewarmed_instance_that_waited_past_its_warm_up_budget_still_runs(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # The epoch advances while any run is inside the VM; an instance warmed long before its run must get
    # the run's deadline before it executes anything, or its first call traps as a timeout.
    from enclave_vm.engine import wasm_glue

    monkeypatch.setattr(wasm_glue, "WARM_BUDGET_S", 0.05)
    fresh = create_double_vm_adapter()
    try:
        async with Enclave(adapter=fresh, tool_handler=async_tools, timeout=5000) as enclave:
            # Two engine threads, each left holding a prewarmed instance with a 50 ms warm-up budget.
            await asyncio.gather(enclave.run("return 1;"), enclave.run("return 2;"))
            await asyncio.sleep(0.05)
            slow = asyncio.create_task(enclave.run("await callTool('sleep', { seconds: 0.4 }); return 'slow';"))
            await asyncio.sleep(0.25)  # the epoch ticks for the slow run; the idle instance's budget passes
            quick = await enclave.run("return 'quick';")
            assert quick.success, quick.error
            assert quick.value == "quick"
            assert (await slow).value == "slow"
    finally:
        fresh.dispose()
