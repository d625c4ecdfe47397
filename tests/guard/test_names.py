from __future__ import annotations

import math

import pytest

from enclave_vm.guard.names import (
    decode_identifier,
    decode_string_body,
    decode_string_literal,
    number_literal_value,
)


@pytest.mark.parametrize(
    ("raw", "name"),
    [
        ("constructor", "constructor"),
        ("\\u0063onstructor", "constructor"),
        ("\\u{63}onstructor", "constructor"),
        ("\\u{0000063}onstructor", "constructor"),
        ("\\u0065\\u0076\\u0061\\u006c", "eval"),
        ("caf\\u00e9", "café"),
        ("\\u{110000}x", "\ufffdx"),
    ],
)
def test_identifier_escapes_are_decoded(raw: str, name: str) -> None:
    assert decode_identifier(raw) == name


@pytest.mark.parametrize(
    ("raw", "value"),
    [
        ("'constructor'", "constructor"),
        ("'\\x63onstructor'", "constructor"),
        ("'\\143onstructor'", "constructor"),
        ('"\\u0063onstructor"', "constructor"),
        ("'\\u{63}onstructor'", "constructor"),
        ("'con\\\nstructor'", "constructor"),
        ("'\\q\\n\\t\\'x'", "q\n\t'x"),
        ("'a\\0b'", "a\x00b"),
        ("'\\8\\9'", "89"),
        ("'\\400'", " 0"),
        ("'\\777'", "?7"),
        ("''", ""),
    ],
)
def test_string_escapes_are_decoded(raw: str, value: str) -> None:
    assert decode_string_literal(raw) == value


def test_template_body_decoding_matches_strings() -> None:
    assert decode_string_body("\\x70rototype") == "prototype"
    assert decode_string_body("plain") == "plain"


@pytest.mark.parametrize(
    ("raw", "value"),
    [
        ("10", 10.0),
        ("1e7", 1e7),
        ("1_000_000", 1e6),
        ("0x10", 16.0),
        ("0o17", 15.0),
        ("0b101", 5.0),
        ("017", 15.0),
        ("019", 19.0),
        ("1.5", 1.5),
        (".5", 0.5),
        ("10n", None),
        ("1e400", math.inf),
    ],
)
def test_number_literals(raw: str, value: float | None) -> None:
    assert number_literal_value(raw) == value
