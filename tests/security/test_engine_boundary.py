"""The engine boundary without the guard: programs the guard would reject, straight into the engine.

Each program is either the raw body wrapped as the engine expects (no instrumentation at all) or the
instrumented body (hooks, but never validated). Either way nothing of the host is reachable, the engine
limits hold, and the next session works.
"""

from __future__ import annotations

import pytest
from attack_helpers import (
    MI,
    ML,
    MT,
    RE,
    TE,
    TO,
    Expect,
    engine_attack,
    engine_limits,
    fails,
    instrumented,
    returns,
    wrap,
)

RAW: list[tuple[str, str, Expect]] = [
    ("eval", "return eval('1')", fails(RE)),
    ("Function", "return Function('return 1')()", fails(RE)),
    ("ctor-chain", "return ({}).constructor.constructor('return this')()", fails(RE)),
    ("async-ctor", "return (async () => 1).constructor('return 1')", fails(RE)),
    ("generator-ctor", "return (function* () {}).constructor('yield 1')", fails(RE)),
    ("function-expr-this", "return (function () { return typeof this })()", returns("undefined")),
    ("sloppy-function-this", "return (0, function () { return this === globalThis }).call(undefined)", returns(False)),
    (
        "globalThis-keys-no-host",
        "return Object.getOwnPropertyNames(globalThis).filter(k => /^(py|host|secret|os$|std$|process|require)/i.test(k))",  # noqa: E501
        returns([]),
    ),
    ("proto-pollution", "Object.prototype.x = 1; return 1", fails(RE)),
    ("json-pollution", "JSON.stringify = () => '{}'; return 1", fails(RE)),
    ("promise-then-pollution", "Promise.prototype.then = () => 1; return 1", fails(RE)),
    ("array-proto-pollution", "Array.prototype.push = () => 1; return 1", fails(RE)),
    (
        "ctl-hidden",
        "return typeof ctl + typeof cfg + typeof pending + typeof outbox",
        returns("undefinedundefinedundefinedundefined"),
    ),
    ("hook-forge-iterations", "__ag_iter(-1e9, 1); return 1", returns(1)),
    ("hook-bad-count", "__ag_iter('x'); return 1", fails(RE)),
    ("while-true", "while (true) {}", fails(TO)),
    ("regex-backtracking", "return /(a+)+$/.test('a'.repeat(40) + 'b')", fails(TO)),
    (
        "microtask-spin",
        "const spin = async () => { await null; return spin() }; await spin()",
        fails(TO, ML),
    ),  # no hooks: the pending chain exhausts the heap or the clock, whichever first
    ("tool-flood", "await Promise.all(Array.from({ length: 1000 }, () => callTool('echo', {})))", fails(MT)),
    (
        "tool-flood-caught-then-spin",
        "try { await Promise.all(Array.from({ length: 1000 }, () => callTool('echo', {}))) } catch (e) {} "
        "return await callTool('echo', {})",
        fails(MT),
    ),
    (
        "tool-sticky-after-catch",
        "for (let i = 0; i < 20; i++) await callTool('echo', {}); try { callTool('echo', {}) } catch (e) {} "
        "try { callTool('echo', {}) } catch (e) { return 'escaped' }",
        fails(MT),
    ),
    ("string-doubling", "let s = 'x'; for (let i = 0; i < 40; i++) s += s; return s.length", fails(ML)),
    ("deep-recursion", "const f = (n) => f(n + 1); return f(0)", fails(RE)),
    ("deep-args", "let v = 0; for (let i = 0; i < 100; i++) v = [v]; return await callTool('echo', { v })", fails(ML)),
    ("non-string-name", "return await callTool({ toString: () => 'echo' }, {})", fails(TE)),
    (
        "nested-callTool-in-stringify",
        "return await callTool('echo', { get x() { return callTool('echo', {}) } })",
        returns({"x": {}}),
    ),
    ("sparse-join", "const a = []; a.length = 2 ** 32 - 1; return a.join('')", fails(ML)),
    (
        "reflect-apply-native-join",
        "const a = []; a.length = 2 ** 32 - 1; return Reflect.apply(Array.prototype.join, a, [''])",
        fails(ML),
    ),
    ("typed-array-huge", "return new Uint8Array(2 ** 31).length", fails(ML, RE)),  # RangeError vs allocator
    ("settle-forgery", "return typeof globalThis.settle", returns("undefined")),
]

INSTRUMENTED: list[tuple[str, str, Expect]] = [
    ("while-counted", "let n = 0; while (true) { n++ }", fails(MI)),
    ("do-while-counted", "do {} while (true)", fails(MI)),
    (
        "for-in-counted",
        "const o = {}; for (let i = 0; i < 20000; i++) o['k' + i] = 1; let n = 0; for (const k in o) n++",
        fails(MI),
    ),
    (
        "function-decl-recursion-counted",
        "function f(n) { for (let i = 0; i < 100; i++) {} return n ? f(n - 1) : 0 } return f(500)",
        fails(MI),
    ),
    (
        "mi-caught-in-function-expr",
        "const r = (function () { try { for (;;) {} } catch (e) { return 'c' } })(); return r",
        fails(MI),
    ),
    ("mi-then-finally-return", "try { for (;;) {} } finally { return 'escaped' }", fails(MI)),
    ("class-method-loop", "class A { m() { for (;;) {} } } new A().m()", fails(MI)),
    ("getter-loop", "const o = { get x() { for (;;) {} } }; return o.x", fails(MI)),
    ("throw-null-plain", "throw null", fails(RE)),
]


@pytest.mark.parametrize(("body", "expect"), [c[1:] for c in RAW], ids=[c[0] for c in RAW])
def test_engine_raw(body: str, expect: Expect) -> None:
    engine_attack(wrap(body), expect, engine_limits(timeout_ms=400, max_iterations=10**12))


@pytest.mark.parametrize(("body", "expect"), [c[1:] for c in INSTRUMENTED], ids=[c[0] for c in INSTRUMENTED])
def test_engine_instrumented(body: str, expect: Expect) -> None:
    engine_attack(instrumented(body), expect, engine_limits(timeout_ms=2000))
