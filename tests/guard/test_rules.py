"""Each AST rule: what it rejects, what it lets through, at every level, and where it points."""

from __future__ import annotations

import pytest

from enclave_vm.config import SecurityLevel
from enclave_vm.guard import policy_for, validate_code
from enclave_vm.results import ValidationIssue

LEVELS = list(SecurityLevel)


def issues(
    code: str, level: SecurityLevel = SecurityLevel.STANDARD, globals_: tuple[str, ...] = ()
) -> list[ValidationIssue]:
    return validate_code(code, policy_for(level, globals_))


def errors(code: str, level: SecurityLevel = SecurityLevel.STANDARD) -> list[ValidationIssue]:
    return [issue for issue in issues(code, level) if issue.severity == "error"]


def rules(code: str, level: SecurityLevel = SecurityLevel.STANDARD) -> set[str]:
    return {issue.rule for issue in errors(code, level)}


def at(code: str, rule: str, level: SecurityLevel = SecurityLevel.STANDARD) -> list[tuple[int, int]]:
    return [
        (issue.location["line"], issue.location["column"])
        for issue in issues(code, level)
        if issue.rule == rule and issue.location is not None
    ]


# --------------------------------------------------------------------------- accepted everywhere

ACCEPTED = [
    "const users = await callTool('users:list', {limit: 10}); return users.filter(u => u.active).map(u => u.name);",
    "const item = {name: 'a', type: 'b'}; return [item.name, item.type, item.name.length];",
    "const o = {a: 1}; for (const [k, v] of Object.entries(o)) { console.log(k, v); }",
    "outer: for (const a of [1, 2]) { for (const b of [3]) { if (b) continue outer; } }",
    "const d = new Date(); return d.getTime();",
    "const arr = [1, 2, 3]; return Math.max(...arr);",
    "const o = null; return o?.a?.b ?? 'none';",
    "return 2 ** 10;",
    "const x = 1; return typeof x;",
    "const f = async (x) => await callTool('a', {x}); return await f(1);",
    "const a = 1, b = 2; return {a, b};",
    "let total = 0; for (let i = 0; i < 10; i++) { total += i; } return total;",
    "try { await callTool('x', {}); } catch (e) { return e.message; } finally { console.log('done'); }",
    "try { await callTool('x', {}); } catch { return null; }",
    "const {a, b: {c = 1} = {}, ...rest} = {a: 1}; return [a, c, rest];",
    "const [first, , third = 3, ...others] = [1, 2]; return [first, third, others];",
    "const s = `x=${1 + 2}`; return s;",
    "switch (1) { case 1: break; default: break; }",
    "const o = {constructorName: 1, prototypeId: 2, created: 3}; return o;",
    "const o = {Proxy: 1, eval: 2, location: 3}; return o.eval + o.Proxy + o.location;",
    "return JSON.stringify({a: 1}, null, 2);",
    "return JSON.stringify({a: 1}, ['a']);",
    "return JSON.parse('{\"a\": 1}');",
    "return new Array(10).fill(0);",
    "return Array(1000000).length;",
    "return 'ab'.repeat(100000);",
    "return [1, 2, 3].includes(2) && 'abc'.startsWith('a');",
    "const x = [3, 1, 2].sort((a, b) => a - b); return x;",
    "return await callTool(`users:list`, {});",
    "const m = {}; m['key'] = 1; m.other = 2; delete m.other; return m;",
    "let i = 0; i++; i += 2; return i;",
    "for (let i = 0, j = 10; i < j; i++, j--) {}",
    "for (let i = 0; i < 3;) { i++; }",
    "for (;false;) {}",
    "return Object.keys({a: 1}).length + Object.values({}).length;",
    "return [1, 2].reduce((acc, x) => acc + x, 0);",
    "return String(1) + Number('2') + Math.floor(1.5);",
    "return isNaN(NaN) && isFinite(1) ? Infinity : undefined;",
    "const ok = await callTool('a', {}) ; return !!ok;",
    "debugger;",
    "// comment with eval and constructor\nreturn 1; /* Proxy */",
    "return 'text with eval, constructor and __proto__ inside';",
    "return 'Привет, мир — ünïcode ✓ 😀';",
    "return '<!-- a --> b' + `<!--${1}-->` // <!-- -->",
    "/* <!--\n--> */ return 1",
    "const a = 'x\u2028y', b = `\u2029`, c = '\u00a0'; return a + b + c // \u00a0",
    "const a = 1\r\nreturn a",
    "return ((x) => x * 2)(21)",
    "const fs = [() => 1, (x) => {}]; return [fs.length, 1 ? () => {} : 0]",
    "let i = 2; i--; return i-- > 0",
]


