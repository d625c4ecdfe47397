"""Prelude integrity: property names computed at run time reach what the static rules forbid, so the
engine itself must hold. No prelude function is reachable from guest code by any path (no V8-style stack
API hands out call sites, the legacy accessor API is gone), every Error constructor and prototype is
frozen while instances still set their own `name`/`message`, and the outcome code is the host's.

Programs run below the guard (instrumented, never validated) through every adapter.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from attack_helpers import ML, RE, Expect, adapter_attack, fails, instrumented, outcome_value, returns, run_on_adapter

from enclave_vm.bridge.protocol import LimitTripped, Settled
from enclave_vm.engine.prelude_protocol import parse_state
from enclave_vm.outcome import ErrorCode, limit_code

PROTO = "['__pro', 'to__'].join('')"
DEFINE_GETTER = "['__define', 'Getter__'].join('')"

ATTACKS: list[tuple[str, str, Expect]] = [
    (
        "legacy-accessors-gone",
        f"const P = {PROTO}, D = {DEFINE_GETTER}; "
        "const names = [P, D, '__defineSetter__', '__lookupGetter__', '__lookupSetter__']; "
        "return names.map((k) => typeof Object.prototype[k] + ':' + typeof ({})[k])",
        returns(["undefined:undefined"] * 5),
    ),
    (
        "define-getter-on-internal-error",
        f"const D = {DEFINE_GETTER}; InternalError.prototype[D]('message', () => 'x'); return 1",
        fails(RE),
    ),
    (
        "define-property-on-error-prototypes",
        "const out = []; for (const C of [Error, TypeError, RangeError, InternalError, SyntaxError, "
        "AggregateError]) { try { Object.defineProperty(C.prototype, 'message', { get: () => 'x' }); "
        "out.push('planted') } catch (e) { out.push(e.name) } } return out",
        returns(["TypeError"] * 6),
    ),
    (
        "error-constructors-frozen",
        "return [Error, TypeError, RangeError, InternalError, EvalError, URIError, ReferenceError, "
        "SyntaxError, AggregateError].every((C) => Object.isFrozen(C) && Object.isFrozen(C.prototype))",
        returns(True),
    ),
    (
        "prepare-stack-trace-inert",
        "let got = 'never'; try { Error.prepareStackTrace = (e, cs) => { got = typeof cs[0].getFunction; "
        "return '' } } catch (e) { got = 'refused:' + e.name } new Error('x').stack; "
        "try { null.x } catch (e) { e.stack } return [got, typeof Error.prepareStackTrace]",
        returns(["refused:TypeError", "undefined"]),
    ),
    (
        "prepare-stack-trace-defined",
        "try { Object.defineProperty(Error, 'prepareStackTrace', { value: () => 'x' }) } catch (e) { "
        "return e.name } return 'defined'",
        returns("TypeError"),
    ),
    (
        "capture-stack-trace-gone",
        "return [typeof Error.captureStackTrace, typeof Error.stackTraceLimit]",
        returns(["undefined", "undefined"]),
    ),
    (
        "stack-is-text",
        "const e = new Error('x'); return typeof e.stack",
        returns("string"),
    ),
    (
        "caller-chain",
        "let r; try { r = (function f() { return f.caller })() } catch (e) { r = e.name } return String(r)",
        returns("TypeError"),
    ),
    (
        "forge-outcome-via-callsite",
        # The confirmed exploit: a call site's function was the control function; calling it with
        # 'trip' forged the run's code. There is no call site to get.
        "let ctl = null; try { Error.prepareStackTrace = (e, cs) => { for (const c of cs) { const f = "
        "c.getFunction && c.getFunction(); if (f && String(f).includes('drain')) ctl = f } return '' } } "
        "catch (e) {} new Error('x').stack; if (ctl) ctl('trip', 'VALIDATION_ERROR'); "
        "await callTool('echo', {}); return ctl === null",
        returns(True),
    ),
    (
        "instance-name-assignable",
        "const e = new TypeError('x'); e.name = 'NotFound'; return String(e)",
        returns("NotFound: x"),
    ),
    (
        "instance-message-assignable",
        "const e = new Error(); e.message = 'late'; return [e.message, String(e)]",
        returns(["late", "Error: late"]),
    ),
    (
        "subclass-this-name",
        "class NotFound extends Error { constructor(m) { super(m); this.name = 'NotFound' } } "
        "const e = new NotFound('gone'); return [e.name, String(e), e instanceof Error, e.message]",
        returns(["NotFound", "NotFound: gone", True, "gone"]),
    ),
    (
        "subclass-prototype-name",
        "class Nope extends RangeError {} Nope.prototype.name = 'Nope'; return String(new Nope('n'))",
        returns("Nope: n"),
    ),
    (
        "prototype-name-not-assignable",
        "try { Error.prototype.name = 'Hijacked' } catch (e) { return [e.name, new Error('x').name] } "
        "return 'assigned'",
        returns(["TypeError", "Error"]),
    ),
    (
        "name-setter-harmless",
        "const set = Object.getOwnPropertyDescriptor(Error.prototype, 'name').set; const o = {}; "
        "set.call(o, 'x'); let r; try { set.call(Error.prototype, 'y') } catch (e) { r = e.name } "
        "return [o.name, r, new Error('z').name]",
        returns(["x", "TypeError", "Error"]),
    ),
    (
        "thrown-subclass-reported",
        "class NotFound extends Error { constructor(m) { super(m); this.name = 'NotFound' } } "
        "throw new NotFound('gone')",
        fails(RE),
    ),
    (
        "proxy-identity",
        "const p = new Proxy([], {}); return [Array.isArray(p), typeof Proxy.revocable, Proxy.name, Proxy.length, "
        "'prototype' in Proxy]",
        returns([True, "function", "Proxy", 2, False]),
    ),
    (
        "global-locked",
        "let r = []; try { globalThis.JSON = {} } catch (e) { r.push(e.name) } "
        "try { globalThis.newGlobal = 1 } catch (e) { r.push(e.name) } return [r, typeof JSON.parse]",
        returns([["TypeError", "TypeError"], "function"]),
    ),
    (
        "then-replacement-harmless",
        "const then = Promise.prototype.then; return await then.call(Promise.resolve(2), (v) => v * 2)",
        returns(4),
    ),
    (
        "exhaustion-getter-planted-before-trip",
        # The finding that froze the host: a getter planted on an error prototype ran inside the binding.
        "try { Object.defineProperty(InternalError.prototype, 'name', { get() { for (;;) {} } }) } catch (e) {} "
        "let s = 'x'; for (;;) s += s",
        fails(ML),
    ),
]


@pytest.mark.parametrize(("body", "expect"), [c[1:] for c in ATTACKS], ids=[c[0] for c in ATTACKS])
async def test_prelude_integrity(raw_adapter: Any, body: str, expect: Expect) -> None:
    await adapter_attack(raw_adapter, instrumented(body), expect)


async def test_thrown_subclass_keeps_its_name(raw_adapter: Any) -> None:
    body = (
        "class NotFound extends Error { constructor(m) { super(m); this.name = 'NotFound' } } "
        "throw new NotFound('gone')"
    )
    outcome, _, _ = await run_on_adapter(raw_adapter, instrumented(body))
    assert (outcome.code, outcome.name, outcome.message) == ("RUNTIME_ERROR", "NotFound", "gone")


# ---- the audit: everything the guest can reach ----

#: Every JavaScript (non-native) function reachable from the guest's global object, by the first path the
#: walk meets it on: the documented guest API and the guarded replacements of natives. Nothing else.
GUEST_API = {
    "callTool",
    "console.log",
    "console.info",
    "console.warn",
    "console.error",
    "console.debug",
    "Date",  # records/replays the time for durable runs
    "Date.now",
    "Math.random",
    "__ag_iter",
    "__ag_tick",
    "__ag_catch",
    "__ag_thr",
    "%AsyncFunction.prototype%.constructor",  # every function prototype's constructor: it only throws
}
GUARDED_NATIVES = {
    "Array.from",
    "Array.prototype.concat",
    "Array.prototype.copyWithin",
    "Array.prototype.fill",
    "Array.prototype.flat",
    "Array.prototype.flatMap",
    "Array.prototype.join",
    "Array.prototype.reverse",
    "Array.prototype.shift",
    "Array.prototype.slice",
    "Array.prototype.sort",
    "Array.prototype.splice",
    "Array.prototype.toLocaleString",
    "Array.prototype.toReversed",
    "Array.prototype.toSorted",
    "Array.prototype.toSpliced",
    "Array.prototype.toString",
    "Array.prototype.unshift",
    "Array.prototype.with",
    "Array.prototype[Symbol.iterator]().__proto__.next",
    "Promise.prototype.then",
    "Promise.reject",
    "Proxy.revocable",
    "JSON.rawJSON",
    "String.prototype.includes",
    "String.prototype.indexOf",
    "String.prototype.lastIndexOf",
    "String.prototype.replace",
    "String.prototype.replaceAll",
    "String.prototype.split",
}
TYPED_ARRAY_GUARDS = {
    f"Uint8ClampedArray.__proto__.prototype.{key}"
    for key in (
        *("copyWithin", "fill", "includes", "indexOf", "join", "lastIndexOf", "reverse", "set", "slice", "sort"),
        *("toLocaleString", "toReversed", "toSorted", "with"),
    )
}
ERROR_ACCESSORS = {
    f"{ctor}.prototype.{key}[{part}]"
    for ctor in (
        *("Error", "EvalError", "RangeError", "ReferenceError", "SyntaxError", "TypeError", "URIError"),
        *("InternalError", "AggregateError", "SuppressedError"),
    )
    for key, parts in (("name", ("get", "set")), ("message", ("get", "set")))
    for part in parts
}

AUDIT = r"""
const seen = new Map();            // value -> first path
const found = [];                  // [path, source head] of every non-native function
const unfrozen = [];
const queue = [[globalThis, 'globalThis']];
queue.push([Object.getPrototypeOf([][Symbol.iterator]()), 'Array.prototype[Symbol.iterator]().__proto__']);
queue.push([Object.getPrototypeOf(async () => {}), '%AsyncFunction.prototype%']);
queue.push([Object.getPrototypeOf(function* () {}), '%GeneratorFunction.prototype%']);
queue.push([Object.getPrototypeOf(async function* () {}), '%AsyncGeneratorFunction.prototype%']);
const fnToString = Object.getPrototypeOf(() => 0).toString;
const label = (k) => typeof k === 'symbol' ? '[' + String(k).slice(7, -1) + ']' : k;
const join = (path, k) => path === 'globalThis' ? label(k)
  : (typeof k === 'symbol' ? path + label(k) : path + '.' + label(k));
