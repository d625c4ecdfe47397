"""The outcome of a run, decided in one place: the error codes, the run clock, the one exception for
"this run ended with code X", and the deadline rule.

Everything that can end a run early (an engine, a worker channel, the tool dispatcher, an adapter giving
up) raises or returns `RunEnded`; `drive()` turns it into the run's outcome with `decide()`, so the code of
a run does not depend on which component noticed the end first.
"""

from __future__ import annotations

import enum
import time


class ErrorCode(enum.StrEnum):
    """The closed set of error codes a run can end with."""

    VALIDATION_ERROR = "VALIDATION_ERROR"
    TIMEOUT = "TIMEOUT"
    MAX_TOOL_CALLS = "MAX_TOOL_CALLS"
    MAX_ITERATIONS = "MAX_ITERATIONS"
    TOOL_ERROR = "TOOL_ERROR"
    MEMORY_LIMIT_EXCEEDED = "MEMORY_LIMIT_EXCEEDED"
    SCORING_BLOCKED = "SCORING_BLOCKED"
    RUNTIME_ERROR = "RUNTIME_ERROR"

    def __str__(self) -> str:
        return self.value


#: Codes a script cannot catch and go on from: once tripped, the run ends with them.
TERMINAL_CODES = frozenset(
    {
        ErrorCode.TIMEOUT,
        ErrorCode.MAX_TOOL_CALLS,
        ErrorCode.MAX_ITERATIONS,
        ErrorCode.MEMORY_LIMIT_EXCEEDED,
    }
)

#: Codes a script's own final record may carry (it threw, or a tool failed and it did not catch that).
#: Any other code in a final record is not believed: terminal codes come from the limit that tripped,
#: VALIDATION_ERROR and SCORING_BLOCKED only from the host before anything ran.
SCRIPT_CODES = frozenset({ErrorCode.RUNTIME_ERROR, ErrorCode.TOOL_ERROR})

#: The error `name` reported for each code when the error did not come from a guest exception.
DEFAULT_ERROR_NAMES: dict[ErrorCode, str] = {
    ErrorCode.VALIDATION_ERROR: "ValidationError",
    ErrorCode.TIMEOUT: "TimeoutError",
    ErrorCode.MAX_TOOL_CALLS: "MaxToolCallsError",
    ErrorCode.MAX_ITERATIONS: "MaxIterationsError",
    ErrorCode.TOOL_ERROR: "ToolError",
    ErrorCode.MEMORY_LIMIT_EXCEEDED: "MemoryLimitError",
    ErrorCode.SCORING_BLOCKED: "ScoringBlockedError",
    ErrorCode.RUNTIME_ERROR: "RuntimeError",
}


def now() -> float:
    """The run clock: seconds on the system's monotonic clock. Every run deadline is on this clock; on
    Linux it is the same clock in every process of the machine, so a deadline can travel to a worker."""
    return time.monotonic()


def as_code(value: object) -> ErrorCode:
    """A code from the closed set; anything else (a broken engine or worker) is RUNTIME_ERROR."""
    try:
        return ErrorCode(str(value))
    except ValueError:
        return ErrorCode.RUNTIME_ERROR


class RunEnded(Exception):
    """The run ended with `code`. Raised by engines, channels, the tool dispatcher and adapters."""

    def __init__(self, code: ErrorCode | str, message: str, name: str = "") -> None:
        super().__init__(message)
        self.code: ErrorCode = as_code(code)
        self.message = message
        self.name = name
        self.stdout: list[str] = []
        """Console lines printed before the run was stopped."""


def timeout_message(timeout_ms: int) -> str:
    return f"Execution timed out after {timeout_ms}ms"


def decide(code: ErrorCode, observed_at: float, deadline: float) -> ErrorCode:
    """The deadline rule: a non-ok end observed at or after the deadline is TIMEOUT, whatever the
    component that saw it first said (an interrupted job, an allocator failing under a growing promise
    chain, a script left with nothing to do); before the deadline the engine's own verdict stands."""
    return ErrorCode.TIMEOUT if observed_at >= deadline else code


def script_code(value: object) -> ErrorCode:
    """The code of a script's own final record: only RUNTIME_ERROR or TOOL_ERROR are believed (the record
    is built inside the engine, where guest code runs)."""
    code = as_code(value)
    return code if code in SCRIPT_CODES else ErrorCode.RUNTIME_ERROR


def limit_code(value: object) -> str:
    """The code of the engine's sticky limit state ("" when no limit tripped): only a terminal code is
    believed there. The state is written inside the engine, where guest code runs, so any other code
    (a forged VALIDATION_ERROR) is RUNTIME_ERROR."""
    if not value:
        return ""
    code = as_code(value)
    return str(code if code in TERMINAL_CODES else ErrorCode.RUNTIME_ERROR)
