"""Compatibility table: the verdict expected at each security level for realistic scripts and attacks.

Each row is (code, verdict at STRICT, SECURE, STANDARD, PERMISSIVE); a verdict is "ok" or the rule id
that must be among the errors. Accepted rows that QuickJS compiles must still compile once instrumented.
"""

from __future__ import annotations

import pytest
from guard_helpers import compiles

from enclave_vm.config import SecurityLevel
from enclave_vm.guard import policy_for, prepare, validate_code
from enclave_vm.guard.instrument import WRAP_PREFIX, WRAP_SUFFIX

LEVELS = (SecurityLevel.STRICT, SecurityLevel.SECURE, SecurityLevel.STANDARD, SecurityLevel.PERMISSIVE)
Row = tuple[str, str, str, str, str]


def ok(code: str) -> Row:
    return (code, "ok", "ok", "ok", "ok")


def secure_up(code: str) -> Row:
    """Uses a global that STRICT does not have."""
    return (code, "unknown-global", "ok", "ok", "ok")


def bad(code: str, rule: str) -> Row:
    return (code, rule, rule, rule, rule)


def from_secure(code: str, rule: str) -> Row:
    """The original's verdict at STRICT; accepted from SECURE up (error classes, Promise, Map/Set)."""
    return (code, rule, "ok", "ok", "ok")


def from_standard(code: str, rule: str) -> Row:
    """The original's verdict at STRICT and SECURE; accepted from STANDARD up (regex, function, while, class)."""
    return (code, rule, rule, "ok", "ok")


