"""Result and error models: everything a run or a validation hands back to the caller."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

from .durable.suspend import Suspension
from .outcome import DEFAULT_ERROR_NAMES, TERMINAL_CODES, ErrorCode

__all__ = [
    "DEFAULT_ERROR_NAMES",
    "TERMINAL_CODES",
    "ErrorCode",
    "ExecutionError",
    "ExecutionResult",
    "ExecutionStats",
    "ScoringResult",
    "ValidationIssue",
    "ValidationResult",
    "make_error",
]


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
    state: Any = None
    """The script's `state` after the run (`run(code, state=...)`): its new value when the run succeeded,
    the state as given when it failed; None when no state was given."""
    suspended: Suspension | None = None
    """Set when a tool paused the run (`Suspend`): then `success` is False and `error` is None."""


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