@pytest.mark.parametrize("level", [level for level in LEVELS if level != SecurityLevel.STRICT])
@pytest.mark.parametrize("code", ACCEPTED)
def test_realistic_code_is_accepted(code: str, level: SecurityLevel) -> None:
    assert errors(code, level) == []


@pytest.mark.parametrize("code", [code for code in ACCEPTED if "isNaN" not in code])
def test_realistic_code_is_accepted_at_strict(code: str) -> None:
    assert errors(code, SecurityLevel.STRICT) == []


def test_top_level_return_and_await_parse() -> None:
    assert errors("return await callTool('a', {});") == []


# --------------------------------------------------------------------------- rejected everywhere

REJECTED = [
    ("eval('x')", "no-eval"),
    ("const f = Function('return 1')", "no-function-constructor"),
    ("new Function('return 1')", "no-function-constructor"),
    ("AsyncFunction", "no-function-constructor"),
    ("GeneratorFunction", "no-function-constructor"),
    ("with (Math) { max(1, 2); }", "no-with"),
    ("import('fs')", "no-import"),
    ("import fs from 'fs'", "no-import"),
    ("export const a = 1", "no-import"),
    ("import.meta", "no-import"),
    ("const o = {}; for (const k in o) {}", "forbidden-loop"),
    ("for (;;) {}", "infinite-loop"),
    ("for (;;) { break; }", "infinite-loop"),
    ("for (; true;) {}", "infinite-loop"),
    ("for (; 1;) {}", "infinite-loop"),
    ("for (; 'x';) {}", "infinite-loop"),
    ("for (; !0;) {}", "infinite-loop"),
    ("for (; !!1;) {}", "infinite-loop"),
    ("for (; (1, true);) {}", "infinite-loop"),
    ("for (; [];) {}", "infinite-loop"),
    ("for (; {};) {}", "infinite-loop"),
    ("for (; Infinity;) {}", "infinite-loop"),
    ("for (; typeof 1;) {}", "infinite-loop"),
    ("for (; 1 || 0;) {}", "infinite-loop"),
    ("for (; 2 - 1;) {}", "infinite-loop"),
    ("let i = 0; for (; i < 3 || true;) {}", "infinite-loop"),
    ("function* g() {}", "no-function-declaration"),
    ("const g = function* () {};", "no-function-expression"),
    ("const o = { m() { return 1; } };", "no-method"),
    ("const o = { get x() { return 1; } };", "no-method"),
    ("const o = { set x(v) {} };", "no-method"),
    ("const o = { async m() {} };", "no-method"),
    ("const A = class { get x() { return 1; } };", "no-class"),
    ("class A { static { } }", "no-class"),
    ("class A { #x = 1 }", "no-class"),
    ("class A { *g() {} }", "no-class"),
    ("class A extends Array {}", "no-class"),
    ("class A extends (1, Object) {}", "no-class"),
    ("function* g() { yield 1 }", "no-function-declaration"),
    ("const f = function () { return this; };", "forbidden-identifier"),
    ("class A { m() { const f = function () { return this; }; } }", "forbidden-identifier"),
    ("class A { [this.x] = 1 }", "forbidden-identifier"),
    ("Promise.prototype", "forbidden-property"),
    ("return this", "forbidden-identifier"),
    ("const f = () => arguments", "forbidden-identifier"),
    ("globalThis.x = 1", "forbidden-identifier"),
    ("window.x", "forbidden-identifier"),
    ("self.x", "forbidden-identifier"),
    ("global.x", "forbidden-identifier"),
    ("process.exit()", "forbidden-identifier"),
    ("require('fs')", "forbidden-identifier"),
    ("module.exports = 1", "forbidden-identifier"),
    ("exports.x = 1", "forbidden-identifier"),
    ("new Proxy({}, {})", "forbidden-global"),
    ("Reflect.ownKeys({})", "forbidden-global"),
    ("Symbol('x')", "forbidden-global"),
    ("new WeakMap()", "forbidden-global"),
    ("new WeakSet()", "forbidden-global"),
    ("new WeakRef({})", "forbidden-global"),
    ("new FinalizationRegistry(() => 1)", "forbidden-global"),
    ("throw new AggregateError([])", "forbidden-global"),
    ("throw new InternalError('x')", "forbidden-global"),
    ("WebAssembly.compile", "forbidden-global"),
    ("new SharedArrayBuffer(8)", "forbidden-global"),
    ("Atomics.wait", "forbidden-global"),
    ("setTimeout('x', 1)", "forbidden-global"),
    ("setTimeout(() => 1, 1)", "forbidden-global"),
    ("setInterval(() => 1, 1)", "forbidden-global"),
    ("setImmediate(() => 1)", "forbidden-global"),
    ("queueMicrotask(() => 1)", "forbidden-global"),
    ("requestAnimationFrame(() => 1)", "forbidden-global"),
    ("fetch('http://x')", "forbidden-global"),
    ("new XMLHttpRequest()", "forbidden-global"),
    ("new WebSocket('ws://x')", "forbidden-global"),
    ("new Worker('x')", "forbidden-global"),
    ("importScripts('x')", "forbidden-global"),
    ("navigator.userAgent", "forbidden-global"),
    ("location.href", "forbidden-global"),
    ("document.cookie", "forbidden-global"),
    ("localStorage.getItem('x')", "forbidden-global"),
    ("performance.now()", "forbidden-global"),
    ("atob('eA==')", "forbidden-global"),
    ("btoa('x')", "forbidden-global"),
    ("({}).constructor", "forbidden-property"),
    ("({}).__proto__", "forbidden-property"),
    ("Array.prototype.map", "forbidden-property"),
    ("({}).__defineGetter__('a', () => 1)", "forbidden-property"),
    ("({}).__defineSetter__('a', () => 1)", "forbidden-property"),
    ("({}).__lookupGetter__('a')", "forbidden-property"),
    ("({}).__lookupSetter__('a')", "forbidden-property"),
    ("const o = {__proto__: null}", "forbidden-property"),
    ("Object.defineProperty({}, 'a', {})", "forbidden-method"),
    ("Object.defineProperties({}, {})", "forbidden-method"),
    ("Object.getPrototypeOf({})", "forbidden-method"),
    ("Object.setPrototypeOf({}, null)", "forbidden-method"),
    ("Object.getOwnPropertyDescriptor({}, 'a')", "forbidden-method"),
    ("Object.getOwnPropertyDescriptors({})", "forbidden-method"),
    ("Object.create(null)", "forbidden-method"),
    ("Object['create'](null)", "forbidden-method"),
    ("const {create} = Object", "forbidden-method"),
    ("JSON.parse('{}', (k, v) => v)", "json-callback"),
    ("JSON.parse('{}', null)", "json-callback"),
    ("JSON.stringify({}, (k, v) => v)", "json-callback"),
    ("const r = ['a']; JSON.stringify({}, r)", "json-callback"),
    ("const args = []; JSON.parse(...args)", "json-callback"),
    ("const n = 'x'; callTool(n, {})", "dynamic-tool-name"),
    ("callTool('a' + 'b', {})", "dynamic-tool-name"),
    ("const n = 'x'; callTool(`t:${n}`, {})", "dynamic-tool-name"),
    ("callTool()", "dynamic-tool-name"),
    ("callTool`x`", "dynamic-tool-name"),
    ("const f = callTool; f('x', {})", "dynamic-tool-name"),
    ("[1].map(callTool)", "dynamic-tool-name"),
    ("callTool.call(null, 'x', {})", "dynamic-tool-name"),
    ("const __ag_x = 1", "reserved-identifier"),
    ("__ag_iter()", "reserved-identifier"),
    ("const __safe_y = 1", "reserved-identifier"),
    ("not_declared + 1", "unknown-global"),
    ("BigInt(1)", "unknown-global"),
    ("new Uint8Array(4)", "unknown-global"),
    ("Array(1000001)", "max-array-size"),
    ("new Array(1e7)", "max-array-size"),
    ("new Array(2 ** 31)", "max-array-size"),
    ("Array.from({length: 1e9})", "max-array-size"),
    ("new Array(200000).fill(0)", "max-array-size"),
    ("Array(100001).fill(0)", "max-array-size"),
    ("'x'.repeat(100001)", "max-repeat"),
    ("'x'.repeat(1e9)", "max-repeat"),
    ("'x'.padStart(1e9)", "max-repeat"),
    ("'x'.padEnd(2 ** 30, 'y')", "max-repeat"),
    ("Math.max = () => 1", "no-global-mutation"),
    ("console.log = () => 1", "no-global-mutation"),
    ("delete Math.PI", "no-global-mutation"),
    ("JSON = null", "no-global-mutation"),
    ("Object.keys.x = 1", "no-global-mutation"),
    ("Array.isArray = null", "no-global-mutation"),
    ("const x = <div>hi</div>", "unsupported-syntax"),
    ("using x = null", "unsupported-syntax"),
    ("<!-- eval(1)", "unsupported-syntax"),
    ("const f = () => new.target", "unsupported-syntax"),
    ("#!/usr/bin/env node\nreturn 1", "unsupported-syntax"),
    # text QuickJS reads differently from tree-sitter (guard/differential.py)
    ("const a = 1, b = 2; a <!--b", "unsupported-syntax"),
    ("let i = 2; i-->0", "unsupported-syntax"),
    ("const a = `${1 <!--1\n}`", "unsupported-syntax"),
    ("const a = 1\rreturn a", "forbidden-character"),
    ("const a = 1 /* \r */", "forbidden-character"),
    ("const a = 1\u2028return a", "forbidden-character"),
    ("const a = 1 // \u2029", "forbidden-character"),
    ("const a = 1\n\u00a0return a", "invisible-character"),
    ("const a = 1;\u3000return a", "invisible-character"),
    ("const f = () => {}\n(1)", "syntax-error"),
    ("const f = (x) => {}\n/1/1", "syntax-error"),
    ("const f = async () => {}\n`x`", "syntax-error"),
    ("const f = 1 ? 2 : () => {}\n.x", "syntax-error"),
    ("let x = 1; x++\n(x)", "syntax-error"),
    ("let x = 1; x--\n[0]", "syntax-error"),
    ("const a = ;", "syntax-error"),
    ("if (1) {", "syntax-error"),
    ("return )", "syntax-error"),
]


