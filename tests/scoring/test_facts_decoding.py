"""The scorer reads literals exactly as the guard does: one decoder, one constant folder."""

from __future__ import annotations

import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from enclave_vm.guard.parse import parse_script
from enclave_vm.guard.statics import static_number, static_string
from enclave_vm.scoring.facts import _Collector, collect
from engine_eval import value_of


def _value_node(code: str) -> tuple[_Collector, object]:
    parsed = parse_script(f"const v = {code}")
    declarator = next(node for node in parsed.nodes if node.type == "variable_declarator")
    return _Collector(parsed), declarator.child_by_field_name("value")


@pytest.mark.parametrize(
    ("literal", "value"),
    [
        ("'\\150ttp'", "http"),
        ("'\\x68ttp'", "http"),
        ("'\\u{68}ttp'", "http"),
        ("'h\\\nttp'", "http"),
        ("`\\x68t${'t'}p`", "http"),
        ("'ht' + `tp`", "http"),
    ],
)
def test_strings_are_decoded_like_the_guard(literal: str, value: str) -> None:
    col, node = _value_node(literal)
    assert col.fold_string(node) == value  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("literal", "value"),
    [("010", 8.0), ("08", 8.0), ("0o10", 8.0), ("1_000", 1000.0), ("2 ** 10", 1024.0), ("7 % 4", 3.0)],
)
def test_numbers_are_folded_like_the_guard(literal: str, value: float) -> None:
    col, node = _value_node(literal)
    assert col.fold_number(node) == value  # type: ignore[arg-type]


def test_a_bigint_has_no_number_value() -> None:
    col, node = _value_node("1000000000n")
    assert col.fold_number(node) is None  # type: ignore[arg-type]


def test_an_octal_escaped_url_tool_name_is_external() -> None:
    facts = collect(parse_script("await callTool('\\150ttp:post', { body: 1 })"))
    assert facts.calls[0].name == "http:post" and facts.calls[0].external


def test_a_legacy_octal_limit_is_its_octal_value() -> None:
    assert collect(parse_script("await callTool('users:list', { limit: 010 })")).max_limit == 8.0


def test_escaped_names_and_keys_are_decoded() -> None:
    code = "const n = 2e6; await \\u0063allTool('users:list', { '\\x6cimit': n })"
    facts = collect(parse_script(code))
    assert facts.max_limit == 2e6 and facts.calls[0].name == "users:list"


def test_consts_are_followed_through_concatenation() -> None:
    code = "const a = 'ht', b = a + 'tp://x'; await callTool('web:fetch', { url2: b })"
    facts = collect(parse_script(code))
    assert facts.calls[0].external


# ---- the property: every string and number literal, both views, and the engine where it compiles

_ESCAPES = st.sampled_from(
    [
        "\\n", "\\t", "\\0", "\\b", "\\v", "\\'", '\\"', "\\\\", "\\q", "\\\n", "\\\r\n", "\\\u2028",
        "\\x41", "\\x7e", "\\u0041", "\\u00e9", "\\u{1F600}", "\\u{0000041}", "\\101", "\\7", "\\18", "\\377",
        "\\400", "\\8", "\\9",
    ]
)  # fmt: skip
_CHARS = st.characters(codec="utf-8", exclude_characters="'\\\n\r\x00")
_STRING = st.lists(st.one_of(_ESCAPES, _CHARS), max_size=8).map(lambda parts: "'" + "".join(parts) + "'")
_DIGITS = st.text("0123456789", min_size=1, max_size=6)
_NUMBER = st.one_of(
    _DIGITS,
    _DIGITS.map(lambda d: "0" + d),
    st.tuples(_DIGITS, _DIGITS).map(lambda p: f"{p[0]}_{p[1]}"),
    st.tuples(_DIGITS, _DIGITS).map(lambda p: f"{p[0]}.{p[1]}e{len(p[1])}"),
    st.text("0123456789abcdefABCDEF", min_size=1, max_size=6).map(lambda d: "0x" + d),
    st.text("01234567", min_size=1, max_size=6).map(lambda d: "0o" + d),
    st.text("01", min_size=1, max_size=8).map(lambda d: "0b" + d),
    _DIGITS.map(lambda d: d + "n"),
    _DIGITS.map(lambda d: "." + d),
)


def _engine_value(literal: str) -> object:
    """The literal's value in QuickJS (sloppy mode, where legacy octal is allowed), or a sentinel."""
    text = value_of(f"[{literal}].map((v) => typeof v === 'bigint' ? null : v)")
    return SyntaxError if text is None else json.loads(text)[0]


@settings(derandomize=True, database=None, max_examples=300, deadline=None)
@given(_STRING)
def test_the_scorer_reads_every_string_literal_as_the_guard(literal: str) -> None:
    col, node = _value_node(literal)
    guard = static_string(node)  # type: ignore[arg-type]
    assert col.fold_string(node) == guard  # type: ignore[arg-type]
    engine = _engine_value(literal)
    if engine is not SyntaxError and guard is not None:
        assert guard == engine


@settings(derandomize=True, database=None, max_examples=300, deadline=None)
@given(_NUMBER)
def test_the_scorer_reads_every_number_literal_as_the_guard(literal: str) -> None:
    col, node = _value_node(literal)
    guard = static_number(node)  # type: ignore[arg-type]
    assert col.fold_number(node) == guard  # type: ignore[arg-type]
    engine = _engine_value(literal)
    if engine is not SyntaxError:
        assert guard == engine or (
            guard is not None and engine is not None and abs(guard - engine) <= abs(engine) * 1e-15
        )