VALID = [
    # tool orchestration
    ok("const users = await callTool('users:list', {limit: 10}); return users.filter(u => u.active).map(u => u.name);"),
    ok("const r = await callTool('search', {q: 'x'}); return r.items.length;"),
    ok("const a = await callTool('a', {}); const b = await callTool('b', {id: a.id}); return {a, b};"),
    ok(
        "const ids = [1, 2, 3]; const out = []; for (const id of ids) { out.push(await "
        "callTool('get', {id})); } return out;"
    ),
    ok("const fetchOne = async (id) => await callTool('items:get', {id}); return await fetchOne(7);"),
    ok("const get = async (id) => callTool('items:get', {id}); const x = await get(1); return x;"),
    ok("const res = await callTool(`users:list`, {}); return res;"),
    ok("const page = await callTool('page', {n: 1}); if (!page.items.length) { return []; } return page.items;"),
    ok(
        "let cursor = null; const all = []; for (let i = 0; i < 5; i++) { const p = await "
        "callTool('page', {cursor}); all.push(...p.items); cursor = p.next; if (!cursor) break; } "
        "return all;"
    ),
    ok("const t = await callTool('weather', {city: 'Paris'}); return `${t.temp}°C in Paris`;"),
    ok("try { return await callTool('may-fail', {}); } catch (err) { return {error: err.message}; }"),
    ok("try { await callTool('x', {}); } catch { console.warn('failed'); }"),
    ok(
        "const results = {}; for (const name of ['a', 'b']) { results[name] = await "
        "callTool('lookup', {name}); } return results;"
    ),
    ok("const data = await callTool('db:query', {sql: 'select 1'}); return data.rows?.[0]?.value ?? null;"),
    ok("const x = await callTool('a', {nested: {deep: [1, 2, {k: 'v'}]}}); return x;"),
    ok("return (await callTool('count', {})).total;"),
    ok("const {items = [], total} = await callTool('list', {}); return {n: items.length, total};"),
    ok("const [first] = await callTool('list', {}); return first;"),
    ok("const send = async (to) => { await callTool('mail:send', {to}); return true; }; return await send('a@b.c');"),
    ok("await callTool('log', {level: 'info', msg: 'start'}); return 'done';"),
    # arrays
    ok("return [1, 2, 3].map(x => x * 2);"),
    ok("return [1, 2, 3].filter(x => x % 2).reduce((a, b) => a + b, 0);"),
    ok("return [3, 1, 2].sort((a, b) => a - b);"),
    ok("return [[1, 2], [3]].flat();"),
    ok("return [1, 2].flatMap(x => [x, x]);"),
    ok("return [1, 2, 3].find(x => x > 1);"),
    ok("return [1, 2, 3].findIndex(x => x > 1);"),
    ok("return [1, 2, 3].some(x => x > 2) && [1].every(x => x === 1);"),
    ok("return [1, 2, 3].slice(1).concat([4]).join(',');"),
    ok("return Array.from({length: 5}, (_, i) => i * i);"),
    ok("return Array.isArray([]) ? Array.of(1, 2) : null;"),
    ok("const a = [1, 2, 3]; a.push(4); a.unshift(0); a.pop(); a.shift(); return a;"),
    ok("const a = [1, 2, 3]; return a.indexOf(2) + a.lastIndexOf(3);"),
    ok("const a = [1, 2, 3]; return a.at(-1);"),
    ok("const a = [5, 1]; return [...a].reverse();"),
    ok("return new Array(5).fill(0).map((_, i) => i);"),
    ok("return Array(3).fill('x');"),
    ok("const m = [[1, 2], [3, 4]]; return m.map(row => row.map(v => v * 10));"),
    ok(
        "const groups = {}; for (const x of [1, 2, 3, 4]) { const k = x % 2 ? 'odd' : 'even'; "
        "(groups[k] ??= []).push(x); } return groups;"
    ),
    ok("const uniq = [1, 1, 2].filter((v, i, arr) => arr.indexOf(v) === i); return uniq;"),
    ok("return [{n: 2}, {n: 1}].sort((a, b) => a.n - b.n).map(({n}) => n);"),
    ok("const total = [{p: 2, q: 3}].reduce((sum, {p, q}) => sum + p * q, 0); return total;"),
    ok("return [1, 2, 3].entries().next().value;"),
    ok("return [1, 2, 3].keys().next().value;"),
    # objects
    ok("const o = {a: 1, b: 2}; return Object.keys(o).map(k => `${k}=${o[k]}`).join('&');"),
    ok("const o = {a: 1}; return Object.entries(o).map(([k, v]) => ({key: k, value: v}));"),
    ok("return Object.fromEntries([['a', 1], ['b', 2]]);"),
    ok("const base = {a: 1}; return {...base, b: 2};"),
    ok("return Object.assign({}, {a: 1}, {b: 2});"),
    ok("const o = Object.freeze({a: 1}); return Object.isFrozen(o);"),
    ok("const key = 'dyn'; return {[key]: 1, [`${key}2`]: 2};"),
    ok("const o = {name: 'x', type: 'y', id: 1, length: 3, value: 4}; return o.name + o.type + o.length;"),
    ok("const o = {'quoted-key': 1, 42: 'num'}; return o['quoted-key'] + o[42];"),
    ok("const o = {a: {b: {c: 1}}}; return o.a.b.c;"),
    ok("const o = {}; o.x = 1; o['y'] = 2; delete o.x; return o;"),
    ok("const o = {a: 1}; return 'a' in o && o.hasOwnProperty('a');"),
    ok("const o = {a: 1}; const {a, ...rest} = o; return rest;"),
    ok("const o = {f: (x) => x + 1}; return o.f(1);"),
    ok("const o = {count: 0}; o.count++; o.count += 2; return o.count;"),
    ok("const o = {eval: 1, Function: 2, Proxy: 3, this: 4, window: 5}; return o.eval + o.Function;"),
    ok("const o = {created: 1, creator: 'me', prototypeName: 'p', constructorId: 2}; return o;"),
    ok("return JSON.parse(JSON.stringify({a: [1, 2]}));"),
    ok("return JSON.stringify({a: 1}, null, 2);"),
    ok("return JSON.stringify({a: 1, b: 2}, ['a']);"),
    ok("return JSON.stringify({a: 1}, undefined, '\\t');"),
    # strings
    ok("return 'a,b,c'.split(',').map(s => s.trim().toUpperCase());"),
    ok("return 'Hello'.replace('l', 'L').replaceAll('l', 'L');"),
    ok("return 'abc'.includes('b') && 'abc'.startsWith('a') && 'abc'.endsWith('c');"),
    ok("return 'abc'.padStart(5, '-').padEnd(7, '-');"),
    ok("return 'x'.repeat(3);"),
    ok("return '  y '.trim() + ' z'.trimStart() + 'w '.trimEnd();"),
    ok("return 'abc'.charAt(1) + 'abc'.charCodeAt(0) + String.fromCharCode(65);"),
    ok("return 'abc'.slice(-2) + 'abc'.substring(1, 2) + 'ABC'.toLowerCase();"),
    ok("return `multi\nline ${1 + 1} template`;"),
    ok("const name = 'x'; return `Hello, ${name}! You have ${[1, 2].length} items.`;"),
    ok("return 'a-b'.split('-').reverse().join('+');"),
    ok("return 'abc'.localeCompare('abd');"),
    ok("return 'ü and 😀 and 日本'.length;"),
    ok("return 'tab\\tnew\\nquote\\'s \\u00e9 \\x41';"),
    # numbers, math, dates
    ok("return Math.round(Math.random() * 100);"),
    ok("return Math.max(...[1, 5, 3]) - Math.min(1, 2);"),
    ok("return Math.floor(7 / 2) + Math.ceil(0.1) + Math.abs(-3) + Math.sqrt(16) + Math.pow(2, 3);"),
    ok("return (1234.5678).toFixed(2);"),
    ok("return Number('42') + Number.parseFloat('1.5') + Number.parseInt('7', 10);"),
    ok("return Number.isInteger(3) && Number.isFinite(1) && !Number.isNaN(1);"),
    ok("return Number.MAX_SAFE_INTEGER > 0 && Number.EPSILON > 0;"),
    ok("return 2 ** 8 + 7 % 3 - (1 << 2) + (8 >> 1) + (5 & 3) + (5 | 1) + (5 ^ 1) + ~0;"),
    ok("return 0x1f + 0o17 + 0b101 + 1_000_000 + 1e3 + .5;"),
    ok("const d = new Date(); return d.toISOString();"),
    ok("return Date.now() > 0;"),
    ok("const d = new Date('2024-01-01T00:00:00Z'); return d.getUTCFullYear();"),
    ok("const start = new Date(2024, 0, 1); const end = new Date(2024, 0, 31); return (end - start) / 86400000;"),
    ok("return new Date(0).toJSON();"),
    ok("return String(12).padStart(4, '0');"),
    ok("return typeof 1 === 'number' && typeof 'a' === 'string' && typeof undefined === 'undefined';"),
    ok("return [1, 2] instanceof Array;"),
    ok("return NaN !== NaN && Infinity > 0 && undefined === void 0;"),
    # control flow
    ok("let s = 0; for (let i = 0; i < 10; i++) { if (i === 5) continue; s += i; } return s;"),
    ok("for (let i = 10; i > 0; i -= 2) { console.log(i); }"),
    ok("const xs = [1, 2]; for (let i = 0; i < xs.length; i++) { console.log(xs[i]); }"),
    ok("for (const ch of 'abc') { console.log(ch); }"),
    ok("for (const [i, v] of ['a', 'b'].entries()) { console.log(i, v); }"),
    ok("outer: for (const a of [1, 2]) { for (const b of [1, 2]) { if (a === b) continue outer; } }"),
    ok("const x = 2; switch (x) { case 1: return 'one'; case 2: return 'two'; default: return 'many'; }"),
    ok("const x = 5; if (x > 3) { return 'big'; } else if (x > 1) { return 'medium'; } else { return 'small'; }"),
    ok("const x = null; return x ? 1 : x === null ? 2 : 3;"),
    ok("const a = null; const b = a ?? 'default'; const c = a || 'fallback'; const d = a && a.b; return [b, c, d];"),
    ok("let a = null; a ??= 1; a ||= 2; a &&= 3; return a;"),
    ok("throw 'plain string error';"),
    ok("throw {message: 'structured error', code: 42};"),
    ok("try { throw {message: 'x'}; } catch (e) { return e.message; }"),
    ok("try { JSON.parse('{bad'); } catch (e) { return 'invalid json'; }"),
    ok("for (let i = 0; i < 3; i++) { try { await callTool('x', {i}); } catch (e) { continue; } }"),
    ok(
        "const retry = async (n) => { for (let i = 0; i < n; i++) { try { return await "
        "callTool('flaky', {}); } catch (e) { console.log('retry', i); } } return null; }; return "
        "await retry(3);"
    ),
    ok("const o = {a: 1}; let {a} = o; a += 1; return a;"),
    ok("let [x, y] = [1, 2]; [x, y] = [y, x]; return [x, y];"),
    ok("var legacy = 1; legacy = legacy + 1; return legacy;"),
    ok("const compose = (f, g) => (x) => f(g(x)); const inc = x => x + 1; return compose(inc, inc)(1);"),
    ok("const memo = {}; const fib = (n) => n < 2 ? n : (memo[n] ??= fib(n - 1) + fib(n - 2)); return fib(20);"),
    ok("const apply = (fn, ...args) => fn(...args); return apply(Math.max, 1, 2, 3);"),
    ok("const tag = (strings, ...values) => strings.raw.join('|') + values.join(','); return tag`a${1}b${2}c`;"),
    ok("const f = ({a = 1, b = 2} = {}) => a + b; return f() + f({a: 5});"),
    ok("const f = ([a, b] = [1, 2]) => a * b; return f();"),
    ok("const ident = x => x; return ident((1, 2));"),
    ok("console.log('a', 1, {b: 2}); console.info('i'); console.warn('w'); console.error('e'); console.debug('d');"),
    ok("// eval is mentioned only in this comment\nreturn 'the word constructor in a string is fine as a value';"),
    ok("/* multi\nline\ncomment with while(true) and function f(){} */ return 1;"),
    ok("return;"),
    ok(""),
    ok(";"),
    ok("{ const scoped = 1; console.log(scoped); }"),
    ok("label: { break label; }"),
    ok("debugger;"),
    ok("const π = Math.PI; const 数 = 2; return π * 数;"),
    ok("const $el = 1; const _private = 2; const camelCase$ = 3; return $el + _private + camelCase$;"),
    ok(
        "return encodeURIComponentish = 1;".replace(
            "return encodeURIComponentish = 1;", "const encodeURIComponentish = 1; return encodeURIComponentish;"
        )
    ),
    ok("const undefinedCount = 0; const nullable = null; return [undefinedCount, nullable];"),
    ok("return await callTool('a', {}) ?? await callTool('b', {});"),
    ok("const values = await callTool('nums', {}); return values.length ? Math.max(...values) : -Infinity;"),
    ok("const rows = await callTool('csv', {}); return rows.map(r => r.split(',')).filter(cols => cols.length === 3);"),
    ok(
        "const x = await callTool('x', {}); const text = typeof x === 'string' ? x : "
        "JSON.stringify(x); return text.slice(0, 100);"
    ),
    ok(
        "const orders = await callTool('orders', {}); const byStatus = orders.reduce((acc, o) => "
        "({...acc, [o.status]: (acc[o.status] || 0) + 1}), {}); return byStatus;"
    ),
    # SECURE and up: number parsing and URI helpers
    secure_up("return parseInt('42', 10);"),
    secure_up("return parseFloat('3.14');"),
    secure_up("return isNaN(Number('x'));"),
    secure_up("return isFinite(1 / 0);"),
    secure_up("return encodeURIComponent('a b&c');"),
    secure_up("return decodeURIComponent('a%20b');"),
    secure_up("return encodeURI('http://x/a b');"),
    secure_up("return decodeURI('http://x/a%20b');"),
    secure_up("const ids = (await callTool('ids', {})).map(s => parseInt(s, 10)); return ids;"),
    secure_up("const q = encodeURIComponent('a b'); return await callTool('http:get', {path: `/search?q=${q}`});"),
]