@pytest.mark.parametrize("level", LEVELS)
@pytest.mark.parametrize(("code", "rule"), REJECTED)
def test_forbidden_code_is_rejected(code: str, rule: str, level: SecurityLevel) -> None:
    assert rule in rules(code, level)


#: (code, rule, the first level that accepts it): the constructs the levels above STRICT add.
REJECTED_BELOW = [
    ("let i = 0; while (i < 3) { i++; }", "forbidden-loop", SecurityLevel.STANDARD),
    ("do { } while (false)", "forbidden-loop", SecurityLevel.STANDARD),
    ("function f() {}", "no-function-declaration", SecurityLevel.STANDARD),
    ("async function f() {}", "no-function-declaration", SecurityLevel.STANDARD),
    ("const f = function () {};", "no-function-expression", SecurityLevel.STANDARD),
    ("const f = async function () {};", "no-function-expression", SecurityLevel.STANDARD),
    ("return /a+/.test('aa');", "no-regex", SecurityLevel.STANDARD),
    ("return RegExp('a')", "no-regex", SecurityLevel.STANDARD),
    ("return new RegExp('a')", "no-regex", SecurityLevel.STANDARD),
    ("Promise.all([])", "forbidden-global", SecurityLevel.SECURE),
    ("new Map()", "forbidden-global", SecurityLevel.SECURE),
    ("new Set()", "forbidden-global", SecurityLevel.SECURE),
    ("throw new Error('x')", "forbidden-global", SecurityLevel.SECURE),
    ("throw new TypeError('x')", "forbidden-global", SecurityLevel.SECURE),
    ("throw new RangeError('x')", "forbidden-global", SecurityLevel.SECURE),
    ("Boolean(1)", "unknown-global", SecurityLevel.SECURE),
    ("class A { constructor() { this.x = 1; } }", "no-class", SecurityLevel.STANDARD),
    ("let i = 0; while (true) { if (++i > 3) break; }", "forbidden-loop", SecurityLevel.STANDARD),
    ("const m = new Map(); return m instanceof Map;", "forbidden-global", SecurityLevel.SECURE),
    ("return [0, 1].filter(Boolean);", "unknown-global", SecurityLevel.SECURE),
]


