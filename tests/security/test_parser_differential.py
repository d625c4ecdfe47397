"""Parser differential: the engine must run exactly the statements the guard judged.

The guard judges tree-sitter's reading of a script; QuickJS compiles the same text with its own tokenizer.
The oracle here compares the two readings by running both in QuickJS:

- the real program: `prepare(code).instrumented.program`, byte for byte what the runtime evaluates;
- the canonical program: the guard's own tree printed back token by token (`canonical`), one space
  between tokens, comments dropped, no line breaks, and an explicit `;` after every statement tree-sitter
  ended without one. Nothing in it is left for a tokenizer to interpret (no comment, no line terminator,
  no ASI), so QuickJS reads it exactly as tree-sitter read the script. It is instrumented the same way.

Both run with the runtime's hooks replaced by recorders and a `t(k)` the scripts call at every statement
of interest; the trace (every `t` call, loop iteration, function entry, catch and throw hook, and the
outcome) must be identical. Code that QuickJS hides in a comment, or reveals from what tree-sitter took
for a string, changes the trace; a real program that does not compile runs nothing (fails closed) and is
accepted. The property test generates token soups around comment, regular-expression, template and ASI
boundaries and asserts the oracle on every script `validate()` accepts; the cases below pin each class
found, through the oracle (it must see the disagreement when the guard is skipped) and through
`Enclave.run` on every adapter at STRICT.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import pytest
from attack_helpers import VE, attack, fails, returns, sentinel_tools
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from enclave_vm import Enclave
from enclave_vm.config import SecurityLevel
from enclave_vm.guard import policy_for, prepare
from enclave_vm.guard.instrument import instrument
from enclave_vm.guard.parse import ParsedScript, parse_script
from engine_eval import evaluate

POLICY = policy_for(SecurityLevel.STRICT, ["t"])
#: The level that accepts regular expressions, functions, `while` and classes: their boundaries too.
STANDARD_POLICY = policy_for(SecurityLevel.STANDARD, ["t"])

# ---------------------------------------------------------------- the engine side (swappable)

# A test prelude for our engine: recorders for every instrumentation hook and a `t(k)` trace call; `start`
# runs the program, `drain` hands back the trace and how the program ended.
_TRACING_PRELUDE = """(() => {
const trace = [];
let outcome = 'pending';
globalThis.t = (k) => { trace.push(k); return k; };
globalThis.__ag_iter = (count, final) => { trace.push(final ? 'end:' + count : 'i'); return count + 1; };
globalThis.__ag_tick = () => { trace.push('f'); };
globalThis.__ag_catch = (e) => { trace.push('c'); };
globalThis.__ag_thr = (v) => { trace.push('thr'); return v; };
return (op, arg) => {
  if (op === 'start') {
    arg().then((v) => { outcome = 'ok:' + JSON.stringify(v); }, (e) => { outcome = 'error:' + String(e); });
  }
  if (op === 'drain') return JSON.stringify([trace, outcome]);
  return undefined;
};
})()"""


def run_in_engine(program: str) -> tuple[str, ...]:
    """Compile `program` (an expression evaluating to the script's async function), run it, and return
    its trace; ('compile-error',) when QuickJS does not compile it. The only place that talks to QuickJS."""
    outcome, text = evaluate(_TRACING_PRELUDE, program)
    if outcome == "compile-error":
        return ("compile-error",)
    if text is None:  # the time or memory limit: ran code nobody saw
        return (outcome,)
    trace, ended = json.loads(text)
    return (*map(str, trace), str(ended))


# ---------------------------------------------------------------- the guard side

_OPAQUE = frozenset({"string", "regex", "number"})
_SKIPPED = frozenset({"comment", "html_comment"})
_TERMINATED = frozenset(
    {
        "expression_statement",
        "lexical_declaration",
        "variable_declaration",
        "return_statement",
        "throw_statement",
        "break_statement",
        "continue_statement",
        "debugger_statement",
    }
)


def canonical(parsed: ParsedScript) -> str:
    """tree-sitter's reading of the script, printed so that any JavaScript tokenizer reads it the same."""
    out: list[str] = []
    _print(parsed, parsed.root, out)
    return " ".join(out)


def _print(parsed: ParsedScript, node: Any, out: list[str]) -> None:
    kind = node.type
    if kind in _SKIPPED:
        return
    if kind in _OPAQUE or node.child_count == 0:
        out.append(parsed.text(node))
        return
    if kind == "template_string":
        out.append(_template(parsed, node))
        return
    for child in node.children:
        _print(parsed, child, out)
    if kind in _TERMINATED and node.children[-1].type != ";" and _in_statement_position(node):
        out.append(";")


def _in_statement_position(node: Any) -> bool:
    """For-loop headers hold declarations and expressions that end with the header's own tokens."""
    parent = node.parent
    return (
        parent is None
        or parent.type not in ("for_statement", "for_in_statement")
        or parent.child_by_field_name("body") == node
    )


def _template(parsed: ParsedScript, node: Any) -> str:
    pieces: list[str] = []
    source = parsed.source
    cursor = node.start_byte
    for child in node.children:
        if child.type == "template_substitution":
            pieces.append(source[cursor : child.start_byte].decode("utf-8", "surrogatepass"))
            inner: list[str] = []
            for part in child.children[1:-1]:
                _print(parsed, part, inner)
            pieces.append("${ " + " ".join(inner) + " }")
            cursor = child.end_byte
    pieces.append(source[cursor : node.end_byte].decode("utf-8", "surrogatepass"))
    return "".join(pieces)


@dataclass
class Readings:
    real: tuple[str, ...]
    canonical: tuple[str, ...]

    @property
    def agree(self) -> bool:
        return self.real == ("compile-error",) or self.real == self.canonical


def readings(code: str) -> Readings:
    """Both readings of `code`, instrumented as the runtime would (without asking the guard's rules)."""
    parsed = parse_script(code)
    assert not parsed.root.has_error, "the oracle compares readings of code tree-sitter parses"
    printed = canonical(parsed)
    reprinted = parse_script(printed)
    assert not reprinted.root.has_error, f"the canonical print does not parse: {printed!r}"
    return Readings(
        real=run_in_engine(instrument(parsed).program), canonical=run_in_engine(instrument(reprinted).program)
    )


# ---------------------------------------------------------------- the classes found

#: (id, code): each one ran code the guard never saw before the guard rejected it.
DIFFERENTIALS: list[tuple[str, str]] = [
    (
        "html-open-hides-template-start",
        "let a = 1, b = 2; a <!--b `\nt(1); for (let i = 0; i < 3; i++) t(2)\n// `\nreturn 5",
    ),
    ("html-open-in-substitution", "let b = 2, c = `${b <!--b + t(1)\n}`; return c"),
    ("html-close-after-lone-cr", "let a = 1\r--> `\nt(1); for (let i = 0; i < 3; i++) t(2)\n//`\nreturn a"),
    ("lone-cr-asi-return", "let x = 3; const f = () => { return\rx }; return f()"),
    ("lone-cr-in-comment-asi", "let x = 3; const f = () => { return /*\r*/ x }; return f()"),
    (
        "arrow-body-then-regex",
        "const g = 1\nconst f = (x) => {}\n/'/; t(1); for (let i = 0; i < 3; i++) t(2); '/g //'\nreturn 7",
    ),
    ("arrow-in-ternary-then-regex", "const g = 1; let q = 1; q = 1 ? 2 : () => {}\n/'/; t(1); '/g //'\nreturn 1"),
    ("async-arrow-then-regex", "const g = 1; let q = async () => {}\n/'/; t(1); '/g //'\nreturn 1"),
    ("line-separator-ends-comment-without-asi", "const f = () => { return // c\u2028t(1) }; return f()"),
    ("nbsp-after-line-break", "let x = 1; x\n\u00a0`${t(1)}`; return 2"),
    ("postfix-update-called", "let x = 1; x++\n(x)\nreturn t(x)"),
]


@pytest.mark.parametrize("code", [c[1] for c in DIFFERENTIALS], ids=[c[0] for c in DIFFERENTIALS])
def test_the_oracle_sees_each_class(code: str) -> None:
    assert not readings(code).agree


@pytest.mark.parametrize("code", [c[1] for c in DIFFERENTIALS], ids=[c[0] for c in DIFFERENTIALS])
def test_the_guard_rejects_each_class(code: str) -> None:
    assert not prepare(code, POLICY).valid


#: Neighbours where both readings agree (or QuickJS fails closed): the guard may accept them.
AGREEING: list[tuple[str, str]] = [
    ("markers-in-literals", "return '<!--' + `-->${t(1)}<!--` // <!-- -->"),
    ("markers-in-block-comment", "/* <!-- \n --> */ return t(1)"),
    ("line-separator-in-strings", "return t('a\u2028b') + `\u2029`"),
    ("crlf-line-ends", "let x = 3\r\nt(x)\r\nreturn x"),
    ("comment-with-newline-asi", "let x = 3; const f = () => { return /*\n*/ x }; return f()"),
    ("regex-after-block", "let x = 1; {}\nt(x); return x"),
    ("division-after-paren", "let a = 4, g = 2; a = (a)\n/2/g; return a"),
    ("parenthesised-arrow-divided", "const f = ((x) => {})\n/2; return t(1)"),
    ("arrow-expression-body", "const g = 1; const f = (x) => x\n/t(9)/g; return f(18)"),
    ("numeric-separator", "return t(1_000) + 0x1_0"),
    ("escaped-identifier", "const \\u0061b = 2; return t(ab)"),
    ("escaped-keyword", "const \\u0077hile = 1; return 1"),
    ("legacy-octal", "return 010"),
    ("non-bmp-identifier", "const \U0001d465 = 2; return t(\U0001d465)"),
]


@pytest.mark.parametrize("code", [c[1] for c in AGREEING], ids=[c[0] for c in AGREEING])
def test_neighbours_read_the_same(code: str) -> None:
    assert readings(code).agree


# ---------------------------------------------------------------- through every adapter

_PAYLOAD = "while (true) {} return typeof globalThis"
"""What the engine would run unseen: a loop the guard forbids, `globalThis` it forbids, no counted iteration."""

#: (id, script, the rule that stops it): each class with a payload tree-sitter reads as a string.
ATTACKS: list[tuple[str, str, str]] = [
    ("html-open", f"let a = 1, b = 2; a <!--b `\n{_PAYLOAD}\n// `\nreturn 5", "unsupported-syntax"),
    (
        "html-open-in-substitution",
        "let b = 2, c = `${b <!--b + Math.abs(globalThis)\n}`; return c",
        "unsupported-syntax",
    ),
    ("html-close-after-cr", f"let a = 1\r--> `\n{_PAYLOAD}\n//`\nreturn a", "forbidden-character"),
    ("cr-return", "const f = () => { return\r[1] }; return f()", "forbidden-character"),
    ("ls-comment-return", "const f = () => { return // c\u2028globalThis }; return typeof f()", "forbidden-character"),
    ("nbsp-asi", "let x = 1\nx\n\u00a0`${typeof globalThis}`\nreturn 2", "invisible-character"),
    ("postfix-called", "let x = 1, y = 2; x++\n(y)\nreturn typeof globalThis", "syntax-error"),
    ("arrow-then-regex", f"const g = 1\nconst f = (x) => {{}}\n/'/; {_PAYLOAD}; '/g //'\nreturn 7", "syntax-error"),
    (
        "arrow-in-ternary-then-regex",
        f"const g = 1; let q = 1 ? 2 : () => {{}}\n/'/; {_PAYLOAD}; '/g //'\nreturn 1",
        "syntax-error",
    ),
    (
        "async-arrow-then-regex",
        f"const g = 1; let q = async () => {{}}\n/'/; {_PAYLOAD}; '/g //'\nreturn 1",
        "syntax-error",
    ),
]

#: Neighbours both readers agree on, rejected all the same: `-->` anywhere outside a literal (a comment at a
#: line start, which a line separator or a comment holding a line break also makes), and an arrow used as
#: an operand however the next line starts.
DEFENSIVE: list[tuple[str, str, str]] = [
    ("html-close-after-ls", f"let a = 1, b = 2\u2028--> `\n{_PAYLOAD}\n//`\nreturn a", "unsupported-syntax"),
    ("html-close-after-comment", f"let a = 1, b = 2 /*\n*/--> `\n{_PAYLOAD}\n//`\nreturn a", "unsupported-syntax"),
    ("html-close-mid-line", f"let a = 1; a --> `\n{_PAYLOAD}\n//`\nreturn a", "unsupported-syntax"),
    ("arrow-then-template", "const g = 1; let q = () => {}\n`${1}`\nreturn 1", "syntax-error"),
]


@pytest.fixture(scope="module")
def strict(adapter_kind: str, shared_adapters: Any) -> Any:
    options: dict[str, Any] = {"security_level": "STRICT", "tool_handler": sentinel_tools}
    adapter = shared_adapters.get(adapter_kind)
    if adapter is not None:
        options["adapter"] = adapter
    with Enclave(**options) as enclave:
        yield enclave


@pytest.mark.parametrize(
    ("code", "rule"), [c[1:] for c in ATTACKS + DEFENSIVE], ids=[c[0] for c in ATTACKS + DEFENSIVE]
)
async def test_each_class_is_rejected_through_every_adapter(strict: Enclave, code: str, rule: str) -> None:
    result = await attack(strict, code, fails(VE))
    assert result.stats.iteration_count == 0
    assert result.error is not None and result.error.data is not None
    assert rule in [issue["rule"] for issue in result.error.data["issues"]]


@pytest.mark.parametrize(("code", "rule"), [c[1:] for c in ATTACKS], ids=[c[0] for c in ATTACKS])
def test_each_attack_would_run_unseen_without_the_guard(code: str, rule: str) -> None:
    """The engine's reading of the attack differs from tree-sitter's: the guard's check is what stops it.

    The endless loop is left out here: the oracle would see it too, but only once the time limit ends it."""
    assert not readings(code.replace("while (true) {} ", "")).agree


async def test_markers_inside_literals_still_run(strict: Enclave) -> None:
    await attack(strict, "return '<!--' + `-->${1}` // <!-- -->", returns("<!---->1"))


async def test_a_parenthesised_arrow_may_be_called(strict: Enclave) -> None:
    await attack(strict, "return ((x) => x * 2)(21)", returns(42))


# ---------------------------------------------------------------- the property

#: A boundary is: what ends before it, a line break or comment, an operator that one reader may take for
#: a comment marker or a regular expression, an operand, and text one reader may take for a literal that
#: hides code (a `t(9)` call) from it. Names are declared by `_PRELUDE`; `t` records what ran.
_HEADS = [
    "x", "x = y", "f = () => {}", "f = async () => {}", "f = (v) => v", "x = 1 ? 2 : () => {}",
    "x = 1 ? () => {} : 2", "x--", "y++", "{}", "if (x) {}", "x = (x)", "return", "x = [1]", "t(1)",
    "x = `a`", "x = 'a'", "for (const v of [1]) {}", "x = { a: 1 }", "x = typeof", "x = await", "x = void",
]  # fmt: skip
_SEPARATORS = [
    "", " ", "\n", "\r", "\r\n", "\t", "\u2028", "\u2029", "\u00a0", "/* c */", "/*\n*/", "/*\u2028*/", "// c\n",
    "// c\u2028", " <!-- c\n", "\n--> c\n",
]  # fmt: skip
_MARKERS = [
    "", "<!--", "-->", "<", "<!", "<!-", "!", "--", "++", "/", "/=", "*", "?", "?.", ".", "+", "-", ">", "=", "in",
    "=>", "#!", ",", ";", "(", ")", "[", "]", "{", "}", "${", "\\u0077hile", "let", "of", "async", "import",
]  # fmt: skip
_OPERANDS = ["", "x", "y", "g", "t(2)", "1", "010", "1_0", ".5", "0x1", "(x)", "[x]", "{}", "`${x}`"]
_HIDERS = [
    "`\nt(9)\n// `", "`\nt(9)\n`", "'/; t(9); '/g //'", '"/; t(9); "/g //"', "`/; t(9); `/g //`",
    "/* t(9) */", "`${t(9)}`", "'t(9)'", "/'/; t(9); '/g", "`\n}${t(9)}`", "'\\\nt(9)'", "// t(9)\n",
    "<!-- t(9)\n", "\n--> t(9)\n", "\rt(9)", "\u2028t(9)", "/*\n*/t(9)", "",
]  # fmt: skip
_TAILS = ["", "\nreturn t(3)", "; t(4)", "\n}", ")", "`"]
_PRELUDE = "let x = 1, y = 2, g = 3, f = 0\n"

_BOUNDARY = st.tuples(
    st.sampled_from(_HEADS),
    st.sampled_from(_SEPARATORS),
    st.sampled_from(_MARKERS),
    st.sampled_from(_SEPARATORS),
    st.sampled_from(_OPERANDS),
    st.sampled_from(_SEPARATORS),
    st.sampled_from(_HIDERS),
    st.sampled_from(_TAILS),
).map("".join)
_SCRIPT = st.lists(_BOUNDARY, min_size=1, max_size=3).map(lambda parts: _PRELUDE + "\n".join(parts))


@settings(
    derandomize=True,
    database=None,
    max_examples=1500,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)
@given(_SCRIPT)
def test_whatever_the_guard_accepts_reads_the_same_in_the_engine(code: str) -> None:
    if prepare(code, POLICY).valid:
        found = readings(code)
        assert found.agree, f"{code!r}: real {found.real} canonical {found.canonical}"


# ---------------------------------------------------------------- the constructs STANDARD adds

#: Heads that end in a regular expression, a function, a class or a loop of the levels above SECURE.
_STANDARD_HEADS = [
    *_HEADS, "function h() {}", "async function h() {}", "x = function () {}", "x = async function () {}",
    "class C {}", "x = class {}", "class D { m() { return 1 } }", "while (x) { break }", "do {} while (0)",
    "x = /a/g", "x = /'/", "x = /`/", "x = /[/]/", "x = /\\//", "x = y / 2 / g", "if (x) /a/.test('a')",
    "x = (function () {})", "x = new (class {})()", "class E { x", "class E { static", "class E { get",
    "class E { set", "class E { async", "class E { x = 1",
]  # fmt: skip
_STANDARD_TAILS = [*_TAILS, "m() { return t(9) } }\nreturn new E()", " }", "[t(8)]() {} }", "(v) { t(7) } }"]
_STANDARD_MARKERS = [*_MARKERS, "/a/", "/'/", "/`/", "function", "class", "while", "do"]
_STANDARD_BOUNDARY = st.tuples(
    st.sampled_from(_STANDARD_HEADS),
    st.sampled_from(_SEPARATORS),
    st.sampled_from(_STANDARD_MARKERS),
    st.sampled_from(_SEPARATORS),
    st.sampled_from(_OPERANDS),
    st.sampled_from(_SEPARATORS),
    st.sampled_from(_HIDERS),
    st.sampled_from(_STANDARD_TAILS),
).map("".join)
_STANDARD_SCRIPT = st.lists(_STANDARD_BOUNDARY, min_size=1, max_size=3).map(lambda parts: _PRELUDE + "\n".join(parts))


@settings(
    derandomize=True,
    database=None,
    max_examples=1500,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)
@given(_STANDARD_SCRIPT)
def test_whatever_standard_accepts_reads_the_same_in_the_engine(code: str) -> None:
    if prepare(code, STANDARD_POLICY).valid:
        found = readings(code)
        assert found.agree, f"{code!r}: real {found.real} canonical {found.canonical}"


#: Regular expressions, functions and classes at the boundaries where a reader could differ.
STANDARD_AGREEING: list[tuple[str, str]] = [
    ("regex-after-block", "let x = 1; {}\n/a/.test('a'); return t(x)"),
    ("division-after-paren-expression", "let a = 4, g = 2; a = (a)\n/2/g; return t(a)"),
    ("regex-holding-quote", "const r = /'/; t(1); return r.test(\"'\")"),
    ("regex-holding-backtick", "const r = /`/; t(1); return r.source"),
    ("regex-class-with-slash", "return t(/[/]/.test('/'))"),
    ("function-declaration-then-regex", "function h() {}\n/a/.test('a'); return t(1)"),
    ("class-declaration-then-regex", "class C {}\n/a/.test('a'); return t(1)"),
    ("while-break", "let x = 0; while (true) { if (++x > 2) break; } return t(x)"),
    ("do-while-asi", "let x = 0; do x++; while (x < 3) t(x); return x"),
]


@pytest.mark.parametrize("code", [c[1] for c in STANDARD_AGREEING], ids=[c[0] for c in STANDARD_AGREEING])
def test_standard_neighbours_read_the_same(code: str) -> None:
    assert prepare(code, STANDARD_POLICY).valid, prepare(code, STANDARD_POLICY).issues
    assert readings(code).agree


#: Function and class expressions used as a left operand: an expression may end after their body.
STANDARD_DEFENSIVE: list[tuple[str, str]] = [
    ("function-expression-then-regex", "const g = 1; let q = function () {}\n/'/; t(1); '/g //'\nreturn 1"),
    ("class-expression-then-regex", "const g = 1; let q = class {}\n/'/; t(1); '/g //'\nreturn 1"),
    ("async-line-break-function", "async\nfunction h() {}\nreturn t(1)"),
    ("class-field-then-computed", "class C { x\n['y']() { return 1 } }\nreturn t(1)"),
    ("class-static-line-break", "class C { static\nm() {} }\nreturn t(1)"),
    ("class-get-line-break", "class C { get\nm() { return t(9) } }\nreturn t(1)"),
    ("class-set-line-break", "class C { set\nm(v) { t(9) } }\nreturn t(1)"),
]


@pytest.mark.parametrize("code", [c[1] for c in STANDARD_DEFENSIVE], ids=[c[0] for c in STANDARD_DEFENSIVE])
def test_standard_rejects_the_ambiguous_neighbours(code: str) -> None:
    assert not prepare(code, STANDARD_POLICY).valid


def test_invisible_characters_after_a_regex_holding_a_backtick_are_seen() -> None:
    code = "let x = 1; /`/.test('a')\nx\n\u00a0`${t(9)}`; return 2"
    assert "invisible-character" in {issue.rule for issue in prepare(code, STANDARD_POLICY).issues}