ATTACKS = [
    # code generation
    bad("eval('1 + 1')", "no-eval"),
    bad("const e = eval; e('1')", "no-eval"),
    bad("(0, eval)('this')", "no-eval"),
    bad("\\u0065val('x')", "no-eval"),
    bad("Function('return this')()", "no-function-constructor"),
    bad("new Function('a', 'return a')", "no-function-constructor"),
    bad("(() => 1).constructor('return process')()", "forbidden-property"),
    bad("[].map.constructor('return this')()", "forbidden-property"),
    bad("(async () => 1).constructor('return 1')", "forbidden-property"),
    bad("const f = () => 1; f['constructor']('return this')()", "forbidden-property"),
    bad("const f = () => 1; f[`constructor`]('x')", "forbidden-property"),
    bad("const f = () => 1; f['constr' + 'uctor']('x')", "forbidden-property"),
    bad("const f = () => 1; f['\\x63onstructor']('x')", "forbidden-property"),
    bad("const f = () => 1; f['\\143onstructor']('x')", "forbidden-property"),
    bad("const f = () => 1; f.\\u0063onstructor('x')", "forbidden-property"),
    bad("const f = () => 1; const {constructor: F} = f; F('x')", "forbidden-property"),
    bad("const g = ({constructor: F}) => F('return this')(); g(() => 1)", "forbidden-property"),
    bad("const k = 'constructor'; (() => 1)[k]('return this')()", "forbidden-property"),
    bad("setTimeout('alert(1)', 0)", "forbidden-global"),
    bad("setInterval('x', 1)", "forbidden-global"),
    # prototype pollution
    bad("({}).__proto__.polluted = 1", "forbidden-property"),
    bad("const o = {}; o['__proto__'].x = 1", "forbidden-property"),
    bad("Object.prototype.x = 1", "forbidden-property"),
    bad("Array.prototype.push = () => 1", "forbidden-property"),
    bad("const o = JSON.parse('{}'); o.__proto__ = null", "forbidden-property"),
    bad("const o = {__proto__: {admin: true}}", "forbidden-property"),
    bad("const o = {}; o.__defineGetter__('x', () => 1)", "forbidden-property"),
    bad("const o = {}; o.__lookupGetter__('x')", "forbidden-property"),
    bad("Object.setPrototypeOf({}, null)", "forbidden-method"),
    bad("Object.getPrototypeOf([])", "forbidden-method"),
    bad("Object.defineProperty(Object, 'x', {get: () => 1})", "forbidden-method"),
    bad("Object.getOwnPropertyDescriptors(Math)", "forbidden-method"),
    bad("Object.create(null)", "forbidden-method"),
    bad("const {defineProperty: dp} = Object; dp({}, 'a', {})", "forbidden-method"),
    bad("Object['define' + 'Property']({}, 'a', {})", "forbidden-method"),
    # reflection, escape hatches, realm objects
    bad("new Proxy({}, {get: () => 1})", "forbidden-global"),
    bad("Reflect.construct(Array, [])", "forbidden-global"),
    bad("Symbol.iterator", "forbidden-global"),
    from_secure("Promise.resolve(1)", "forbidden-global"),
    ("new Promise((resolve) => resolve(1))", "forbidden-global", *["restricted-global"] * 3),
    from_secure("await Promise.all([callTool('a', {}), callTool('b', {})])", "forbidden-global"),
    from_secure("new Map([[1, 2]])", "forbidden-global"),
    from_secure("new Set([1])", "forbidden-global"),
    bad("new WeakMap()", "forbidden-global"),
    bad("new WeakRef({})", "forbidden-global"),
    bad("new FinalizationRegistry(() => 1)", "forbidden-global"),
    from_secure("throw new Error('boom')", "forbidden-global"),
    from_secure("try { null.x } catch (e) { return e instanceof TypeError }", "forbidden-global"),
    bad("new SharedArrayBuffer(1024)", "forbidden-global"),
    bad("Atomics.wait(new Int32Array(1), 0, 0)", "forbidden-global"),
    bad("WebAssembly.instantiate(new Uint8Array([]))", "forbidden-global"),
    bad("queueMicrotask(() => 1)", "forbidden-global"),
    bad("fetch('https://evil.example')", "forbidden-global"),
    bad("new XMLHttpRequest()", "forbidden-global"),
    bad("new WebSocket('wss://evil')", "forbidden-global"),
    bad("new Worker('x.js')", "forbidden-global"),
    bad("importScripts('x.js')", "forbidden-global"),
    bad("document.cookie", "forbidden-global"),
    bad("localStorage.setItem('k', 'v')", "forbidden-global"),
    bad("navigator.sendBeacon('x')", "forbidden-global"),
    bad("location.href = 'x'", "forbidden-global"),
    bad("performance.now()", "forbidden-global"),
    bad("atob('YQ==')", "forbidden-global"),
    bad("globalThis.callTool = null", "forbidden-identifier"),
    bad("globalThis['ev' + 'al']('1')", "forbidden-identifier"),
    bad("this.constructor", "forbidden-identifier"),
    bad("const f = () => this", "forbidden-identifier"),
    bad("window.location", "forbidden-identifier"),
    bad("self.postMessage('x')", "forbidden-identifier"),
    bad("global.process", "forbidden-identifier"),
    bad("process.env.SECRET", "forbidden-identifier"),
    bad("process.mainModule.require('child_process')", "forbidden-identifier"),
    bad("require('child_process').execSync('id')", "forbidden-identifier"),
    bad("module.constructor._load('fs')", "forbidden-identifier"),
    bad("exports.x = 1", "forbidden-identifier"),
    bad("const f = () => arguments.callee", "forbidden-identifier"),
    bad("import('fs').then(m => m)", "no-import"),
    bad("import fs from 'fs'", "no-import"),
    bad("import * as os from 'os'", "no-import"),
    bad("export default 1", "no-import"),
    bad("import.meta.url", "no-import"),
    bad("with ({x: 1}) { x }", "no-with"),
    # denial of service
    ("while (true) {}", "forbidden-loop", "forbidden-loop", "infinite-loop", "infinite-loop"),
    ("do {} while (true)", "forbidden-loop", "forbidden-loop", "infinite-loop", "infinite-loop"),
    from_standard("let n = 0; while (true) { if (++n > 2) break; }", "forbidden-loop"),
    bad("for (const k in {a: 1}) {}", "forbidden-loop"),
    bad("for (;;) {}", "infinite-loop"),
    bad("for (let i = 0; ; i++) {}", "infinite-loop"),
    bad("for (; true;) {}", "infinite-loop"),
    bad("for (; 1;) {}", "infinite-loop"),
    bad("for (; !false;) {}", "infinite-loop"),
    bad("for (; 'yes';) {}", "infinite-loop"),
    bad("for (let i = 0; i < 10 || 1; i++) {}", "infinite-loop"),
    bad("Array(1e9)", "max-array-size"),
    bad("new Array(4294967295)", "max-array-size"),
    bad("Array.from({length: 2 ** 32})", "max-array-size"),
    bad("new Array(500000).fill('x')", "max-array-size"),
    bad("'x'.repeat(2 ** 28)", "max-repeat"),
    bad("'x'.padEnd(1e8)", "max-repeat"),
    bad("const f = () => f(); f()", "ok-placeholder"),
    # functions and classes
    from_standard("function f() { return 1 }", "no-function-declaration"),
    from_standard("async function f() {}", "no-function-declaration"),
    bad("function* gen() { yield 1 }", "no-function-declaration"),
    from_standard("const f = function () {}", "no-function-expression"),
    bad("const g = function* () { yield 1 }", "no-function-expression"),
    bad("const o = {toString() { return 'x' }}", "no-method"),
    bad("const o = {get secret() { return 1 }}", "no-method"),
    bad("const o = {set v(x) {}}", "no-method"),
    bad("const o = {valueOf() { return 1 }}; o + 1", "no-method"),
    from_standard("class Evil { constructor() {} }", "no-class"),
    bad("class A extends Array {}", "no-class"),
    ok("const C = class {}"),  # the original accepts classes holding only fields
    ok("class Point { x = 0; y = 0 } return new Point().x;"),
    from_standard("/(a+)+$/.test('aaaaaaaaaaaaaaaaaaaaaaaaaaaa!')", "no-regex"),
    from_standard("new RegExp('(a+)+')", "no-regex"),
    from_standard("'abc'.replace(/b/g, 'x')", "no-regex"),
    # tool abuse
    bad("const t = 'admin:delete'; await callTool(t, {})", "dynamic-tool-name"),
    bad("await callTool('a' + ':b', {})", "dynamic-tool-name"),
    bad("const n = 'x'; await callTool(`tool:${n}`, {})", "dynamic-tool-name"),
    bad("const c = callTool; await c('x', {})", "dynamic-tool-name"),
    bad("await Array.of('a').map(callTool)", "dynamic-tool-name"),
    bad("await callTool.apply(null, ['x', {}])", "dynamic-tool-name"),
    bad("const o = {callTool}; await o.callTool('x', {})", "dynamic-tool-name"),
    bad("callTool = () => 1", "no-global-mutation"),
    bad("console.log = () => 1", "no-global-mutation"),
    bad("JSON.parse = (x) => x", "no-global-mutation"),
    bad("Math.random = () => 4", "no-global-mutation"),
    bad("delete Array.isArray", "no-global-mutation"),
    bad("Object.keys.call = 1", "no-global-mutation"),
    bad("JSON.parse('{}', (k, v) => v)", "json-callback"),
    bad("JSON.stringify({}, (k, v) => v)", "json-callback"),
    bad("const replacer = (k, v) => v; JSON.stringify({}, replacer)", "json-callback"),
    # runtime internals and look-alikes
    bad("__ag_iter = () => 1", "reserved-identifier"),
    bad("const __safe_callTool = 1", "reserved-identifier"),
    bad("__ag_e", "reserved-identifier"),
    bad("const сallTool = 1", "homoglyph"),
    bad("const ｅval = 1", "homoglyph"),
    bad("const o = {}; o.соnstructor", "homoglyph"),
    bad("const a\u200b = 1", "invisible-character"),
    bad("const a = 1; /*\u202e*/ return a", "bidi-character"),
    bad("const a = '\u2066x\u2069'", "bidi-character"),
    bad("const a = 1;\x00", "forbidden-character"),
    # syntax the guard does not accept
    bad("const x = <script>alert(1)</script>", "unsupported-syntax"),
    bad("using res = null", "unsupported-syntax"),
    bad("<!-- hidden\nreturn 1", "unsupported-syntax"),
    bad("const x = 1 +;", "syntax-error"),
    bad("return {a: 1", "syntax-error"),
    secure_up("Boolean(1)"),
    bad("new Uint8Array(8)", "unknown-global"),
    bad("escape('x')", "unknown-global"),
    bad("Iterator.from([])", "unknown-global"),
    bad("secretHostObject.run()", "unknown-global"),
]
# an arrow that calls itself is legal AgentScript: recursion is bounded by the engine, not the guard
ATTACKS = [row if row[1] != "ok-placeholder" else ok(row[0]) for row in ATTACKS]

TABLE = VALID + ATTACKS


def test_the_table_is_large_enough() -> None:
    assert len(TABLE) >= 200
    assert len(VALID) >= 100
    assert len(ATTACKS) >= 100


@pytest.mark.parametrize("row", TABLE, ids=[row[0][:60] for row in TABLE])
def test_verdict_at_each_level(row: Row) -> None:
    code = row[0]
    for level, expected in zip(LEVELS, row[1:], strict=True):
        issues = validate_code(code, policy_for(level))
        errors = [issue for issue in issues if issue.severity == "error"]
        if expected == "ok":
            assert errors == [], f"{level}: {errors}"
        else:
            assert expected in {issue.rule for issue in errors}, f"{level}: {errors}"


@pytest.mark.parametrize("row", [row for row in TABLE if row[3] == "ok"], ids=lambda row: row[0][:60])
def test_accepted_scripts_still_compile_after_instrumentation(row: Row) -> None:
    code = row[0]
    prepared = prepare(code, policy_for(SecurityLevel.STANDARD))
    assert prepared.valid and prepared.instrumented is not None
    if compiles(WRAP_PREFIX + code + WRAP_SUFFIX):
        assert compiles(prepared.instrumented.program), prepared.instrumented.program
