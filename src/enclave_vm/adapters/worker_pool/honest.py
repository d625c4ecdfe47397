"""What an honest engine can send, so the host can tell a protocol violation from a script's output.

Every bound here must hold for anything an honest engine produces within the run's limits, however
hostile the script: a worker is killed only when it sends what no honest engine could. A script near a
limit (large console output, a huge `JSON.rawJSON` number, a value nested as deep as the engine's stack
allows) must never cost its worker.

`HonestAnswers` reads one run's answers with these bounds, for every channel whose engine lives outside
this process (a pool worker's pipe, a Ray actor): the transport only moves the frames.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from typing import Any

from ...bridge.protocol import EngineLimits, Settled, Step
from ...bridge.wire import read_fail, read_slice
from ...outcome import RunEnded

#: Bytes of the engine's stack one level of JSON.stringify nesting takes at least (measured ~256).
_STACK_BYTES_PER_LEVEL = 32
_MIN_DEPTH = 1024


def frame_cap(limits: EngineLimits) -> int:
    """The longest answer frame: everything in it was built in the engine's heap (as one JSON text when
    the engine drains its state), and a heap byte takes at most two bytes of UTF-8 (Latin-1 strings)."""
    return 2 * limits.memory_limit + (1 << 20)


def token_cap(limits: EngineLimits) -> int:
    """Bound on an answer's structure outside strings (see framing.check_structure): an honest answer's
    bulk is inside JSON strings (values, tool arguments, console lines); the structure around them grows
    only with the tool calls, console lines and recorded values the limits allow."""
    return 4 * (limits.max_tool_calls + limits.console_calls) + 2 * limits.max_recorded_values + 64


def console_cost(lines: list[str]) -> int:
    """Console bytes as the prelude counts them: each line's UTF-8 bytes plus its newline (a lone
    surrogate, which a JavaScript string may hold, as its three bytes)."""
    return sum(len(line.encode("utf-8", "surrogatepass")) for line in lines) + len(lines)


class ConsoleBudget:
    """What is left of a run's console caps on the host's side."""

    def __init__(self, limits: EngineLimits) -> None:
        self.calls = limits.console_calls
        self.bytes = limits.console_bytes

    def spend(self, lines: list[str]) -> bool:
        """Count `lines`; False when they go past what the engine lets through."""
        self.calls -= len(lines)
        self.bytes -= console_cost(lines)
        return self.calls >= 0 and self.bytes >= 0


class HonestAnswers:
    """One run's answers, checked against what an honest engine can send within the run's limits.

    `violation(message)` is called for anything else: it stops the engine's process and returns the
    `RunEnded` the run ends with. `peer` names that process in the messages ("The worker process")."""

    def __init__(self, limits: EngineLimits, violation: Callable[[str], RunEnded], peer: str) -> None:
        self.max_frame = frame_cap(limits)
        self.max_tokens = token_cap(limits)
        self._max_value_bytes = limits.max_value_bytes
        self._max_stack_bytes = limits.max_stack_bytes
        self._console = ConsoleBudget(limits)
        self._violation = violation
        self._peer = peer

    def step(self, answer: list[Any]) -> Step:
        """The Step an answer message holds; raises `RunEnded` for a `fail` answer and for a violation."""
        if answer[0] == "fail":
            try:
                code, message, name, stdout = read_fail(answer)
            except Exception:
                raise self.broken() from None
            self._check_console(stdout)
            failure = RunEnded(code, message, name)
            failure.stdout = stdout
            raise failure
        try:
            step = read_slice(answer)
        except Exception:  # malformed answer: the engine's process cannot be trusted any more
            raise self.broken() from None
        self._check_console(step.stdout)
        if isinstance(step, Settled) and step.final.ok and step.final.value_json:
            self._check_value(step.final.value_json)
        return step

    def broken(self) -> RunEnded:
        """The answer does not follow the message protocol."""
        return self._violation(f"{self._peer} broke the message protocol and was stopped")

    def _check_value(self, value_json: str) -> None:
        """The engine returns JSON text within max_value_bytes (depth is not capped: the in-process engine
        returns deep values as they are)."""
        honest = len(value_json) <= self._max_value_bytes
        honest = honest and len(value_json.encode("utf-8", "surrogatepass")) <= self._max_value_bytes
        if not (honest and is_json_value(value_json, self._max_stack_bytes)):
            raise self._violation(
                f"{self._peer} returned a value that is not JSON data within the limits and was stopped"
            )

    def _check_console(self, lines: list[Any]) -> None:
        """The engine caps console output itself; an engine that sends more is not honest."""
        if lines and not self._console.spend(lines):
            raise self._violation(f"{self._peer} sent more console output than the limits allow and was stopped")


def _refuse_constant(name: str) -> object:
    raise ValueError(f"{name} is not JSON")


def _keep(text: str) -> str:
    return text


def is_json_value(text: str, max_stack_bytes: int) -> bool:
    """Whether `text` is one JSON value an engine's JSON.stringify could produce. Numbers are checked as
    text only (a `JSON.rawJSON` number may have more digits than Python converts), and nesting deeper than
    Python's parser goes is checked without recursion, up to what the engine's stack allows."""
    try:
        json.loads(text, parse_int=_keep, parse_float=_keep, parse_constant=_refuse_constant)
    except RecursionError:
        return _is_deep_json(text, max(_MIN_DEPTH, max_stack_bytes // _STACK_BYTES_PER_LEVEL))
    except ValueError:
        return False
    return True


_TOKEN = re.compile(
    r"""
    (?P<value>
        "(?:[^"\\\x00-\x1f]|\\["\\/bfnrt]|\\u[0-9a-fA-F]{4})*"
      | -?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?
      | true | false | null
    )
    | (?P<open>[\[{])
    | (?P<close>[\]}])
    | (?P<comma>,)
    | (?P<colon>:)
    | (?P<space>[ \t\n\r]+)
    """,
    re.VERBOSE,
)
_CLOSER = {"[": "]", "{": "}"}


def _is_deep_json(text: str, max_depth: int) -> bool:
    """A JSON syntax check with an explicit stack: one pass over the tokens, refusing past `max_depth`."""
    stack: list[str] = []
    # What may come next: "value" (a value, or a close right after an open), "key" (an object key or a
    # close right after "{"), "colon", "after" (a comma or a close), "end".
    expect = "value"
    just_opened = False
    position = 0
    end = len(text)
    match = _TOKEN.match
    while position < end:
        token = match(text, position)
        if token is None:
            return False
        position = token.end()
        kind = token.lastgroup
        if kind == "space":
            continue
        piece = token.group()
        if kind == "close":
            if not stack or _CLOSER[stack[-1]] != piece:
                return False
            if expect != "after" and not (just_opened and expect in ("value", "key")):
                return False
            stack.pop()
            expect = "after" if stack else "end"
            just_opened = False
            continue
        just_opened = False
        if expect == "key":
            if kind != "value" or not piece.startswith('"'):
                return False
            expect = "colon"
        elif expect == "colon":
            if kind != "colon":
                return False
            expect = "value"
        elif expect == "value":
            if kind == "open":
                if len(stack) >= max_depth:
                    return False
                stack.append(piece)
                expect = "key" if piece == "{" else "value"
                just_opened = True
            elif kind == "value":
                expect = "after" if stack else "end"
            else:
                return False
        elif expect == "after":
            if kind != "comma":
                return False
            expect = "key" if stack[-1] == "{" else "value"
        else:  # "end": nothing may follow the value
            return False
    return expect == "end"