@pytest.mark.parametrize(("code", "rule", "first"), REJECTED_BELOW)
def test_added_constructs_start_at_their_level(code: str, rule: str, first: SecurityLevel) -> None:
    for level in LEVELS:
        if LEVELS.index(level) < LEVELS.index(first):
            assert rule in rules(code, level), level
        else:
            assert errors(code, level) == [], level


@pytest.mark.parametrize(
    "code",
    [
        "new Promise((resolve) => resolve(1))",
        "Error.captureStackTrace({})",
        "const P = Promise; P.all([])",
        "const f = (x) => x; f(Error)",
        "Map.groupBy([], (x) => x)",
        "Promise.withResolvers()",
        "new RegExp.prototype.exec('a')",
    ],
)
def test_unlocked_globals_are_used_only_in_their_forms(code: str) -> None:
    assert "forbidden-global" in rules(code, SecurityLevel.STRICT) or "no-regex" in rules(code, SecurityLevel.STRICT)
    assert rules(code, SecurityLevel.PERMISSIVE) & {"restricted-global", "forbidden-property"}


def test_eval_message_is_exact_and_first() -> None:
    found = issues("eval('x')")
    assert found[0].message == "Identifier 'eval' is not allowed"
    assert found[0].rule == "no-eval"
    assert found[0].location == {"line": 1, "column": 1}
    assert all(issue.severity == "error" for issue in found)


