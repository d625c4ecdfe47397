"""The run protocol as JSON messages, for an engine that lives in another process.

host → worker: `["start", run, program, globals_json, limits, deadline]`, `["settle", run, results]`,
`["close", run]` (no answer). worker → host: `["ready", pid]` once, then exactly one answer per start or
settle, in order: `["slice", run, calls, stdout, iterations, terminal_code, terminal_message, final,
memory]` or `["fail", run, code, message, name, stdout]` (the console lines printed before the engine
stopped).

The worker side trusts the host. The host side treats every answer as untrusted: each field is
type-checked and anything malformed is a `WireError`, never a half-built value.
"""

from __future__ import annotations

from typing import Any

from ..outcome import SCRIPT_CODES, TERMINAL_CODES
from .protocol import EngineLimits, FinalRecord, StartRequest, Step, ToolCall, ToolResult, make_step, step_fields

#: Codes an engine may end a run with; anything else from a worker is reported as RUNTIME_ERROR.
ENGINE_CODES = frozenset(
    {
        "TIMEOUT",
        "MAX_TOOL_CALLS",
        "MAX_ITERATIONS",
        "MEMORY_LIMIT_EXCEEDED",
        "RUNTIME_ERROR",
        "TOOL_ERROR",
        "VALIDATION_ERROR",
    }
)


CONSOLE_LEVELS = frozenset({"log", "info", "warn", "error", "debug"})


class WireError(ValueError):
    """A message that does not follow the protocol."""


# ---- host → worker ----


def start_message(run: int, request: StartRequest) -> list[Any]:
    extras = {
        "state_json": request.state_json,
        "record_entropy": request.record_entropy,
        "entropy": request.entropy,
        "tool_names": request.tool_names,
    }
    return ["start", run, request.program, request.globals_json, request.limits.to_dict(), request.deadline, extras]


def settle_message(run: int, results: list[ToolResult]) -> list[Any]:
    return ["settle", run, [[r.id, 1 if r.ok else 0, r.payload] for r in results]]


def close_message(run: int) -> list[Any]:
    return ["close", run]


def read_start(message: list[Any]) -> StartRequest:
    _, _, program, globals_json, limits, deadline, extras = message
    return StartRequest(
        program=program,
        globals_json=globals_json,
        limits=EngineLimits(**limits),
        deadline=deadline,
        state_json=extras["state_json"],
        record_entropy=bool(extras["record_entropy"]),
        entropy=tuple(float(v) for v in extras["entropy"]),
        tool_names=None if extras.get("tool_names") is None else tuple(str(v) for v in extras["tool_names"]),
    )


def read_results(message: list[Any]) -> list[ToolResult]:
    return [ToolResult(int(i), bool(ok), str(payload)) for i, ok, payload in message[2]]


# ---- worker → host ----


def slice_message(run: int, step: Step) -> list[Any]:
    calls, terminal_code, terminal_message, final = step_fields(step)
    record = None
    if final is not None:
        record = [final.ok, final.value_json, final.code, final.name, final.message, final.stack, final.state_json]
    return [
        "slice",
        run,
        [[c.id, c.name, c.args_json] for c in calls],
        step.stdout,
        step.iterations,
        terminal_code,
        terminal_message,
        record,
        step.memory_usage,
        step.levels,
        step.entropy,
        step.entropy_overflow,
    ]


def fail_message(run: int, code: str, message: str, name: str = "", stdout: list[str] | None = None) -> list[Any]:
    return ["fail", run, code, message, name, stdout or []]


def _int(value: object, what: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise WireError(f"{what} must be a non-negative int")
    return value


def _is_number(value: object) -> bool:
    return isinstance(value, float | int) and not isinstance(value, bool)


def _str(value: object, what: str) -> str:
    if not isinstance(value, str):
        raise WireError(f"{what} must be a string")
    return value


def _code(
    value: object,
    what: str,
    *,
    allow_empty: bool = False,
    allowed: frozenset[str] = ENGINE_CODES,
) -> str:
    code = _str(value, what)
    if code in allowed or (allow_empty and code == ""):
        return code
    return "RUNTIME_ERROR"


def answer_run(message: object) -> int:
    """The run an answer belongs to (checked before the rest of it)."""
    if not isinstance(message, list) or len(message) < 2 or message[0] not in ("slice", "fail"):
        raise WireError("not an answer message")
    return _int(message[1], "run id")


def read_slice(message: list[Any]) -> Step:
    """A worker's `slice` answer as a Step; every field checked."""
    if len(message) != 12:
        raise WireError("a slice has 12 fields")
    _, _, calls, stdout, iterations, terminal_code, terminal_message, final, memory, levels, entropy, overflow = message
    if not isinstance(overflow, bool):
        raise WireError("the entropy overflow flag must be a bool")
    if not isinstance(calls, list) or not isinstance(stdout, list):
        raise WireError("tool calls and stdout must be lists")
    if not isinstance(levels, list) or len(levels) != len(stdout) or not all(lv in CONSOLE_LEVELS for lv in levels):
        raise WireError("console levels must be one known level per stdout line")
    if not isinstance(entropy, list) or not all(_is_number(v) for v in entropy):
        raise WireError("entropy must be a list of numbers")
    tool_calls = []
    for call in calls:
        if not isinstance(call, list) or len(call) != 3:
            raise WireError("a tool call is [id, name, args]")
        tool_calls.append(ToolCall(_int(call[0], "tool call id"), _str(call[1], "tool name"), _str(call[2], "args")))
    for line in stdout:
        _str(line, "a stdout line")
    record = None
    if final is not None:
        if not isinstance(final, list) or len(final) != 7 or not isinstance(final[0], bool):
            raise WireError("a final record is [ok, value, code, name, message, stack, state]")
        ok, value_json, code, name, text, stack, state_json = final
        record = FinalRecord(
            ok=ok,
            value_json=_str(value_json, "value"),
            code=_code(code, "code", allow_empty=ok, allowed=SCRIPT_CODES),
            name=_str(name, "name"),
            message=_str(text, "message"),
            stack=_str(stack, "stack"),
            state_json=_str(state_json, "state"),
        )
    return make_step(
        calls=tool_calls,
        stdout=stdout,
        iterations=_int(iterations, "iterations"),
        terminal_code=_code(terminal_code, "terminal code", allow_empty=True, allowed=TERMINAL_CODES),
        terminal_message=_str(terminal_message, "terminal message"),
        final=record,
        memory_usage=None if memory is None else _int(memory, "memory usage"),
        levels=levels,
        entropy=[float(v) for v in entropy],
        entropy_overflow=overflow,
    )


def read_fail(message: list[Any]) -> tuple[str, str, str, list[str]]:
    """A worker's `fail` answer as (code, message, name, stdout)."""
    if len(message) != 6:
        raise WireError("a failure has 6 fields")
    stdout = message[5]
    if not isinstance(stdout, list):
        raise WireError("stdout must be a list")
    for line in stdout:
        _str(line, "a stdout line")
    return _code(message[2], "code"), _str(message[3], "message"), _str(message[4], "name"), stdout
