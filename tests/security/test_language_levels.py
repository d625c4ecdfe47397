"""Attacks on the constructs the levels above STRICT add, at STANDARD, through every adapter: functions
(`this`, `new`), `while` loops (counted), classes (prototype access through class syntax), regular
expressions (catastrophic backtracking ends at the deadline), `Promise.all` over tool calls (counted before
any runs, bounded concurrency), `throwOnError`, the `tools` namespace and TypeScript input."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest
from attack_helpers import MI, MT, RE, TE, TO, VE, Expect, attack, check_host_untouched, fails, returns, sentinel_tools

from enclave_vm import Enclave, ErrorCode

FUNCTIONS: list[tuple[str, str, Expect]] = [
    ("function-this", "function f() { return this } return f()", fails(VE)),
    ("function-expression-this", "const f = function () { return this.x }; return f()", fails(VE)),
    ("arrow-in-function-this", "function f() { return (() => this)() } return f()", fails(VE)),
    ("function-in-method-this", "class A { m() { return (function () { return this })() } } return 1", fails(VE)),
    ("new-user-function", "function F() { } return typeof new F()", fails(RE)),
    ("new-aliased-function", "const F = function () {}; const G = F; return new G()", fails(RE)),
    ("new-async-function", "async function F() {} return new F()", fails(RE)),
    ("new-function-caught", "function F() {} try { new F() } catch (e) { return e.message }",
     returns("A function cannot be called with new; use a class")),
    ("generator", "function* g() { while (true) yield 1 } return [...g()]", fails(VE)),
    ("function-arguments", "function f() { return arguments } return f(1)", fails(VE)),
    ("function-recursion-bounded", "function f(n) { return f(n + 1) + 1 } return f(0)", fails(RE)),
]  # fmt: skip

LOOPS: list[tuple[str, str, Expect]] = [
    ("while-true-counted", "let i = 0; while (true) { i++; if (i < 0) break; } return i", fails(MI)),
    ("while-condition-call", "const go = () => true; while (go()) {} return 1", fails(MI)),
    ("do-while-counted", "let i = 0; do { i++ } while (i > 0) return i", fails(MI)),
    ("do-while-single-statement", "let i = 0; do i++; while (i > 0) return i", fails(MI)),
    ("while-true-no-exit", "while (true) {}", fails(VE)),
    ("while-count-caught", "let i = 0; try { while (i >= 0) i++ } catch (e) {} return i", fails(MI)),
    ("while-in-function", "function spin() { let n = 0; while (n >= 0) n++; return n } return spin()", fails(MI)),
]

CLASSES: list[tuple[str, str, Expect]] = [
    ("class-prototype", "class A {} return A.prototype", fails(VE)),
    ("class-computed-prototype", "class A {} return A['proto' + 'type']", fails(VE)),
    ("this-constructor", "class A { m() { return this.constructor } } return new A().m()", fails(VE)),
    ("super-constructor", "class B {} class A extends B { m() { return super.constructor } } return 1", fails(VE)),
    ("static-this-computed", "class A { static m() { return this['constr' + 'uctor'] } } return A.m()", fails(VE)),
    ("this-proto", "class A { m() { const o = this; return o.__proto__ } } return new A().m()", fails(VE)),
    ("extends-builtin", "class A extends Array {} return new A(3).length", fails(VE)),
    ("extends-object", "class A extends Object {} return 1", fails(VE)),
    ("extends-null", "class A extends null {} return 1", fails(VE)),
    ("extends-call", "const f = () => class {}; class A extends f() {} return 1", fails(VE)),
    ("extends-promise", "class P extends Promise {} return P.resolve(1)", fails(VE)),
    ("getter", "class A { get x() { return globalThis } } return new A().x", fails(VE)),
    ("setter", "class A { set x(v) {} } return 1", fails(VE)),
    ("static-block", "class A { static { this.y = 1 } } return A.y", fails(VE)),
    ("private-field", "class A { #x = 1; m() { return this.#x } } return new A().m()", fails(VE)),
    ("this-in-computed-key", "class A { [this] = 1 } return 1", fails(VE)),
    ("get-line-break-getter", "class A { get\nx() { return 1 } } return new A().x", fails(VE)),
    ("escaped-constructor-method", "class A { \\u0063onstructor() {} } return 1", fails(VE)),
    ("constructor-returns-this-ok", "class A { constructor() { this.v = 2 } } return new A().v", returns(2)),
    ("static-this-is-class", "class A { static k = 3; static m() { return this.k } } return A.m()", returns(3)),
    ("error-prototype-write", "class E extends Error {} E.prototype.x = 1; return 1", fails(VE)),
    ("error-capture-stack", "Error.captureStackTrace({}); return 1", fails(VE)),
    ("error-prepare-stack", "const E = Error; return 1", fails(VE)),
]

PROMISES: list[tuple[str, str, Expect]] = [
    ("new-promise", "return await new Promise((r) => r(1))", fails(VE)),
    ("thenable-method", "return await Promise.resolve({ then(r) { r(1) } })", fails(VE)),
    ("thenable-global", "return await Promise.resolve({ then: (r) => r(globalThis) })", fails(VE)),
    ("thenable-calltool", "return await Promise.resolve({ then: (r) => r(callTool) })", fails(VE)),
    ("promise-prototype", "Promise.prototype.then = null", fails(VE)),
    ("promise-alias", "const P = Promise; return P.all([])", fails(VE)),
    ("throw-on-error-keeps-limits", "for (let i = 0; i < 50; i++) await callTool('echo', {}, { throwOnError: false })",
     fails(MT)),
    ("throw-on-error-soft", "const r = await callTool('fail', { message: 'no' }, { throwOnError: false }); return r",
     returns({"ok": False, "error": {"message": "no"}})),
    ("throw-on-error-getter", "return await callTool('fail', {}, { get throwOnError() { return false } })", fails(VE)),
    ("all-rejects-tool-error", "await Promise.all([callTool('echo', {}), callTool('fail', {})])", fails(TE)),
]  # fmt: skip

REGEX: list[tuple[str, str, Expect]] = [
    ("nested-quantifier", "return /(a+)+$/.test('a'.repeat(40) + '!')", fails(TO)),
    ("alternation", "return /^(a|a)*b$/.test('a'.repeat(40))", fails(TO)),
    ("regexp-constructor", "return new RegExp('(x+x+)+y').test('x'.repeat(40))", fails(TO)),
    ("replace-catastrophic", "return 'a'.repeat(50).replace(/(a*)*b/g, '-')", fails(TO)),
    ("caught-timeout", "try { /(a+)+$/.test('a'.repeat(40) + '!') } catch (e) {} return 'escaped'", fails(TO)),
    ("regexp-prototype", "RegExp.prototype.exec = () => null", fails(VE)),
]

ALL = FUNCTIONS + LOOPS + CLASSES + PROMISES


@pytest.mark.parametrize(("code", "expect"), [c[1:] for c in ALL], ids=[c[0] for c in ALL])
async def test_standard_constructs(std: Enclave, code: str, expect: Expect) -> None:
    await attack(std, code, expect)


@pytest.mark.parametrize(("code", "expect"), [c[1:] for c in REGEX], ids=[c[0] for c in REGEX])
async def test_regex_backtracking_ends_at_the_deadline(cpu: Enclave, code: str, expect: Expect) -> None:
    started = time.perf_counter()
    await attack(cpu, code, expect)
    assert time.perf_counter() - started < 5 * 0.3 + 1.0  # the 300 ms timeout, 5x, plus the next run


class Counting:
    """A sync tool that counts its calls and the most calls running at once."""

    def __init__(self) -> None:
        self.calls = 0
        self.running = 0
        self.most = 0
        self._lock = threading.Lock()

    def __call__(self, name: str, args: dict[str, Any], context: Any) -> Any:
        with self._lock:
            self.calls += 1
            self.running += 1
            self.most = max(self.most, self.running)
        try:
            return sentinel_tools(name, args, context)
        finally:
            with self._lock:
                self.running -= 1


async def test_promise_all_of_1000_runs_none_past_the_limit(make_enclave: Any) -> None:
    tool = Counting()
    enclave = make_enclave(tool_handler=tool, max_tool_calls=10)
    code = "await Promise.all(Array.from({ length: 1000 }, (_, i) => callTool('echo', { i }))); return 'done'"
    result = await attack(enclave, code, fails(MT))
    assert tool.calls == 0  # the batch is refused whole: nothing of it ran
    assert result.stats.tool_call_count <= 10
    check_host_untouched()


async def test_promise_all_within_the_limit_runs_every_call(make_enclave: Any) -> None:
    tool = Counting()
    enclave = make_enclave(tool_handler=tool, max_tool_calls=10)
    code = "const r = await Promise.all(Array.from({ length: 10 }, (_, i) => callTool('echo', { i }))); return r.length"
    await attack(enclave, code, returns(10))
    assert tool.calls == 10


async def test_concurrency_is_bounded_by_max_concurrent_tool_calls(make_enclave: Any) -> None:
    tool = Counting()
    enclave = make_enclave(tool_handler=tool, max_concurrent_tool_calls=2, max_tool_calls=50)
    code = "return (await Promise.all(Array.from({ length: 40 }, (_, i) => callTool('echo', { i })))).length"
    await attack(enclave, code, returns(40))
    assert tool.calls == 40 and tool.most <= 2


async def test_calls_of_one_batch_really_run_together(make_enclave: Any) -> None:
    barrier = threading.Barrier(3, timeout=10)

    def meet(name: str, args: dict[str, Any], context: Any) -> Any:
        barrier.wait()  # only returns once three calls are inside at the same time
        return args["i"]

    enclave = make_enclave(tool_handler=meet, timeout=20_000)
    code = "return await Promise.all([0, 1, 2].map((i) => callTool('meet', { i })))"
    await attack(enclave, code, returns([0, 1, 2]))


def _tool_threads() -> int:
    return sum(1 for thread in threading.enumerate() if thread.name.startswith("enclave-tool"))


@pytest.fixture
def release() -> Iterator[threading.Event]:
    event = threading.Event()
    yield event
    event.set()


async def test_a_hung_sync_tool_holds_one_thread_of_the_pool(make_enclave: Any, release: threading.Event) -> None:
    entered = threading.Semaphore(0)

    def tools(name: str, args: dict[str, Any], context: Any) -> Any:
        if name == "hang":
            entered.release()
            release.wait(60)
        return name

    before = _tool_threads()
    enclave = make_enclave(tool_handler=tools, max_concurrent_tool_calls=2, timeout=300)
    hung = await enclave.run("return await callTool('hang', {})")
    assert hung.error is not None and hung.error.code is ErrorCode.TIMEOUT
    assert entered.acquire(timeout=10)
    # One thread is held; the other still serves calls, one after another.
    for _ in range(3):
        assert (await enclave.run("return await callTool('quick', {})")).value == "quick"
    assert _tool_threads() - before <= 2
    # With both threads held, a call waits for a thread and its run ends at its deadline (documented).
    second = await enclave.run("return await callTool('hang', {})")
    assert second.error is not None and second.error.code is ErrorCode.TIMEOUT
    assert entered.acquire(timeout=10)
    starved = await enclave.run("return await callTool('quick', {})")
    assert starved.error is not None and starved.error.code is ErrorCode.TIMEOUT
    release.set()
    served = False
    for _ in range(50):  # the held threads come back once the tools return; no clock involved
        result = await enclave.run("return await callTool('quick', {})", timeout=5000)
        if result.success:
            served = True
            break
    assert served


async def test_the_tools_namespace_is_frozen(make_enclave: Any) -> None:
    def tools(name: str, args: dict[str, Any], context: Any) -> Any:
        return sentinel_tools(name.removeprefix("ns:"), args, context)

    enclave = make_enclave(tool_handler=tools, tool_names=["echo", "fail", "ns:echo"])
    await attack(enclave, "tools.echo = null", fails(VE))
    await attack(enclave, "const t = tools; return t", fails(VE))
    await attack(enclave, "return await tools.nope({})", fails(VE))
    await attack(enclave, "return await callTool('nope', {})", fails(VE))
    await attack(enclave, "return await tools.ns.echo({ a: 1 })", returns({"a": 1}))
    await attack(enclave, "return (await tools.fail({ message: 'x' }, { throwOnError: false })).ok", returns(False))


TYPESCRIPT: list[tuple[str, str, Expect]] = [
    ("ts-eval-as-any", "const e = eval as any; return e('1')", fails(VE)),
    ("ts-global-this", "return (globalThis as any).process", fails(VE)),
    ("ts-type-query-only", "type T = typeof globalThis; const x: T | null = null; return 1", returns(1)),
    ("ts-decorator", "function d(x: any) { return x } @d class A {} return 1", fails(VE)),
    ("ts-enum", "enum E { A = 1 } return E.A", fails(VE)),
    ("ts-namespace", "namespace N { export const x = 1 } return 1", fails(VE)),
    ("ts-parameter-property", "class A { constructor(public x: number) {} } return new A(1).x", fails(VE)),
    ("ts-as-then-call", "let f = (x: number) => x\nconst y = f as any\n(1)\nreturn y", fails(VE)),
    ("ts-while-counted", "let i: number = 0; while (i >= 0) { i++ } return i", fails(MI)),
    ("ts-prototype-through-cast", "class A {} return (A as any).prototype", fails(VE)),
]


@pytest.mark.parametrize(("code", "expect"), [c[1:] for c in TYPESCRIPT], ids=[c[0] for c in TYPESCRIPT])
async def test_typescript_input(std: Enclave, code: str, expect: Expect) -> None:
    await attack(std, code, expect, language="typescript")
