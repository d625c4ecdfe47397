"""Checks on the raw text, before anything parses it.

They bound what the parser and the later passes must handle (size, line length, bracket nesting) and
reject characters that make code read differently from how it runs (NUL, unpaired surrogates,
bidirectional controls, invisible characters). The common case costs a few C-level string scans; the
literal-aware lexer (`lexer.py`) runs only when brackets are numerous or an invisible character is present.
"""

from __future__ import annotations

import re

from ..results import ValidationIssue
from .language import BIDI_CHARACTERS, INVISIBLE_CHARACTERS, UNUSUAL_SPACES, advice
from .lexer import Lexed, bracket_depth
from .policy import GuardPolicy

_FATAL_RULES = frozenset({"max-code-size", "forbidden-character"})


def _char_class(chars: frozenset[str]) -> str:
    """A regex class with consecutive code points merged into ranges (a long list of singles is slow)."""
    points = sorted(map(ord, chars))
    parts: list[str] = []
    start = previous = points[0]
    for point in [*points[1:], -1]:
        if point == previous + 1:
            previous = point
            continue
        first, last = re.escape(chr(start)), re.escape(chr(previous))
        parts.append(first if start == previous else f"{first}-{last}")
        start = previous = point
    return "[" + "".join(parts) + "]"


_BIDI = re.compile(_char_class(BIDI_CHARACTERS))
_INVISIBLE = re.compile(_char_class(INVISIBLE_CHARACTERS | UNUSUAL_SPACES))
_SPECIAL = re.compile(_char_class(BIDI_CHARACTERS | INVISIBLE_CHARACTERS | UNUSUAL_SPACES))
_SURROGATE = re.compile("[\ud800-\udfff]")
_LONE_CR = re.compile(r"\r(?!\n)")


def location_of(code: str, index: int) -> dict[str, int]:
    """1-based line and column (in characters) of a character index."""
    line_start = code.rfind("\n", 0, index) + 1
    return {"line": code.count("\n", 0, index) + 1, "column": index - line_start + 1}


def _issue(rule: str, message: str, code: str, index: int) -> ValidationIssue:
    return ValidationIssue(rule=rule, message=message, location=location_of(code, index))


def _and_more(count: int) -> str:
    return f" (and {count - 1} more)" if count > 1 else ""


def prescan(code: str, policy: GuardPolicy) -> list[ValidationIssue]:
    """Issues found in the raw text. A non-empty result with a fatal issue stops validation here."""
    issues: list[ValidationIssue] = []
    if len(code) * 4 > policy.max_code_bytes:  # only then can the UTF-8 size exceed the limit
        encoded = code.encode("utf-8", "surrogatepass")
        if len(encoded) > policy.max_code_bytes:
            cut = len(encoded[: policy.max_code_bytes].decode("utf-8", "ignore"))
            message = f"Code is {len(encoded)} bytes, over the limit of {policy.max_code_bytes} bytes; " + advice(
                "max-code-size"
            )
            return [_issue("max-code-size", message, code, cut)]
    _check_forbidden_characters(code, issues)
    if len(code) > policy.max_line_length:
        _check_line_length(code, policy, issues)
    lexed: Lexed | None = None
    if code.count("(") + code.count("[") + code.count("{") > policy.max_nesting:
        depth = bracket_depth(code)
        if depth is None or depth > policy.max_nesting:  # locate it (or decide it) with the full lexer
            lexed = Lexed(code, policy.max_nesting)
        if lexed is not None and lexed.too_deep_at is not None:
            message = f"Brackets are nested deeper than {policy.max_nesting} levels; " + advice("max-nesting")
            issues.append(_issue("max-nesting", message, code, lexed.too_deep_at))
    if not code.isascii() and _SPECIAL.search(code) is not None:
        _check_special_characters(code, lexed or Lexed(code, policy.max_nesting), issues)
    return issues


def _check_forbidden_characters(code: str, issues: list[ValidationIssue]) -> None:
    nul = code.find("\x00")
    if nul != -1:
        message = "Code contains a NUL character" + _and_more(code.count("\x00"))
        issues.append(_issue("forbidden-character", f"{message}; {advice('forbidden-character')}", code, nul))
    surrogate = _SURROGATE.search(code)
    if surrogate is not None:
        message = f"Code contains an unpaired surrogate U+{ord(surrogate.group()):04X}"
        issues.append(
            _issue("forbidden-character", f"{message}; {advice('forbidden-character')}", code, surrogate.start())
        )
    if "\r" in code:
        # A line end to the engine (ASI, `-->` at a line start) but a space to the parser: see differential.py.
        lone = _LONE_CR.search(code)
        if lone is not None:
            message = "Code contains a carriage return that is not followed by a line feed"
            issues.append(
                _issue("forbidden-character", f"{message}; {advice('forbidden-character')}", code, lone.start())
            )


def _check_line_length(code: str, policy: GuardPolicy, issues: list[ValidationIssue]) -> None:
    start = 0
    too_long: list[int] = []
    for line in code.split("\n"):
        if len(line) > policy.max_line_length:
            too_long.append(start + policy.max_line_length)
        start += len(line) + 1
    if too_long:
        message = f"Line is longer than {policy.max_line_length} characters{_and_more(len(too_long))}; " + advice(
            "max-line-length"
        )
        issues.append(_issue("max-line-length", message, code, too_long[0]))


def _check_special_characters(code: str, lexed: Lexed, issues: list[ValidationIssue]) -> None:
    bidi = [match.start() for match in _BIDI.finditer(code)]
    if bidi:
        char = code[bidi[0]]
        message = (
            f"Code contains the bidirectional control character U+{ord(char):04X}{_and_more(len(bidi))}; "
            + advice("bidi-character")
        )
        issues.append(_issue("bidi-character", message, code, bidi[0]))
    invisible = [match.start() for match in _INVISIBLE.finditer(code) if not lexed.in_literal(match.start())]
    if invisible:
        char = code[invisible[0]]
        what = "space" if char in UNUSUAL_SPACES else "invisible character"
        message = (
            f"Code contains the {what} U+{ord(char):04X} outside a string or comment"
            f"{_and_more(len(invisible))}; " + advice("invisible-character")
        )
        issues.append(_issue("invisible-character", message, code, invisible[0]))


def is_fatal(issues: list[ValidationIssue]) -> bool:
    """True when the text must not be parsed at all (too large, or holding characters parsers choke on)."""
    return any(issue.rule in _FATAL_RULES for issue in issues)
