"""The raw-text checks that run before parsing, and the small lexer behind them."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from enclave_vm.config import SecurityLevel
from enclave_vm.guard import policy_for, validate_code
from enclave_vm.guard.lexer import Lexed, bracket_depth
from enclave_vm.guard.prescan import is_fatal, prescan

POLICY = policy_for(SecurityLevel.STANDARD)


def found(code: str) -> dict[str, dict[str, int] | None]:
    return {issue.rule: issue.location for issue in prescan(code, POLICY)}


def test_clean_code_has_no_issues() -> None:
    assert prescan("const a = [1, (2), {b: 3}];\nreturn a;", POLICY) == []


def test_code_size_limit_is_fatal_and_points_where_it_is_crossed() -> None:
    code = "x;\n" * 40_000
    issues = prescan(code, POLICY)
    assert [issue.rule for issue in issues] == ["max-code-size"]
    assert is_fatal(issues)
    assert issues[0].location == {"line": 102_400 // 3 + 1, "column": 102_400 % 3 + 1}
    assert validate_code(code, POLICY) == issues  # nothing parses


def test_code_size_counts_utf8_bytes() -> None:
    code = "// " + "é" * 51_200  # 102_403 bytes, 51_203 characters
    assert "max-code-size" in found(code)
    assert "max-code-size" not in found("// " + "é" * 51_000)


def test_nul_is_fatal() -> None:
    issues = prescan("const a = 1;\nconst b\x00 = 2;", POLICY)
    assert issues[0].rule == "forbidden-character"
    assert issues[0].location == {"line": 2, "column": 8}
    assert is_fatal(issues)


def test_unpaired_surrogate_is_fatal() -> None:
    issues = prescan("const a = '\ud800';", POLICY)
    assert [issue.rule for issue in issues] == ["forbidden-character"]
    assert is_fatal(issues)


def test_long_lines() -> None:
    code = "const a = 1;\n" + "x" * 10_001 + "\n" + "y" * 10_500
    issues = [issue for issue in prescan(code, POLICY) if issue.rule == "max-line-length"]
    assert len(issues) == 1
    assert issues[0].location == {"line": 2, "column": 10_001}
    assert "and 1 more" in issues[0].message
    assert not is_fatal(issues)
    assert "max-line-length" not in found("x" * 10_000)


@pytest.mark.parametrize(
    ("code", "location"),
    [
        ("(" * 51 + ")" * 51, {"line": 1, "column": 51}),
        ("[" * 30 + "{" * 30 + "}" * 30 + "]" * 30, {"line": 1, "column": 51}),
        ("x\n" + "(" * 60 + ")" * 60, {"line": 2, "column": 51}),
        ("`${" * 51 + "1" + "}`" * 51, {"line": 1, "column": 152}),
    ],
)
def test_deep_nesting(code: str, location: dict[str, int]) -> None:
    assert found(code).get("max-nesting") == location


@pytest.mark.parametrize(
    "code",
    [
        "(" * 50 + ")" * 50,
        "'" + "(" * 100 + "'",
        '"' + "[" * 100 + '"',
        "// " + "{" * 100,
        "/* " + "(" * 100 + " */",
        "`" + "(" * 100 + "`",
        "`${ '((((' }`" + "(" * 45 + ")" * 45,
        "(" * 40 + "')))))))))))'" + ")" * 40,
    ],
)
def test_brackets_in_literals_do_not_count(code: str) -> None:
    assert "max-nesting" not in found(code)


def test_closers_in_strings_cannot_hide_deep_nesting() -> None:
    code = "')))))))))))))))))))))))))'" + "(" * 51 + ")" * 51
    assert "max-nesting" in found(code)


@pytest.mark.parametrize(
    "char", ["\u202a", "\u202b", "\u202c", "\u202d", "\u202e", "\u2066", "\u2069", "\u200e", "\u200f", "\u061c"]
)
@pytest.mark.parametrize("where", ["code", "string", "comment"])
def test_bidi_controls_are_rejected_anywhere(char: str, where: str) -> None:
    code = {"code": f"const a{char} = 1;", "string": f"const a = '{char}';", "comment": f"// {char}\nreturn 1;"}[where]
    assert "bidi-character" in found(code)


def test_trojan_source_is_reported_with_its_position() -> None:
    code = "const isAdmin = false;\n/*\u202e } \u2066if (isAdmin)\u2069 \u2066 begin admins only */"
    issues = [issue for issue in prescan(code, POLICY) if issue.rule == "bidi-character"]
    assert issues[0].location == {"line": 2, "column": 3}
    assert "and 3 more" in issues[0].message


@pytest.mark.parametrize("char", ["\u200b", "\u200c", "\u200d", "\u2060", "\ufeff", "\u00ad", "\u180e", "\u3164"])
def test_invisible_characters_outside_literals(char: str) -> None:
    assert found(f"const a = 1;{char}\nreturn a;").get("invisible-character") == {"line": 1, "column": 13}
    assert "invisible-character" not in found(f"const a = 'x{char}y'; // {char}\nreturn `{char}`;")


def test_invisible_character_inside_an_identifier() -> None:
    assert "invisible-character" in found("const con\u200bsole = 1;")


def test_non_latin_text_in_strings_and_comments_is_fine() -> None:
    assert prescan("// Привет 😀\nreturn 'こんにちは — ü';", POLICY) == []


def test_limits_come_from_the_policy() -> None:
    from dataclasses import replace

    small = replace(POLICY, max_code_bytes=10, max_line_length=5, max_nesting=2)
    assert "max-nesting" in {i.rule for i in prescan("(((1)))", small)}
    assert [i.rule for i in prescan("x" * 11, small)] == ["max-code-size"]


# --------------------------------------------------------------------------- the lexer


def _exact_depth(code: str) -> int:
    depth = 0
    while Lexed(code, depth).too_deep_at is not None:
        depth += 1
    return depth


@pytest.mark.parametrize(
    ("code", "depth"),
    [
        ("", 0),
        ("a / (b) // (((", 1),
        ("(/* ((( */ 1)", 1),
        ("((`a${ [{b}] }c`))", 5),
        ("`${`${(1)}`}`", 3),
        ("`${ {a: '}'} }` (", 2),
        ("'it\\'s (' + (1)", 1),
        ("`a\\${(`", 0),
    ],
)
def test_bracket_depth(code: str, depth: int) -> None:
    assert bracket_depth(code) == depth
    assert _exact_depth(code) == depth


def test_unbalanced_closers_fall_back_to_the_exact_lexer() -> None:
    assert bracket_depth(")(") is None


_PIECES = st.sampled_from(
    ["(", ")", "[", "]", "{", "}", "x", " ", "'a(b'", '"]"', "`t(`", "`${", "}`", "// (\n", "/* ) */", "/"]
)


@settings(max_examples=300, deadline=None)
@given(st.lists(_PIECES, max_size=40).map("".join))
def test_fast_depth_agrees_with_the_exact_lexer(code: str) -> None:
    depth = bracket_depth(code)
    if depth is not None and "`" not in code:
        assert depth == _exact_depth(code)