def test_every_issue_is_returned_not_only_the_first() -> None:
    code = "eval('a');\nwhile (1) {}\nconst f = function () {};\nthis.x;\nnew Proxy({}, {});"
    assert {"no-eval", "forbidden-loop", "no-function-expression", "forbidden-identifier", "forbidden-global"} <= (
        rules(code, SecurityLevel.SECURE)
    )
    assert {"no-eval", "infinite-loop", "forbidden-identifier", "forbidden-global"} == rules(code)


def test_messages_say_what_to_do() -> None:
    (issue,) = issues("let i = 0; while (i < 1) { i++; }", SecurityLevel.SECURE)
    assert "while" in issue.message and "for (const x of items)" in issue.message


# --------------------------------------------------------------------------- globals per level

SECURE_GLOBALS = ["parseInt('1')", "parseFloat('1.5')", "isNaN(1)", "isFinite(1)"] + [
    f"{name}('a')" for name in ("encodeURI", "encodeURIComponent", "decodeURI", "decodeURIComponent")
]


@pytest.mark.parametrize("code", SECURE_GLOBALS)
def test_number_and_uri_helpers_start_at_secure(code: str) -> None:
    assert rules(code, SecurityLevel.STRICT) == {"unknown-global"}
    assert "not available at the STRICT security level" in errors(code, SecurityLevel.STRICT)[0].message
    for level in (SecurityLevel.SECURE, SecurityLevel.STANDARD, SecurityLevel.PERMISSIVE):
        assert errors(code, level) == []


