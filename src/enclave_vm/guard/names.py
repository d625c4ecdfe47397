"""Decoding of JavaScript escapes in identifiers and literals.

tree-sitter keeps source text raw, but JavaScript compares names after escapes are applied:
`\\u0063onstructor`, `'\\x63onstructor'` and `'\\143onstructor'` all mean `constructor`. Every rule
compares decoded text, so an escape can never hide a forbidden name.
"""

from __future__ import annotations

import math
import re

_IDENTIFIER_ESCAPE = re.compile(r"\\u(?:\{([0-9A-Fa-f]+)\}|([0-9A-Fa-f]{4}))")

_STRING_ESCAPE = re.compile(
    r"""\\(?:
        x([0-9A-Fa-f]{2})
      | u\{([0-9A-Fa-f]+)\}
      | u([0-9A-Fa-f]{4})
      | ([0-3][0-7]{0,2}|[4-7][0-7]?)
      | (\r\n|[\n\r\u2028\u2029])
      | ([\s\S])
    )""",
    re.VERBOSE,
)

_SINGLE_ESCAPES = {"n": "\n", "t": "\t", "r": "\r", "b": "\b", "f": "\f", "v": "\v"}


def _code_point(digits: str) -> str:
    significant = digits.lstrip("0")  # `\u{0000000065}` is a valid spelling of `e`
    value = int(significant or "0", 16) if len(significant) <= 6 else 0x110000
    # An out-of-range escape is a syntax error the parser reports; it can never spell a name.
    return chr(value) if value <= 0x10FFFF else "\ufffd"


def _identifier_escape(match: re.Match[str]) -> str:
    return _code_point(match.group(1) or match.group(2))


def decode_identifier(raw: str) -> str:
    """The name an identifier's source text denotes (`\\u0065val` → `eval`)."""
    if "\\" not in raw:
        return raw
    return _IDENTIFIER_ESCAPE.sub(_identifier_escape, raw)


def _string_escape(match: re.Match[str]) -> str:
    hex2, braced, hex4, octal, newline, single = match.groups()
    if hex2 is not None:
        return chr(int(hex2, 16))
    if braced is not None:
        return _code_point(braced)
    if hex4 is not None:
        return chr(int(hex4, 16))
    if octal is not None:
        return chr(int(octal, 8))
    if newline is not None:  # a line continuation contributes nothing
        return ""
    return _SINGLE_ESCAPES.get(single, single)


def decode_string_body(body: str) -> str:
    """The value of a string (or template chunk) body, without its quotes."""
    if "\\" not in body:
        return body
    return _STRING_ESCAPE.sub(_string_escape, body)


def decode_string_literal(raw: str) -> str:
    """The value of a quoted string literal's source text (quotes included)."""
    return decode_string_body(raw[1:-1] if len(raw) >= 2 else "")


_NUMBER_CLEAN = str.maketrans("", "", "_")


def number_literal_value(raw: str) -> float | None:
    """The value of a numeric literal's source text, or None when it is not a plain number (BigInt)."""
    text = raw.translate(_NUMBER_CLEAN).lower()
    if text.endswith("n"):
        return None
    try:
        if text.startswith(("0x", "0o", "0b")):
            return float(int(text, 0))
        if len(text) > 1 and text[0] == "0" and text.isdigit():  # legacy octal (or decimal with 8/9)
            return float(int(text, 8)) if set(text) <= set("01234567") else float(text)
        value = float(text)
    except ValueError:
        return None
    return value if not math.isnan(value) else None
