"""Host reachability: constructor chains, global objects, prototype walks, Python-shaped names.

Nothing of the host exists inside the engine, so every chain ends in the guest's own realm. Where the
finished AgentScript guard rejects the construct (constructor/prototype/__proto__ access, non-allowed
globals, function expressions), VALIDATION_ERROR is accepted too: which layer stops it depends on how
much of the guard is in force, and either is containment.
"""

from __future__ import annotations

import pytest
from attack_helpers import RE, TE, VE, Expect, attack, fails, returns

from enclave_vm import Enclave

CONSTRUCTOR_CHAINS: list[tuple[str, str, Expect]] = [
    ("object-ctor-ctor", "return ({}).constructor.constructor('return this')()", fails(VE, RE)),
    ("array-method-ctor", "return [].map.constructor('return 1')()", fails(VE, RE)),
    ("arrow-ctor", "return (() => 1).constructor('return 1')()", fails(VE, RE)),
    ("async-arrow-ctor", "return (async () => 1).constructor('return 1')()", fails(VE, RE)),
    ("string-ctor-chain", "return ''.constructor.constructor('return 1')()", fails(VE, RE)),
    ("number-ctor-chain", "return (1).constructor.constructor('return 1')()", fails(VE, RE)),
    ("callTool-ctor", "return callTool.constructor('return 1')()", fails(VE, RE)),
    ("console-log-ctor", "return console.log.constructor('return 1')()", fails(VE, RE)),
    ("json-parse-ctor", "return JSON.parse.constructor('return 1')()", fails(VE, RE)),
    ("math-max-ctor", "return Math.max.constructor('return 1')()", fails(VE, RE)),
    ("computed-ctor", "const k = 'constr' + 'uctor'; return ({})[k][k]('return 1')()", fails(VE, RE)),
    ("escaped-ctor", "return ({})['\\u0063onstructor']['\\u0063onstructor']('return 1')()", fails(VE, RE)),
    ("template-ctor", "return ({})[`constructor`][`constructor`]('return 1')()", fails(VE, RE)),
    ("generator-ctor", "const g = function* () {}; return g.constructor('yield 1')().next()", fails(VE, RE)),
    ("async-generator-ctor", "const g = async function* () {}; return g.constructor('yield 1')", fails(VE, RE)),
    ("proto-ctor", "return ({}).__proto__.constructor.constructor('return 1')()", fails(VE, RE)),
    ("getPrototypeOf-ctor", "return Object.getPrototypeOf(() => 1).constructor('return 1')()", fails(VE, RE)),
    ("reflect-construct", "return Reflect.construct(Object, [])", returns({}, VE)),
    ("bind-ctor", "return (() => 1).bind(null).constructor('return 1')()", fails(VE, RE)),
    ("call-ctor-via-apply", "const F = [].map.constructor; return F.apply(null, ['return 1'])()", fails(VE, RE)),
    ("error-ctor-chain", "return new Error('x').constructor.constructor('return 1')()", fails(VE, RE)),
    ("promise-ctor-chain", "return Promise.resolve().constructor.constructor('return 1')()", fails(VE, RE)),
    ("destructured-ctor", "const { constructor: C } = () => 1; return C('return 1')()", fails(VE, RE)),
    (
        "nested-destructure-ctor",
        "const { constructor: { constructor: C } } = {}; return C('return 1')()",
        fails(VE, RE),
    ),
    ("redefine-ctor", "const p = Object.getPrototypeOf(() => 1); p.constructor = 1; return 2", fails(VE, RE)),
]

GLOBAL_OBJECTS: list[tuple[str, str, Expect]] = [
    ("eval-direct", "return eval('1 + 1')", fails(VE)),
    ("eval-indirect", "return (0, eval)('1')", fails(VE)),
    ("Function-global", "return Function('return 1')()", fails(VE)),
    ("new-Function", "return new Function('return 1')()", fails(VE)),
    ("globalThis-eval", "return typeof globalThis.eval", returns("undefined", VE)),
    ("globalThis-computed-eval", "return globalThis['ev' + 'al']('1')", fails(VE, RE)),
    ("globalThis-Function", "return typeof globalThis['Func' + 'tion']", returns("undefined", VE)),
    ("this-at-top-is-guest-global", "return this === globalThis", returns(True, VE)),
    ("this-constructor", "return this.constructor.constructor('return 1')()", fails(VE, RE)),
    ("arrow-this", "return (() => this)() === globalThis", returns(True, VE)),
    ("arguments", "return typeof arguments", returns("undefined", VE)),
    ("process", "return typeof process", returns("undefined", VE)),
    ("require", "return require('fs')", fails(VE, RE)),
    ("module", "return typeof module", returns("undefined", VE)),
    ("std-module", "return typeof std", returns("undefined", VE)),
    ("os-module", "return typeof os", returns("undefined", VE)),
    ("import-dynamic", "return await import('os')", fails(VE, RE)),
    ("import-meta", "return import.meta", fails(VE)),
    ("scriptArgs", "return typeof scriptArgs", returns("undefined", VE)),
    ("print", "return typeof print", returns("undefined", VE)),
    ("Deno", "return typeof Deno", returns("undefined", VE)),
    ("WebAssembly", "return typeof WebAssembly", returns("undefined", VE)),
    ("setTimeout", "return typeof setTimeout", returns("undefined", VE)),
    (
        "global-keys-no-host",
        "return Object.getOwnPropertyNames(globalThis).filter(k => /^(py|host|secret|os|fs|std|process|require|env)/i.test(k))",  # noqa: E501
        returns([], VE),
    ),
    ("callTool-source-no-host", "return typeof callTool.toString()", returns("string", VE)),
    ("with-statement", "with ({}) { return 1 }", fails(VE)),
]