@pytest.mark.parametrize("level", LEVELS)
def test_console_and_base_globals_everywhere(level: SecurityLevel) -> None:
    code = "console.log(Math.PI, JSON.stringify([]), Array.isArray([]), Object.keys({}), String(1), Number('1'));"
    assert errors(code + " return [new Date(), undefined, NaN, Infinity];", level) == []


@pytest.mark.parametrize("level", LEVELS)
def test_custom_globals_are_allowed_but_read_only(level: SecurityLevel) -> None:
    assert issues("return config.limit + users.length;", level, ("config", "users")) == []
    assert {i.rule for i in issues("config.limit = 1", level, ("config",))} == {"no-global-mutation"}
    assert {i.rule for i in issues("return config", level)} == {"unknown-global"}


def test_custom_globals_cannot_enable_forbidden_names() -> None:
    assert {i.rule for i in issues("eval('1')", SecurityLevel.STANDARD, ("eval",))} == {"no-eval"}
    assert {i.rule for i in issues("__ag_x", SecurityLevel.STANDARD, ("__ag_x",))} == {"reserved-identifier"}


def test_declared_names_are_known() -> None:
    code = (
        "const a = 1; let [b, {c}] = [2, {c: 3}]; var d = 4;\n"
        "const f = (e, {g, h: [i]}, j = 1, ...k) => e + g + i + j + k.length;\n"
        "const m = async l => l;\n"
        "try { } catch ({message}) { console.log(message); }\n"
        "try { } catch (err) { console.log(err); }\n"
        "for (const [n, o] of []) { console.log(n, o); }\n"
        "for (let p of []) { console.log(p); }\n"
        "return [a, b, c, d, f, m];"
    )
    assert errors(code) == []


def test_flat_scope_never_invents_an_unknown_global() -> None:
    assert errors("const f = () => later; const later = 1; return f();") == []


def test_default_values_in_patterns_are_references() -> None:
    assert at("const {a = missing} = {};", "unknown-global") == [(1, 12)]
    assert at("const [a = gone] = [];", "unknown-global") == [(1, 12)]


def test_assignment_target_must_be_declared() -> None:
    assert at("undeclared = 1;", "unknown-global") == [(1, 1)]
    assert at("for (x of []) {}", "unknown-global") == [(1, 6)]


def test_shadowing_a_global_locally_allows_changes() -> None:
    assert errors("const config = {}; config.x = 1; return config;") == []


# --------------------------------------------------------------------------- obfuscated forbidden names

OBFUSCATED_PROPERTIES = [
    "o.constructor",
    "o.\\u0063onstructor",
    "o.\\u{63}onstructor",
    "o.c\\u006fnstructor",
    "o['constructor']",
    'o["constructor"]',
    "o['\\x63onstructor']",
    "o['\\143onstructor']",
    "o['\\u0063onstructor']",
    "o['\\u{63}onstructor']",
    "o['con\\\nstructor']",
    "o[`constructor`]",
    "o[`\\x63onstructor`]",
    "o['constr' + 'uctor']",
    "o['con' + 'str' + 'uctor']",
    "o[('constr') + ('uctor')]",
    "o[`constr${'uctor'}`]",
    "o[('constructor')]",
    "o[0, 'constructor']",
    "o[x ? 'constructor' : 'y']",
    "o[x || 'constructor']",
    "const {constructor} = o",
    "const {constructor: c} = o",
    "const {'constructor': c} = o",
    "const {['constructor']: c} = o",
    "const {['constr' + 'uctor']: c} = o",
    "const {\\u0063onstructor: c} = o",
    "const f = ({constructor}) => constructor",
    "const f = ({constructor: c}) => c",
    "const f = ([{constructor: c}]) => c",
    "let c; ({constructor: c} = o)",
    "const k = 'constructor'; o[k]",
    "const k = 'constr' + 'uctor'; o[k]",
    "const k = `constructor`; o[k]",
    "({}).constructor.constructor('return this')()",
    "const p = {['constructor']: 1}",
    "const p = {'constructor': 1}",
    "const p = {constructor: 1}",
    "const p = {constructor}",
]