for (let q = 0; q < queue.length; q++) {
  const [v, path] = queue[q];
  if (v === null || (typeof v !== 'object' && typeof v !== 'function') || seen.has(v)) continue;
  seen.set(v, path);
  if (typeof v === 'function') {
    const src = fnToString.call(v);
    if (!src.includes('[native code]')) found.push([path, src.slice(0, 60)]);
  }
  queue.push([Object.getPrototypeOf(v), path + '.__proto__']);
  for (const k of Reflect.ownKeys(v)) {
    const d = Object.getOwnPropertyDescriptor(v, k);
    if ('value' in d) queue.push([d.value, join(path, k)]);
    else { queue.push([d.get, join(path, k) + '[get]']); queue.push([d.set, join(path, k) + '[set]']); }
  }
}
const relied = [Object, Object.prototype, Array, Array.prototype, String, String.prototype, Number.prototype,
  Boolean.prototype, Symbol, Symbol.prototype, Promise, Promise.prototype, JSON, Math, Reflect, RegExp,
  RegExp.prototype, WeakSet.prototype, WeakMap.prototype, Date, Proxy, Object.getPrototypeOf(() => 0),
  Object.getPrototypeOf([][Symbol.iterator]()), Object.getPrototypeOf(Object.getPrototypeOf([][Symbol.iterator]())),
  Object.getPrototypeOf(Int8Array), Object.getPrototypeOf(Int8Array).prototype, BigInt.prototype,
  Error, Error.prototype, TypeError, TypeError.prototype, RangeError, RangeError.prototype, InternalError,
  InternalError.prototype, SyntaxError, SyntaxError.prototype, ReferenceError, ReferenceError.prototype,
  EvalError, EvalError.prototype, URIError, URIError.prototype, AggregateError, AggregateError.prototype,
  Object.getPrototypeOf(async () => {}), Object.getPrototypeOf(function* () {}),
  Object.getPrototypeOf(async function* () {})];
