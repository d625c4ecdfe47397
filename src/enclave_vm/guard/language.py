"""The AgentScript language as data: forbidden names, rule ids and their advice.

The rules, their messages and the reference text for LLM prompts all read this module, so what the
guard enforces and what the documentation says cannot drift apart.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Rule:
    id: str
    forbids: str
    """What the rule rejects, as a short phrase for tables."""
    instead: str
    """What to write instead; appended to every message of the rule."""


_RULE_LIST = (
    Rule("syntax-error", "code that does not parse as JavaScript", "fix the syntax"),
    Rule(
        "no-eval",
        "`eval`",
        "write the logic directly; code cannot be generated at run time",
    ),
    Rule(
        "no-function-constructor",
        "`Function`, `AsyncFunction`, `GeneratorFunction`",
        "use an arrow function: `const f = (x) => x * 2`",
    ),
    Rule("no-with", "`with` statements", "name the object explicitly: `obj.field`"),
    Rule("no-import", "`import`, `import()`, `import.meta`, `export`", "call a tool with `callTool` instead"),
    Rule(
        "forbidden-loop",
        "`for … in`; below STANDARD also `while` and `do … while`",
        "use `for (const x of items)`, `for (let i = 0; i < n; i++)` or array methods",
    ),
    Rule(
        "infinite-loop",
        "`for (;;)`, `for` loops whose test is always true, and `while (true)` loops with no `break`, "
        "`return` or `throw`",
        "give the loop a condition that ends it: `for (let i = 0; i < n; i++)`",
    ),
    Rule(
        "no-function-declaration",
        "generator declarations (`function*`); below STANDARD every `function` declaration",
        "use an arrow function: `const f = (x) => x * 2`",
    ),
    Rule(
        "no-function-expression",
        "generator expressions (`function* () {}`); below STANDARD every `function` expression",
        "use an arrow function: `(x) => x * 2` or `async (x) => await callTool('name', { x })`",
    ),
    Rule(
        "no-method",
        "methods, getters and setters in object literals",
        "use a property holding an arrow function: `{ total: (a, b) => a + b }`",
    ),
    Rule(
        "no-class",
        "getters, setters, generator methods, `static { }` blocks and `#private` members in classes, `extends` "
        "of anything but a class of the script or an error class; below STANDARD classes with anything but "
        "fields",
        "use fields, methods and a `constructor`; keep state in fields",
    ),
    Rule(
        "no-regex",
        "below STANDARD: regular expression literals and `RegExp`",
        "use string methods: `includes`, `startsWith`, `split`, `indexOf`, `replaceAll`",
    ),
    Rule(
        "forbidden-identifier",
        "`this` and `super` outside class bodies, `arguments`, `globalThis`, `window`, `self`, `global`, "
        "`process`, `require`, `module`, `exports`",
        "pass values explicitly as arrow parameters or declare your own variables",
    ),
    Rule(
        "forbidden-property",
        "`constructor`, `__proto__`, `prototype`, `__defineGetter__`, `__defineSetter__`, "
        "`__lookupGetter__`, `__lookupSetter__` in any form (name, property, key, string, escape)",
        "work with the data itself; prototypes and constructors are not reachable",
    ),
    Rule(
        "forbidden-method",
        "`Object.defineProperty`, `Object.defineProperties`, `Object.getPrototypeOf`, "
        "`Object.setPrototypeOf`, `Object.getOwnPropertyDescriptor(s)`, `Object.create`",
        "build objects with literals and spread: `{ ...a, key: value }`",
    ),
    Rule(
        "forbidden-global",
        "`Proxy`, `Reflect`, `Symbol`, `WeakMap`, `WeakSet`, `WeakRef`, `FinalizationRegistry`, the error classes "
        "other than `Error`, `TypeError`, `RangeError`, `WebAssembly`, `SharedArrayBuffer`, `Atomics`, timers, "
        "`fetch` and other web APIs; at STRICT also `Promise`, `Map`, `Set` and the error classes",
        "use plain objects and arrays, and throw `new Error('...')` (at STRICT: `await` tool calls one by one and "
        "throw plain values: `throw { message: '...' }`)",
    ),
    Rule(
        "restricted-global",
        "other uses of `Error`, `TypeError`, `RangeError`, `Promise`, `Map`, `Set`, `RegExp` than the listed forms "
        "(`Error.captureStackTrace`, `new Promise(...)`, `const P = Promise`)",
        "use the forms listed under Globals: `throw new Error('...')`, `await Promise.all([...])`, `new Map()`",
    ),
    Rule(
        "unknown-tool",
        "a tool name the host does not have (`callTool('users:lst', ...)`, `tools.users.lst(...)`), when the "
        "host lists its tools",
        "call one of the host's tools; the message suggests the closest name",
    ),
    Rule(
        "typescript-runtime-syntax",
        "TypeScript that generates code: `enum`, `namespace`/`module`, decorators, parameter properties "
        "(`constructor(private x: T)`)",
        "use plain objects (`const Color = { Red: 'red' } as const`) and assign fields in the constructor",
    ),
    Rule(
        "unknown-global",
        "names that are neither declared in the script nor allowed globals",
        "declare the variable with `const`/`let`, or use one of the allowed globals",
    ),
    Rule(
        "reserved-identifier",
        "names starting with `__ag_` or `__safe_`",
        "choose another name; these prefixes belong to the runtime",
    ),
    Rule(
        "no-global-mutation",
        "assigning to, or deleting from, a global (`Math.max = …`, `console.log = …`)",
        "copy into your own variable first: `const settings = { ...config }`",
    ),
    Rule(
        "dynamic-tool-name",
        "`callTool` with a tool name that is not a literal, or `callTool` used as a value",
        "call it directly with a literal name: `await callTool('users:list', { limit: 10 })`",
    ),
    Rule(
        "json-callback",
        "a reviver for `JSON.parse`, a replacer function for `JSON.stringify`",
        "transform the data before or after: `JSON.stringify(items.map(pick), null, 2)`",
    ),
    Rule(
        "max-array-size",
        "`Array(n)`/`new Array(n)`/`Array.from({ length: n })` with a literal n over the array limit, "
        "`.fill` on an array over the fill limit",
        "work on smaller arrays or in batches",
    ),
    Rule(
        "max-repeat",
        "`.repeat(n)`, `.padStart(n)`, `.padEnd(n)` with a literal n over the repeat limit",
        "build smaller strings",
    ),
    Rule(
        "homoglyph",
        "identifiers using Cyrillic, Greek, fullwidth or other letters that look like Latin ones",
        "write identifiers with plain ASCII letters",
    ),
    Rule(
        "unsupported-syntax",
        "JSX, `using` declarations, decorators, HTML-style comments (`<!--`, `-->` outside strings and "
        "comments), `#!` lines, `new.target`",
        "write plain JavaScript expressions and statements",
    ),
    Rule(
        "suspicious-string",
        "(warning) a string literal spelling a forbidden property name",
        "do not build property names that reach prototypes",
    ),
    Rule("max-code-size", "code over the size limit", "split the work into smaller scripts"),
    Rule("max-line-length", "lines over the line-length limit", "break long lines"),
    Rule("max-nesting", "brackets nested deeper than the nesting limit", "flatten the code with variables"),
    Rule(
        "forbidden-character",
        "NUL characters, unpaired surrogates, carriage returns not followed by a line feed, U+2028 and U+2029 "
        "outside strings",
        "remove them; end lines with `\\n` or `\\r\\n`; use an escape such as `\\u0000` inside strings",
    ),
    Rule(
        "bidi-character",
        "bidirectional control characters (U+202A–U+202E, U+2066–U+2069, U+200E, U+200F, U+061C) anywhere",
        "remove them; use an escape such as `\\u202E` inside strings",
    ),
    Rule(
        "invisible-character",
        "zero-width and other invisible characters, and non-ASCII spaces, outside strings and comments",
        "remove them; separate code with plain spaces",
    ),
)

RULES: dict[str, Rule] = {rule.id: rule for rule in _RULE_LIST}

#: Rules that only fire below STANDARD: the constructs they forbid are accepted from there up.
RULES_BELOW_STANDARD = frozenset({"no-regex"})
#: Rules that only fire from SECURE up.
RULES_FROM_SECURE = frozenset({"restricted-global"})


@dataclass(frozen=True)
class Construct:
    """Something a script may write, from the first level that accepts it, with one example."""

    what: str
    example: str
    first: str
    """The first level that accepts it (STRICT, SECURE or STANDARD)."""


CONSTRUCTS = (
    Construct("`const`, `let`, destructuring, spread, template strings, `?.`, `??`", "const { items = [] } = page; "
              "const names = [...a, ...b];", "STRICT"),
    Construct("arrow functions, async ones too", "const double = (x) => x * 2;", "STRICT"),
    Construct("`if`, `switch`, `? :`, `&&`, `||`", "if (!user) return null;", "STRICT"),
    Construct("`for`, `for … of` (iterations counted)", "let total = 0; for (const item of items) total += item.price;",
              "STRICT"),
    Construct("`try`/`catch`/`finally`, `throw` of any value", "try { await callTool('a', {}); } catch (e) { "
              "return e.message; }", "STRICT"),
    Construct("top-level `await` and `return`", "return await callTool('users:list', {});", "STRICT"),
    Construct("classes holding only fields", "class Point { x = 0; y = 0 }", "STRICT"),
    Construct("`Error`, `TypeError`, `RangeError`: `new`, `throw`, `instanceof`, `.message`",
              "if (!r.ok) throw new Error(`lookup failed: ${r.status}`);", "SECURE"),
    Construct("`Promise.all`, `allSettled`, `race`, `any`, `resolve`, `reject` (tool calls run concurrently)",
              "const [a, b] = await Promise.all([callTool('a', {}), callTool('b', {})]);", "SECURE"),
    Construct("`Map`, `Set`, `Boolean`", "const seen = new Set(ids); const tags = list.filter(Boolean);", "SECURE"),
    Construct("regular expression literals and `RegExp` (backtracking bounded by the timeout)",
              "const emails = text.match(/[\\w.]+@[\\w.]+/g) ?? [];", "STANDARD"),
    Construct("`function` declarations and expressions, async ones too (hoisted; no generators, no `this`, "
              "never called with `new`)", "async function fetchAll(ids) { return Promise.all(ids.map(get)); }",
              "STANDARD"),
    Construct("`while` and `do … while` (iterations counted; `while (true)` needs a `break`)",
              "let cursor = null; do { const p = await callTool('page', { cursor }); cursor = p.next; } "
              "while (cursor);", "STANDARD"),
    Construct("classes: fields, methods, a `constructor`, `this` in class bodies, `new`, `extends` of the "
              "script's classes and of the error classes (no getters/setters, `static {}` or `#private`)",
              "class NotFound extends Error { constructor(id) { super(`no ${id}`); this.name = 'NotFound'; } }",
              "STANDARD"),
)  # fmt: skip


def advice(rule_id: str) -> str:
    return RULES[rule_id].instead


#: What each allowed global is for, in the reference text.
GLOBAL_DESCRIPTIONS: dict[str, str] = {
    "callTool": "`await callTool('name', { ...args })` runs a tool and returns its JSON result; with "
    "`{ throwOnError: false }` as a third argument it resolves to `{ ok: true, value }` or "
    "`{ ok: false, error: { message } }` instead of throwing",
    "console": "`console.log/info/warn/error/debug` write to the captured output",
    "state": "the run's state, when the host gives one: a JSON object the script may change; what it holds "
    "at the end is kept for the next run",
    "Math": "math functions and constants",
    "JSON": "`JSON.stringify(value, null | [keys], indent)`, `JSON.parse(text)`",
    "Array": "`Array.isArray`, `Array.from`, `Array.of`, `Array(n)`",
    "Object": "`Object.keys/values/entries/fromEntries/assign/freeze`",
    "String": "conversion to string, `String.fromCharCode`",
    "Number": "conversion to number, `Number.isInteger`, `Number.MAX_SAFE_INTEGER`",
    "Date": "`new Date()`, `Date.now()`, date arithmetic",
    "undefined": "the undefined value",
    "NaN": "not-a-number",
    "Infinity": "positive infinity",
    "parseInt": "parse an integer from a string",
    "parseFloat": "parse a number from a string",
    "isNaN": "test for NaN",
    "isFinite": "test for a finite number",
    "encodeURI": "URI encoding",
    "encodeURIComponent": "URI component encoding",
    "decodeURI": "URI decoding",
    "decodeURIComponent": "URI component decoding",
    "Error": "`throw new Error('message')`, `e instanceof Error`, `e.message`, `class NotFound extends Error`",
    "TypeError": "`throw new TypeError('message')`, `e instanceof TypeError`",
    "RangeError": "`throw new RangeError('message')`, `e instanceof RangeError`",
    "Promise": "`await Promise.all([callTool('a', {}), callTool('b', {})])` runs tool calls concurrently; also "
    "`allSettled`, `race`, `any`, `resolve`, `reject`",
    "Map": "`new Map()`: keys of any type, insertion order kept",
    "Set": "`new Set(items)`: unique values",
    "Boolean": "conversion to boolean: `items.filter(Boolean)`",
    "RegExp": "regular expressions: `/^a+$/i.test(s)`, `new RegExp(pattern, 'g')`; backtracking is bounded by "
    "the run's timeout",
    "tools": "`await tools.users.list({ limit: 5 })`: the host's tools by namespace (tool `users:list` or "
    "`users.list`); takes the same options as callTool",
}

#: Names that are rejected wherever they appear as identifiers (declarations included), with the rule id.
FORBIDDEN_NAMES: dict[str, str] = {
    "eval": "no-eval",
    **dict.fromkeys(
        ("Function", "AsyncFunction", "GeneratorFunction", "AsyncGeneratorFunction"),
        "no-function-constructor",
    ),
    "RegExp": "no-regex",
    **dict.fromkeys(
        (
            "this",  # only reachable as an identifier when escaped (`\u0074his`)
            "super",
            "arguments",
            "globalThis",
            "window",
            "self",
            "global",
            "process",
            "require",
            "module",
            "exports",
        ),
        "forbidden-identifier",
    ),
    **dict.fromkeys(
        (
            # reflection and values that escape the data model
            "Proxy",
            "Reflect",
            "Symbol",
            "Promise",
            "Map",
            "Set",
            "WeakMap",
            "WeakSet",
            "WeakRef",
            "FinalizationRegistry",
            "WebAssembly",
            "SharedArrayBuffer",
            "Atomics",
            # error constructors
            "Error",
            "EvalError",
            "RangeError",
            "ReferenceError",
            "SyntaxError",
            "TypeError",
            "URIError",
            "AggregateError",
            "InternalError",
            "SuppressedError",
            "DOMException",
            # timers
            "setTimeout",
            "setInterval",
            "setImmediate",
            "clearTimeout",
            "clearInterval",
            "clearImmediate",
            "queueMicrotask",
            "requestAnimationFrame",
            "cancelAnimationFrame",
            "requestIdleCallback",
            # web and host APIs
            "fetch",
            "XMLHttpRequest",
            "WebSocket",
            "EventSource",
            "Worker",
            "SharedWorker",
            "importScripts",
            "postMessage",
            "navigator",
            "location",
            "document",
            "localStorage",
            "sessionStorage",
            "indexedDB",
            "performance",
            "crypto",
            "structuredClone",
            "atob",
            "btoa",
            "alert",
            "prompt",
            "confirm",
        ),
        "forbidden-global",
    ),
}

#: Property names that lead to prototypes or accessors, rejected in every spelling.
FORBIDDEN_PROPERTIES = frozenset(
    {
        "constructor",
        "__proto__",
        "prototype",
        "__defineGetter__",
        "__defineSetter__",
        "__lookupGetter__",
        "__lookupSetter__",
    }
)

#: `Object.<name>` functions that manipulate prototypes or property descriptors.
FORBIDDEN_OBJECT_METHODS = frozenset(
    {
        "defineProperty",
        "defineProperties",
        "getPrototypeOf",
        "setPrototypeOf",
        "getOwnPropertyDescriptor",
        "getOwnPropertyDescriptors",
        "create",
    }
)

#: Why each forbidden name is forbidden; completes the message "Identifier 'X' is not allowed".
NAME_REASONS: dict[str, str] = {
    "no-function-constructor": "it compiles code at run time",
    "no-regex": "regular expressions are not part of AgentScript",
    "forbidden-identifier": "it reaches the global object or the caller",
    "forbidden-global": "it is not available in AgentScript",
}

#: Bidirectional control characters (Trojan Source): rejected anywhere, even in strings and comments.
BIDI_CHARACTERS = frozenset("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069\u200e\u200f\u061c")

#: Spaces other than ASCII ones: QuickJS skips them, tree-sitter's line-break (ASI) scan stops at them, so the
#: two read `x\n\u00a0(y)` differently; rejected outside strings and comments like invisible characters.
UNUSUAL_SPACES = frozenset("\u00a0\u1680\u202f\u205f\u3000" + "".join(chr(c) for c in range(0x2000, 0x200B)))

#: Characters that render as nothing; rejected outside strings and comments.
INVISIBLE_CHARACTERS = frozenset(
    "\u200b\u200c\u200d\u2060\u2061\u2062\u2063\u2064\ufeff\u00ad\u180e\u034f\u115f\u1160\u3164"
    "\uffa0\u17b4\u17b5\u206a\u206b\u206c\u206d\u206e\u206f"
    + "".join(chr(c) for c in range(0xFE00, 0xFE10))
    + "".join(chr(c) for c in range(0xE0000, 0xE0080))
    + "".join(chr(c) for c in range(0xE0100, 0xE01F0))
)


def _homoglyphs() -> dict[str, str]:
    table: dict[str, str] = {}
    # Cyrillic and Greek letters whose usual glyph is a Latin letter's
    pairs = (
        "аa вb сc еe һh іi јj кk мm нh оo рp ѕs тt уy хx ԁd ԛq ԝw үy ӏl ɡg ıi ɑa"
        " АA ВB СC ЕE НH ІI ЈJ КK МM ОO РP ЅS ТT ХX УY ԌG ԚQ ԜW ҮY Ӏl"
        " αa βb γy εe ιi κk νv οo ρp τt υu χx ϲc ϳj"
        " ΑA ΒB ΕE ΖZ ΗH ΙI ΚK ΜM ΝN ΟO ΡP ΤT ΥY ΧX Ϲc"
    )
    for pair in pairs.split():
        table[pair[0]] = pair[1]
    for offset in range(26):  # fullwidth Latin letters
        table[chr(0xFF21 + offset)] = chr(0x41 + offset)
        table[chr(0xFF41 + offset)] = chr(0x61 + offset)
    return table


#: Look-alike letter → the Latin letter it imitates.
HOMOGLYPHS: dict[str, str] = _homoglyphs()


def homoglyph_of(char: str) -> str | None:
    """The Latin letter `char` imitates, or None. Mathematical alphanumerics (U+1D400–U+1D7FF) count too."""
    latin = HOMOGLYPHS.get(char)
    if latin is None and "\U0001d400" <= char <= "\U0001d7ff":
        return "a Latin letter or digit"
    return latin
