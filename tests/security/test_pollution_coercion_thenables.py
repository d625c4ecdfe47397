"""Prototype pollution of the builtins the prelude and bridge use, coercion tricks on tool arguments and
on the returned value, and thenables.

The prelude captures its intrinsics before guest code runs and freezes the shared ones, so pollution
throws (strict mode) instead of changing what the bridge does. Cases whose syntax the finished guard
rejects (`prototype`, `__proto__`, `defineProperty`, getters/methods in literals, `function`) also accept
VALIDATION_ERROR: the layer that stops them depends on how much of the guard is in force.
"""

from __future__ import annotations

import pytest
from attack_helpers import RE, TE, VE, Expect, attack, fails, returns

from enclave_vm import Enclave

POLLUTION: list[tuple[str, str, Expect]] = [
    (
        "json-stringify-assign",
        "JSON.stringify = () => '{\"x\":1}'; return await callTool('echo', {a: 1})",
        fails(VE, RE),
    ),
    ("json-parse-assign", "JSON.parse = () => 1; return await callTool('echo', {a: 1})", fails(VE, RE)),
    ("json-defineProperty", "Object.defineProperty(JSON, 'stringify', { value: () => '1' }); return 1", fails(VE, RE)),
    ("promise-then-assign", "Promise.prototype.then = () => 1; return 1", fails(VE, RE)),
    ("promise-resolve-assign", "Promise.resolve = () => 1; return 1", fails(VE, RE)),
    ("promise-global-shadow", "const Promise = null; return await callTool('echo', {a: 1})", returns({"a": 1}, VE)),
    ("array-push-assign", "Array.prototype.push = () => 0; return 1", fails(VE, RE)),
    ("array-join-assign", "Array.prototype.join = () => 'x'; return 1", fails(VE, RE)),
    ("array-iterator-assign", "Array.prototype[Symbol.iterator] = () => ({}); return 1", fails(VE, RE)),
    ("object-proto-toJSON", "Object.prototype.toJSON = () => 'pwned'; return {a: 1}", fails(VE, RE)),
    ("object-proto-then", "Object.prototype.then = (r) => r(1); return {a: 1}", fails(VE, RE)),
    ("object-proto-via-dunder", "({}).__proto__.polluted = 1; return ({}).polluted", fails(VE, RE)),
    ("object-proto-setter", "Object.defineProperty(Object.prototype, '1', { set: (v) => 0 }); return 1", fails(VE, RE)),
    (
        "object-proto-getter-length",
        "Object.defineProperty(Object.prototype, 'length', { get: () => 1e9 }); return 1",
        fails(VE, RE),
    ),
    (
        "array-proto-length-index",
        "Object.defineProperty(Array.prototype, '0', { get: () => 'x' }); return 1",
        fails(VE, RE),
    ),
    ("setPrototypeOf-object-proto", "Object.setPrototypeOf(Object.prototype, {}); return 1", fails(VE, RE)),
    ("string-proto-toJSON", "String.prototype.toJSON = () => 1; return 'a'", fails(VE, RE)),
    ("number-proto-toJSON", "Number.prototype.toJSON = () => 1; return 1", fails(VE, RE)),
    ("error-proto-message", "Error.prototype.message = 'x'; return 1", fails(VE, RE)),
    ("error-proto-toString", "Error.prototype.toString = () => 'x'; return 1", fails(VE, RE)),
    ("function-proto-call", "Function.prototype.call = () => 1; return 1", fails(VE, RE)),
    ("function-proto-apply", "(() => 1).__proto__.apply = () => 1; return 1", fails(VE, RE)),
    ("reflect-apply-assign", "Reflect.apply = () => 1; return 1", fails(VE, RE)),
    ("math-assign", "Math.max = () => 1; return Math.max(1, 2)", fails(VE, RE)),
    ("object-keys-assign", "Object.keys = () => []; return 1", fails(VE, RE)),
    ("object-freeze-assign", "Object.freeze = (x) => x; return 1", fails(VE, RE)),
    ("symbol-proto-assign", "Symbol.prototype.toString = () => 1; return 1", fails(VE, RE)),
    ("console-log-assign", "console.log = () => 1; return 1", fails(VE, RE)),
    (
        "date-toJSON-own-value",  # Date is not shared with the bridge: the guest only changes its own value
        "Date.prototype.toJSON = () => 'mine'; return await callTool('echo', {d: new Date(0)})",
        returns({"d": "mine"}, VE),
    ),
    (
        "typeerror-proto-name-own-errors",
        "TypeError.prototype.name = 'Fake'; try { null.x } catch (e) { return e.name }",
        returns("Fake", VE),
    ),
    (
        "polluted-then-still-bridge",
        "try { Object.prototype.then = 1 } catch (e) {} return await callTool('echo', {ok: true})",
        returns({"ok": True}, VE),
    ),
    (
        "polluted-json-still-returns",
        "try { JSON.stringify = () => 'x' } catch (e) {} return {ok: [1, 2]}",
        returns({"ok": [1, 2]}, VE),
    ),
]