for (const o of relied) {
  if (!Object.isFrozen(o)) unfrozen.push(seen.get(o) || String(o));
  for (const k of Reflect.ownKeys(o)) {
    const d = Object.getOwnPropertyDescriptor(o, k);
    if (d.configurable || d.writable) unfrozen.push((seen.get(o) || '?') + '.' + label(k));
  }
}
const globalWritable = Reflect.ownKeys(globalThis).filter((k) => {
  const d = Object.getOwnPropertyDescriptor(globalThis, k);
  return d.configurable || d.writable;
}).map(label);
return { found, unfrozen, globalWritable, extensible: Object.isExtensible(globalThis), reached: seen.size };
"""


async def test_audit_nothing_of_the_prelude_is_reachable(raw_adapter: Any) -> None:
    outcome, _, _ = await run_on_adapter(raw_adapter, instrumented(AUDIT))
    assert outcome.ok, f"{outcome.code}: {outcome.message}"
    report = outcome_value(outcome)
    assert report["reached"] > 400  # the walk really went through the intrinsics
    paths = {path for path, _ in report["found"]}
    sources = {path: src for path, src in report["found"]}
    # The control function (it dispatches on 'init'/'drain') is nowhere.
    assert not [p for p, src in sources.items() if "case 'init'" in src or "drain" in src], sources
    allowed = GUEST_API | GUARDED_NATIVES | TYPED_ARRAY_GUARDS | ERROR_ACCESSORS
    assert paths - allowed == set(), f"unexpected prelude functions reachable: {sorted(paths - allowed)}"
    assert report["unfrozen"] == [], report["unfrozen"]
    assert report["globalWritable"] == [] and report["extensible"] is False


# ---- the outcome code is the host's ----


def _drain(sticky: str, final: list[Any] | None) -> str:
    return json.dumps([sticky, "forged", 0, [], [], final, [], [], False])


@pytest.mark.parametrize("code", ["VALIDATION_ERROR", "SCORING_BLOCKED", "TOOL_ERROR", "RUNTIME_ERROR", "bogus"])
def test_host_refuses_a_forged_sticky_code(code: str) -> None:
    step = parse_state(_drain(code, None), None)
    assert isinstance(step, LimitTripped) and step.code is ErrorCode.RUNTIME_ERROR


@pytest.mark.parametrize("code", sorted(c.value for c in ErrorCode))
def test_host_believes_a_final_record_only_for_script_codes(code: str) -> None:
    step = parse_state(_drain("", ["err", code, "Error", "m", ""]), None)
    assert isinstance(step, Settled)
    expected = code if code in ("RUNTIME_ERROR", "TOOL_ERROR") else "RUNTIME_ERROR"
    assert step.final.code == expected


@pytest.mark.parametrize("code", ["TIMEOUT", "MAX_TOOL_CALLS", "MAX_ITERATIONS", "MEMORY_LIMIT_EXCEEDED"])
def test_terminal_codes_come_from_the_sticky_state(code: str) -> None:
    assert limit_code(code) == code and limit_code("") == ""