PYTHON_SHAPED: list[tuple[str, str, Expect]] = [
    ("dunder-class", "return ({}).__class__", returns(None, VE)),
    ("dunder-class-mro", "return ({}).__class__.__mro__", fails(VE, RE)),
    ("dunder-subclasses", "return ({}).__class__.__base__.__subclasses__()", fails(VE, RE)),
    ("dunder-globals", "return callTool.__globals__", returns(None, VE)),
    ("dunder-globals-os", "return callTool.__globals__['os']", fails(VE, RE)),
    ("dunder-builtins", "return typeof __builtins__", returns("undefined", VE)),
    ("dunder-import", "return __import__('os').environ", fails(VE, RE)),
    ("dunder-dict", "return console.__dict__", returns(None, VE)),
    ("dunder-code", "return callTool.__code__", returns(None, VE)),
    ("dunder-self", "return console.log.__self__", returns(None, VE)),
    ("dunder-func-closure", "return callTool.__closure__", returns(None, VE)),
    ("dunder-reduce", "return ({}).__reduce_ex__(2)", fails(VE, RE)),
    ("getattr", "return getattr(callTool, '__globals__')", fails(VE, RE)),
    ("os-environ", "return os.environ.ENCLAVE_SENTINEL", fails(VE, RE)),
    ("python-open", "return open('/etc/passwd').read()", fails(VE, RE)),
    ("tool-named-dunder", "return await callTool('__class__', {})", fails(TE)),
]

PROTOTYPE_WALKS: list[tuple[str, str, Expect]] = [
    (
        "walk-object-chain",
        "let p = {}; const seen = []; for (let i = 0; i < 10 && p; i++) { seen.push(typeof p); "
        "p = Object.getPrototypeOf(p) } return seen",
        returns(["object", "object"], VE),
    ),
    (
        "walk-callTool-chain",
        "let p = callTool; let n = 0; for (let i = 0; i < 10 && p; i++) { n++; p = Object.getPrototypeOf(p) } return n",
        returns(3, VE),
    ),
    ("proto-of-console", "return Object.getPrototypeOf(console) === Object.prototype", returns(True, VE)),
    ("proto-dunder-walk", "return ({}).__proto__.__proto__", returns(None, VE)),
    ("lookupGetter-proto", "return typeof ({}).__lookupGetter__('__proto__')", returns("function", VE)),
    (
        "descriptor-of-callTool",
        "const d = Object.getOwnPropertyDescriptor(globalThis, 'callTool'); return [d.writable, d.configurable]",
        returns([False, False], VE),
    ),
    ("overwrite-callTool", "callTool = () => 1; return 1", fails(VE, RE)),
    ("delete-callTool", "return delete globalThis.callTool", fails(VE, RE)),
    ("reach-prelude-hook", "return typeof __ag_iter", returns("function", VE)),
    (
        "error-stack-host-paths",
        "try { null.x } catch (e) { return /\\/|py|site-packages/.test(String(e.stack)) }",
        returns(False, VE),
    ),
    (
        "tool-error-stack-no-host",
        "try { await callTool('fail', { message: 'boom' }) } catch (e) { return [e.message, /Traceback|\\.py/.test(String(e.stack))] }",  # noqa: E501
        returns(["boom", False], VE),
    ),
    (
        "unknown-tool-message",
        "try { await callTool('nope', {}) } catch (e) { return e.message.includes('Traceback') }",
        returns(False),
    ),
    ("symbol-for-host", "return typeof Symbol.for('python')", returns("symbol", VE)),
    ("proxy-global", "return new Proxy({}, {}).x", returns(None, VE)),
    ("weakref-callTool", "return typeof new WeakRef(callTool).deref()", returns("function", VE)),
]

CASES = CONSTRUCTOR_CHAINS + GLOBAL_OBJECTS + PYTHON_SHAPED + PROTOTYPE_WALKS


@pytest.mark.parametrize(("code", "expect"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
async def test_host_unreachable(std: Enclave, code: str, expect: Expect) -> None:
    await attack(std, code, expect)