COERCION: list[tuple[str, str, Expect]] = [
    ("args-toJSON-string", "return await callTool('echo', { toJSON: () => 'notobject' })", fails(VE, TE)),
    ("args-toJSON-array", "return await callTool('echo', { toJSON: () => [1, 2] })", fails(VE, TE)),
    ("args-toJSON-object", "return await callTool('echo', { toJSON: () => ({ a: 1 }) })", returns({"a": 1})),
    ("args-toJSON-throws", "return await callTool('echo', { toJSON: () => { throw new Error('t') } })", fails(VE, TE)),
    ("args-getter", "return await callTool('echo', { get x() { return 1 } })", returns({"x": 1}, VE)),
    ("args-getter-throws", "return await callTool('echo', { get x() { throw new Error('g') } })", fails(VE, TE)),
    (
        "args-getter-calls-tool",
        "return await callTool('echo', { get x() { return callTool('echo', {}) } })",
        returns({"x": {}}, VE),
    ),
    ("args-array", "return await callTool('echo', [1, 2])", fails(TE)),
    ("args-null", "return await callTool('echo', null)", fails(TE)),
    ("args-string", "return await callTool('echo', 'a')", fails(TE)),
    ("args-number", "return await callTool('echo', 42)", fails(TE)),
    ("args-function", "return await callTool('echo', () => 1)", fails(TE)),
    ("args-undefined", "return await callTool('echo')", returns({})),
    ("args-map", "return await callTool('echo', new Map([[1, 2]]))", returns({}, VE)),
    (
        "args-proxy-ownKeys-throws",
        "return await callTool('echo', new Proxy({}, { ownKeys: () => { throw new Error('p') } }))",
        fails(VE, TE),
    ),
    (
        "args-proxy-get-lies",
        "return await callTool('echo', new Proxy({a: 1}, { get: () => 'lie' }))",
        returns({"a": "lie"}, VE),
    ),
    ("args-symbol-keys", "return await callTool('echo', { [Symbol('s')]: 1, a: 2 })", returns({"a": 2}, VE)),
    ("args-undefined-values", "return await callTool('echo', { a: undefined, b: () => 1 })", returns({})),
    ("args-date", "return await callTool('echo', { d: new Date(0) })", returns({"d": "1970-01-01T00:00:00.000Z"})),
    ("name-object-toString", "return await callTool({ toString: () => 'echo' }, {})", fails(VE, TE)),
    ("name-String-object", "return await callTool(new String('echo'), {})", fails(VE, TE)),
    ("name-number", "return await callTool(1, {})", fails(VE, TE)),
    ("name-symbol", "return await callTool(Symbol('echo'), {})", fails(VE, TE)),
    ("name-array", "return await callTool(['echo'], {})", fails(VE, TE)),
    ("name-empty", "return await callTool('', {})", fails(TE)),
    ("name-too-long", "return await callTool('e'.repeat(257), {})", fails(VE, TE)),
    ("name-nul", "return await callTool('echo\\u0000', {})", fails(TE)),
    ("name-newline", "return await callTool('echo\\n', {})", fails(TE)),
    ("name-lone-surrogate", "return await callTool('\\ud800', {})", fails(TE)),
    ("name-proto", "return await callTool('__proto__', {})", fails(TE)),
    ("return-toJSON", "return { toJSON: () => 7 }", returns(7)),
    ("return-toJSON-throws", "return { toJSON: () => { throw new Error('x') } }", fails(VE, RE)),
    ("return-getter-throws", "return { get x() { throw new Error('x') } }", fails(VE, RE)),
    ("return-bigint", "return 10n", fails(RE)),
    ("return-bigint-nested", "return { a: [1n] }", fails(RE)),
    ("return-cyclic", "const a = []; a.push(a); return a", fails(RE)),
    ("return-function", "return () => 1", returns(None)),
    ("return-symbol", "return Symbol('x')", returns(None, VE)),
    ("return-undefined", "return undefined", returns(None)),
    ("return-nan", "return NaN", returns(None)),
    ("return-infinity", "return [Infinity, -Infinity]", returns([None, None])),
    ("return-negative-zero", "return -0", returns(0)),
    ("return-proxy-throws", "return new Proxy({}, { ownKeys: () => { throw new Error('p') } })", fails(VE, RE)),
    ("return-lone-surrogate", "return '\\ud800'", returns("\ud800")),
    ("return-error-object", "return new Error('x')", returns({}, VE)),
    ("return-typed-array", "return new Uint8Array([1, 2])", returns({"0": 1, "1": 2}, VE)),
    ("throw-object-with-toString", "throw { toString: () => { throw new Error('nested') } }", fails(VE, RE)),
    (
        "throw-getter-message",
        "const e = new Error('x'); Object.defineProperty(e, 'message', { get: () => { throw 1 } }); throw e",
        fails(VE, RE),
    ),
    ("throw-symbol", "throw Symbol('s')", fails(VE, RE)),
    ("throw-bigint", "throw 5n", fails(RE)),
    ("throw-proxy", "throw new Proxy(new Error('x'), {})", fails(VE, RE)),
]

