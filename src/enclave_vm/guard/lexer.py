"""A small literal-aware scanner of raw JavaScript text, for checks that run before parsing.

It knows strings, comments and template literals (with nested substitutions) well enough to count
bracket nesting outside them and to tell whether a character sits inside one. Regex literals are not
recognised (the rules reject them anyway); at worst one of them shifts a count on its own line.
"""

from __future__ import annotations

import bisect
import re
from itertools import accumulate

# Unrolled loops (`[^x]*(?:\\.[^x]*)*`): Python's re is slow on per-character alternation.
_SINGLE_QUOTED = re.compile(r"'[^'\\\n\r]*(?:\\[\s\S][^'\\\n\r]*)*'?")
_DOUBLE_QUOTED = re.compile(r'"[^"\\\n\r]*(?:\\[\s\S][^"\\\n\r]*)*"?')
_LINE_COMMENT = re.compile(r"//[^\n\r\u2028\u2029]*")
_TEMPLATE_CHUNK = re.compile(r"[^`\\$]*(?:(?:\\[\s\S]|\$(?!\{))[^`\\$]*)*(?:`|\$\{)?")
_CODE_STOP = re.compile(r"[/'\"`]")
_SUBSTITUTION_STOP = re.compile(r"[/'\"`{}]")
_TOKEN_STOP = re.compile(r"[/'\"`()\[\]{}]")
_NOT_BRACKETS = bytes(set(range(256)) - set(b"()[]{}"))
_DELTA = [0] * 256
for _char in b"([{":
    _DELTA[_char] = 1
for _char in b")]}":
    _DELTA[_char] = -1


def _literal_end(code: str, start: int) -> int | None:
    """End of the string or comment starting at `start`, or None when `start` begins neither."""
    first = code[start]
    if first == "'":
        match = _SINGLE_QUOTED.match(code, start)
    elif first == '"':
        match = _DOUBLE_QUOTED.match(code, start)
    else:
        second = code[start + 1 : start + 2]
        if second == "*":
            end = code.find("*/", start + 2)
            return len(code) if end == -1 else end + 2
        if second != "/":
            return None  # a division (or a regex literal)
        match = _LINE_COMMENT.match(code, start)
    return match.end() if match is not None else len(code)


def _template_chunk_end(code: str, pos: int) -> tuple[int, bool]:
    """(end of the template text starting at `pos`, whether it ends by opening a substitution)."""
    match = _TEMPLATE_CHUNK.match(code, pos)
    end = match.end() if match is not None else len(code)
    return end, code.endswith("${", pos, end)


def bracket_depth(code: str) -> int | None:
    """The deepest bracket nesting outside literals, or None when closers outnumber openers somewhere.

    Only literals are visited in Python; the brackets of the code between them are counted in C.
    A template substitution counts as one level (its `{` and `}` stay in the code), as in `Lexed`.
    """
    pieces: list[str] = []
    run_start = 0  # where the current run of code began
    open_braces: list[int] = []  # per open `${`: the `{` opened inside it and not yet closed
    pos = 0
    while True:
        match = (_SUBSTITUTION_STOP if open_braces else _CODE_STOP).search(code, pos)
        if match is None:
            break
        start, pos = match.span()
        token = match.group()
        if token == "{":
            open_braces[-1] += 1
            continue
        if token == "}":
            if open_braces[-1]:
                open_braces[-1] -= 1
                continue
            open_braces.pop()  # the substitution ends: template text resumes after the `}`
            pieces.append(code[run_start:pos])
        elif token == "`":
            pieces.append(code[run_start:start])
        else:
            end = _literal_end(code, start)
            if end is not None:
                pieces.append(code[run_start:start])
                run_start = pos = end
            continue
        pos, opened = _template_chunk_end(code, pos)
        run_start = pos
        if opened:
            open_braces.append(0)
            run_start = pos - 1  # keep the `{` of `${` in the code
    pieces.append(code[run_start:])
    brackets = "".join(pieces).encode("utf-8", "surrogatepass").translate(None, _NOT_BRACKETS)
    if not brackets:
        return 0
    depths = list(accumulate(map(_DELTA.__getitem__, brackets)))
    return None if min(depths) < 0 else max(depths)


class Lexed:
    """Where literal text (strings, comments, template text) lies, and where nesting first got too deep."""

    def __init__(self, code: str, max_nesting: int) -> None:
        self.literal_starts: list[int] = []
        self.literal_ends: list[int] = []
        self.too_deep_at: int | None = None
        self._scan(code, max_nesting)

    def _literal(self, start: int, end: int) -> None:
        self.literal_starts.append(start)
        self.literal_ends.append(end)

    def _open(self, stack: list[str], kind: str, at: int, max_nesting: int) -> None:
        stack.append(kind)
        if len(stack) > max_nesting and self.too_deep_at is None:
            self.too_deep_at = at

    def _scan(self, code: str, max_nesting: int) -> None:
        stack: list[str] = []  # open brackets; "$" for an open template substitution
        search = _TOKEN_STOP.search
        pos = 0
        while True:
            match = search(code, pos)
            if match is None:
                return
            start, pos = match.span()
            token = match.group()
            if token in "([{":
                self._open(stack, token, start, max_nesting)
                continue
            if token in ")]":
                if stack and stack[-1] != "$":
                    stack.pop()
                continue
            if token == "}":
                if not stack or stack.pop() != "$":
                    continue
            elif token != "`":
                end = _literal_end(code, start)
                if end is not None:
                    self._literal(start, end)
                    pos = end
                continue
            # template text, after "`" or after the "}" that closed a substitution
            end, opened = _template_chunk_end(code, pos)
            self._literal(pos, end)
            if opened:
                self._open(stack, "$", end - 2, max_nesting)
            pos = end

    def in_literal(self, index: int) -> bool:
        slot = bisect.bisect_right(self.literal_starts, index) - 1
        return slot >= 0 and index < self.literal_ends[slot]