@pytest.mark.parametrize("level", LEVELS)
@pytest.mark.parametrize("code", OBFUSCATED_PROPERTIES)
def test_every_spelling_of_constructor_is_rejected(code: str, level: SecurityLevel) -> None:
    assert "forbidden-property" in rules("const o = {}; const x = 1; " + code, level)


@pytest.mark.parametrize("name", ["__proto__", "prototype", "__defineGetter__", "__lookupSetter__"])
@pytest.mark.parametrize(
    "template",
    ["o.{n}", "o['{n}']", "o[`{n}`]", "o['{a}' + '{b}']", "const {{{n}: v}} = o", "const f = ({{{n}: v}}) => v"],
)
def test_other_forbidden_properties_in_every_form(name: str, template: str) -> None:
    code = "const o = {}; " + template.format(n=name, a=name[:3], b=name[3:])
    assert "forbidden-property" in rules(code)


OBFUSCATED_NAMES = [
    ("\\u0065val('1')", "no-eval"),
    ("\\u{65}val('1')", "no-eval"),
    ("ev\\u0061l('1')", "no-eval"),
    ("const {eval: e} = o; \\u0065val", "no-eval"),
    ("\\u0046unction('x')", "no-function-constructor"),
    ("\\u0050roxy", "forbidden-global"),
    ("glob\\u0061lThis", "forbidden-identifier"),
    ("\\u0061rguments", "forbidden-identifier"),
    ("({eval})", "no-eval"),
    ("const {Proxy} = o", "forbidden-global"),
    ("const f = (Proxy) => Proxy", "forbidden-global"),
    ("\\u005f_ag_x", "reserved-identifier"),
]


@pytest.mark.parametrize(("code", "rule"), OBFUSCATED_NAMES)
def test_escaped_forbidden_names_are_rejected(code: str, rule: str) -> None:
    assert rule in rules("const o = {}; " + code)


def test_escaped_name_message_shows_how_it_was_written() -> None:
    (issue,) = [i for i in issues("\\u0065val('1')") if i.rule == "no-eval"]
    assert "written as '\\u0065val'" in issue.message


def test_forbidden_looking_strings_outside_keys_only_warn() -> None:
    found = issues("const k = 'constructor'; console.log(k);")
    assert [(i.rule, i.severity) for i in found] == [("suspicious-string", "warning")]
    assert issues("return 'create';") == []


# --------------------------------------------------------------------------- homoglyphs and invisible characters


@pytest.mark.parametrize(
    "code",
    [
        "const сonsole = 1;",  # Cyrillic с
        "const аpi = 1;",  # Cyrillic а
        "const ρ = 1; const xρ = 2;",  # Greek rho
        "const ｘ = 1;",  # fullwidth x
        "const 𝐱 = 1;",  # mathematical bold x
        "const o = {}; o.nаme;",  # homoglyph in a property name
        "const \\u0430pi = 1;",  # escaped homoglyph
    ],
)
def test_homoglyphs_in_identifiers_are_rejected(code: str) -> None:
    assert "homoglyph" in rules(code)


def test_non_latin_identifiers_without_look_alikes_and_text_in_strings_are_fine() -> None:
    assert errors("const π = 3.14; const 数量 = 2; return [π * 数量, 'аpi — Cyrillic in a string'];") == []


