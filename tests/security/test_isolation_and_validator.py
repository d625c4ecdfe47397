"""Cross-run isolation and validator bypass attempts (escapes, unicode, comments, template tricks)."""

from __future__ import annotations

import pytest
from attack_helpers import RE, VE, Expect, attack, fails, returns

from enclave_vm import Enclave

ISOLATION_PAIRS: list[tuple[str, str, str, Expect]] = [
    ("global-var", "globalThis.leak = 'a'; return 1", "return typeof globalThis.leak", returns("undefined", VE)),
    (
        "object-proto-try",
        "try { Object.prototype.leak = 1 } catch (e) {} return 1",
        "return ({}).leak",
        returns(None, VE),
    ),
    ("date-proto", "Date.prototype.leak = 1; return 1", "return new Date(0).leak", returns(None, VE)),
    ("console-lines", "console.log('first-run-line'); return 1", "return 2", returns(2)),
    (
        "sticky-limit",
        "for (let i = 0; i < 1e6; i++) {}",
        "return await callTool('echo', { ok: 1 })",
        returns({"ok": 1}),
    ),
    (
        "tool-count",
        "for (let i = 0; i < 20; i++) await callTool('echo', {}); return 1",
        "return await callTool('echo', { fresh: 1 })",
        returns({"fresh": 1}),
    ),
    ("ml-then-fresh", "let s = 'x'; for (let i = 0; i < 40; i++) s += s", "return 'fresh'", returns("fresh")),
]


@pytest.mark.parametrize(
    ("first", "second", "expect"), [c[1:] for c in ISOLATION_PAIRS], ids=[c[0] for c in ISOLATION_PAIRS]
)
async def test_cross_run_isolation(std: Enclave, first: str, second: str, expect: Expect) -> None:
    await std.run(first)
    result = await attack(std, second, expect)
    assert "first-run-line" not in result.stdout


BYPASSES: list[tuple[str, str, Expect]] = [
    ("unicode-escape-eval", "return \\u0065val('1')", fails(VE)),
    ("unicode-brace-escape-eval", "return \\u{65}val('1')", fails(VE)),
    ("unicode-escape-Function", "return \\u0046unction('return 1')()", fails(VE)),
    ("comment-split", "return ev/**/al('1')", fails(VE, RE)),
    ("line-comment-hide", "// eval('1')\nreturn 1", returns(1)),
    ("html-comment", "<!-- x\nreturn 1", fails(VE, RE)),
    ("template-ctor", "return ({})[`constructor`][`constructor`]`return 1`()", fails(VE, RE)),
    ("tagged-template-raw", "return String.raw`\\u0065val`", returns("\\u0065val", VE)),
    ("template-in-name", "const k = `constr${'uctor'}`; return ({})[k][k]('return 1')()", fails(VE, RE)),
    ("nul-char", "return 1\x00", fails(VE)),
    ("bidi-override", "return 1 // \u202e", fails(VE)),
    ("zero-width-ident", "const a\u200b = 1; return 1", fails(VE)),
    ("homoglyph-eval", "return \u0435val('1')", fails(VE, RE)),
    ("fullwidth-paren", "return eval\uff08'1')", fails(VE)),
    ("line-separator", "const a = 1\u2028return a", returns(1, VE)),
    ("hashbang", "#!/bin/sh\nreturn 1", fails(VE, RE)),
    ("unterminated-string", "return 'abc", fails(VE)),
    ("unbalanced-brace", "}}); return (async () => { return 1", fails(VE)),
    ("wrapper-escape-finally", "}finally{}})(); (async () => { return 1", fails(VE)),
    ("wrapper-escape-comment", "return 1 /*", fails(VE)),
    ("wrapper-escape-template", "return `", fails(VE)),
    ("regex-looks-like-comment", "return '/*'.length + '*/'.length", returns(4)),
    ("label-with", "a: with ({}) {}", fails(VE)),
    ("import-call", "return import('data:text/javascript,1')", fails(VE, RE)),
    ("optional-chain-ctor", "return ({})?.constructor?.constructor?.('return 1')?.()", fails(VE, RE)),
    ("bracket-string-concat-proto", "return ({})['__pro' + 'to__']", returns({}, VE)),
    ("reserved-prefix", "const __ag_c = 1e9; return 1", fails(VE)),
    ("huge-code", "return 1;" + " " * 200_000, fails(VE)),
    ("deep-nesting", "return " + "[" * 5000 + "]" * 5000, fails(VE, RE)),
    ("octal-escape", "return '\\101'", fails(VE, RE)),
]


@pytest.mark.parametrize(("code", "expect"), [c[1:] for c in BYPASSES], ids=[c[0] for c in BYPASSES])
async def test_validator_bypass(std: Enclave, code: str, expect: Expect) -> None:
    await attack(std, code, expect)