THENABLES: list[tuple[str, str, Expect]] = [
    ("return-thenable", "return { then: (r) => r(5) }", returns(5)),
    ("return-thenable-throws", "return { then: () => { throw new Error('t') } }", fails(VE, RE)),
    ("return-thenable-never", "return { then: () => {} }", fails(RE)),
    ("return-thenable-calls-tool", "return { then: (r) => r(callTool('echo', { t: 1 })) }", returns({"t": 1})),
    (
        "await-thenable-getter",
        "let n = 0; const t = { get then() { n++; return (r) => r(n) } }; return await t",
        returns(1, VE),
    ),
    ("await-never", "await new Promise(() => {}); return 1", fails(VE, RE)),
    ("tool-result-thenable-shape", "const v = await callTool('echo', { then: 1 }); return v", returns({"then": 1})),
    ("tool-args-thenable", "return await callTool('echo', { then: (r) => r(1) })", returns({})),
    (
        "promise-all-thenables",
        "return await Promise.all([{ then: (r) => r(1) }, callTool('echo', { a: 2 })])",
        returns([1, {"a": 2}], VE),
    ),
    (
        "promise-race-tool",
        "return await Promise.race([callTool('echo', { a: 1 }), new Promise(() => {})])",
        returns({"a": 1}, VE),
    ),
    ("unhandled-rejection-ignored", "Promise.reject(new Error('x')); return 2", returns(2, VE)),
    (
        "tool-error-caught",
        "try { await callTool('fail', { message: 'no' }) } catch (e) { return e.message }",
        returns("no"),
    ),
    ("tool-error-uncaught", "await callTool('fail', { message: 'no' })", fails(TE)),
    ("tool-nonjson-result", "return await callTool('nonjson', {})", fails(TE)),
    ("tool-nan-result", "return await callTool('nan', {})", fails(TE)),
    ("tool-cyclic-result", "return await callTool('cyclic', {})", fails(TE)),
]

CASES = POLLUTION + COERCION + THENABLES

#: A guest rejecting with `null` is an ordinary rejection, not the allocator failing.
NULL_REJECTIONS: list[tuple[str, str, Expect]] = [
    ("thenable-rejects-null", "return { then: (_, j) => j(null) }", fails(RE)),
    ("thenable-rejects-undefined", "return { then: (_, j) => j(undefined) }", fails(RE)),
    ("async-arrow-rejects-null", "const f = async () => { throw null }; await f(); return 1", fails(RE)),
]


@pytest.mark.parametrize(("code", "expect"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
async def test_pollution_coercion_thenables(std: Enclave, code: str, expect: Expect) -> None:
    await attack(std, code, expect)


@pytest.mark.xfail(
    strict=True,
    reason="a guest rejection with null/undefined (not thrown by a `throw` statement) is classified as "
    "MEMORY_LIMIT_EXCEEDED by the prelude's isExhaustion",
)
@pytest.mark.parametrize(
    ("code", "expect"), [c[1:] for c in NULL_REJECTIONS[:2]], ids=[c[0] for c in NULL_REJECTIONS[:2]]
)
async def test_null_rejection_is_not_out_of_memory(std: Enclave, code: str, expect: Expect) -> None:
    await attack(std, code, expect)


@pytest.mark.parametrize(
    ("code", "expect"), [c[1:] for c in NULL_REJECTIONS[2:]], ids=[c[0] for c in NULL_REJECTIONS[2:]]
)
async def test_thrown_null_is_runtime_error(std: Enclave, code: str, expect: Expect) -> None:
    await attack(std, code, expect)