def test_escaped_invisible_character_in_identifier() -> None:
    assert "invisible-character" in rules("const a\\u200Db = 1;")


# --------------------------------------------------------------------------- positions


def test_positions_are_one_based_lines_and_columns() -> None:
    code = "const a = 1;\n  eval(a);\nconst b = {}.\n  constructor;"
    assert at(code, "no-eval") == [(2, 3)]
    assert at(code, "forbidden-property") == [(4, 3)]


def test_positions_count_characters_not_bytes() -> None:
    code = "const s = 'ééé'; eval(s);"
    assert at(code, "no-eval") == [(1, 18)]


def test_positions_of_each_rule() -> None:
    assert at("x;\n  while (x) {}", "forbidden-loop", SecurityLevel.SECURE) == [(2, 3)]
    assert at("x;\n  while (1) {}", "infinite-loop") == [(2, 3)]
    assert at("\nfor (;;) {}", "infinite-loop") == [(2, 1)]
    assert at("const o = {};\no[ 'constr' + 'uctor' ];", "forbidden-property") == [(2, 4)]
    assert at("const n = 1;\ncallTool( n );", "dynamic-tool-name") == [(2, 11)]
    assert at("JSON.parse('1',\n   (k, v) => v)", "json-callback") == [(2, 4)]
    assert at("const f = () =>\n   this;", "forbidden-identifier") == [(2, 4)]
    assert at("const a = [\n  1,,\n  /x/];", "no-regex", SecurityLevel.SECURE) == [(3, 3)]
    assert at("const a = ;", "syntax-error") == [(1, 9)]
    assert at("if (1) {", "syntax-error") == [(1, 9)]


def test_issues_are_sorted_by_position() -> None:
    found = issues("this;\neval(1);\nwhile (1) {}\nundefinedName;")
    locations = [(i.location or {}).get("line", 0) for i in found]
    assert locations == sorted(locations)


# --------------------------------------------------------------------------- unusual input


@pytest.mark.parametrize(
    "code",
    [
        "",
        "   ",
        "// only a comment",
        ";;;",
        "{}",
        "return",
        "'use strict'; return 1;",
    ],
)
def test_trivial_scripts_are_valid(code: str) -> None:
    assert errors(code) == []


@pytest.mark.parametrize(
    "code",
    [
        "callTool(",
        "o[",
        "const {",
        "`${",
        "'unterminated",
        "/* unterminated",
        "const x = 'a' +",
        "a +++ b ---",
        "\\u",
        "\\u{",
        "o['\\x']",
        "for (",
        "for (;",
        "Array(",
        "new Array(1e400).fill(",
        "x.repeat(",
        "JSON.parse(",
    ],
)
def test_broken_code_is_reported_not_raised(code: str) -> None:
    found = issues(code)
    assert any(issue.rule == "syntax-error" for issue in found)


def test_escapes_the_engine_rejects_do_not_break_the_guard() -> None:
    # out-of-range code points parse in tree-sitter; QuickJS refuses them when it compiles the script
    assert errors("return '\\u{110000}' + '\\u{FFFFFFFFFFFF}';") == []
    assert "no-eval" in rules("\\u{0000000000065}val('x')")


# --------------------------------------------------------------------------- the fast path


def test_prefilter_fragments_cover_every_suspicious_name() -> None:
    from enclave_vm.guard import checker

    for name in checker.SUSPICIOUS_VALUES:
        assert any(part in name for part in checker._SUSPICIOUS_PARTS), name


def test_skipping_literal_checks_never_changes_the_verdict(monkeypatch: pytest.MonkeyPatch) -> None:
    from test_compat import TABLE

    from enclave_vm.guard import checker

    codes = [row[0] for row in TABLE] + ACCEPTED + [code for code, _ in REJECTED]
    usual = [issues(code) for code in codes]
    monkeypatch.setattr(checker, "_SUSPICIOUS_PARTS", ("",))  # every script takes the full path
    assert [issues(code) for code in codes] == usual
