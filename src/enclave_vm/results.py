"""Result and error models: everything a run or a validation hands back to the caller."""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from typing import Any, Literal


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


@dataclass
class ExecutionStats:
    duration: float = 0.0
    """Wall-clock milliseconds of the whole run."""
    tool_call_count: int = 0
    iteration_count: int = 0
    memory_usage: int | None = None
    """Peak bytes of the sandbox heap, or None where the adapter cannot tell."""


@dataclass
class ExecutionError:
    code: ErrorCode
    name: str
    message: str
    stack: str | None = None
    data: dict[str, Any] | None = None


@dataclass(frozen=True)
class ScoringResult:
    score: int
    """0 (benign) to 100 (block)."""
    signals: list[str] = field(default_factory=list)


@dataclass
class ExecutionResult:
    success: bool
    value: Any = None
    error: ExecutionError | None = None
    stdout: str = ""
    stats: ExecutionStats = field(default_factory=ExecutionStats)
    warnings: list[str] = field(default_factory=list)
    """Non-fatal notes about the run, e.g. a scoring-gate warning."""
    scoring: ScoringResult | None = None
    """The scoring gate's verdict when a gate is configured."""


@dataclass(frozen=True)
class ValidationIssue:
    rule: str
    message: str
    severity: Literal["error", "warning"] = "error"
    location: dict[str, int] | None = None
    """{"line": 1-based, "column": 1-based} in the code as the user wrote it."""

    def to_dict(self) -> dict[str, Any]:
        return {
            "rule": self.rule,
            "message": self.message,
            "severity": self.severity,
            "location": dict(self.location) if self.location else None,
        }


@dataclass(frozen=True)
class ValidationResult:
    valid: bool
    issues: list[ValidationIssue] = field(default_factory=list)


def make_error(
    code: ErrorCode,
    message: str,
    *,
    name: str | None = None,
    stack: str | None = None,
    data: dict[str, Any] | None = None,
) -> ExecutionError:
    return ExecutionError(code=code, name=name or DEFAULT_ERROR_NAMES[code], message=message, stack=stack, data=data)
