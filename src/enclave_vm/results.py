"""Result and error models: everything a run or a validation hands back to the caller, and the
exceptions that turn a failed run into a raise for callers who prefer one."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any, Literal

from .durable.suspend import Suspension
from .outcome import DEFAULT_ERROR_NAMES, TERMINAL_CODES, ErrorCode

__all__ = [
    "DEFAULT_ERROR_NAMES",
    "TERMINAL_CODES",
    "EnclaveError",
    "EnclaveSuspended",
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


#: A frame of the script in an error's stack: `agentscript:LINE:COLUMN`, in the code as the user wrote it.
_SCRIPT_FRAME = re.compile(r"agentscript:(\d+):(\d+)")


@dataclass
class ExecutionError:
    code: ErrorCode
    name: str
    message: str
    stack: str | None = None
    data: dict[str, Any] | None = None

    @property
    def location(self) -> dict[str, int] | None:
        """`{"line", "column"}` (1-based, in the code as written) of the innermost script frame of the
        stack, or None when the error did not come from a line of the script (a limit, a validation)."""
        match = _SCRIPT_FRAME.search(self.stack or "")
        return None if match is None else {"line": int(match.group(1)), "column": int(match.group(2))}


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
    """Set when a tool paused the run (`Suspend`): then `success` is False and `error` is None. A paused
    run is not an error: `raise_for_error()` lets it through, `unwrap()` raises `EnclaveSuspended`."""

    def __bool__(self) -> bool:
        """True when the script returned (`if result:` reads as "it worked")."""
        return self.success

    def raise_for_error(self) -> ExecutionResult:
        """This result when the run succeeded (or paused); raises `EnclaveError` when it failed."""
        if self.success or self.suspended is not None:
            return self
        raise EnclaveError(self)

    def unwrap(self) -> Any:
        """The returned value; raises `EnclaveError` when the run failed, `EnclaveSuspended` when it paused."""
        if self.success:
            return self.value
        if self.suspended is not None:
            raise EnclaveSuspended(self)
        raise EnclaveError(self)


class EnclaveError(Exception):
    """A run that failed, as an exception: `.code` (the `ErrorCode`), `.error` (the `ExecutionError`) and
    `.result` (the whole `ExecutionResult`, stdout and stats included)."""

    def __init__(self, result: ExecutionResult) -> None:
        self.result = result
        self.error: ExecutionError | None = result.error
        self.code: ErrorCode | None = result.error.code if result.error is not None else None
        super().__init__(self._describe())

    def __reduce__(self) -> tuple[type[EnclaveError], tuple[ExecutionResult]]:
        return type(self), (self.result,)  # pickled with its result, e.g. across processes

    def _describe(self) -> str:
        error = self.error
        if error is None:
            return "The run did not succeed"
        location = error.location
        where = f" (line {location['line']}, column {location['column']})" if location else ""
        return f"{error.code}: {error.message}{where}"


class EnclaveSuspended(EnclaveError):
    """`unwrap()` of a paused run: there is no value yet. `.code` and `.error` are None; `.suspension` is
    the pause (`result.suspended`) to resume from."""

    def __init__(self, result: ExecutionResult) -> None:
        self.suspension: Suspension | None = result.suspended
        super().__init__(result)

    def _describe(self) -> str:
        return "The run is paused (see .suspension); resume it to get its value"


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

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ValidationIssue:
        """The issue `to_dict()` described (e.g. read back from JSON)."""
        severity = data.get("severity", "error")
        if severity not in ("error", "warning"):
            raise ValueError(f"a validation issue's severity must be 'error' or 'warning'; got {severity!r}")
        location = data.get("location")
        return cls(
            rule=str(data["rule"]),
            message=str(data["message"]),
            severity=severity,
            location={"line": int(location["line"]), "column": int(location["column"])} if location else None,
        )


@dataclass(frozen=True)
class ValidationResult:
    valid: bool
    issues: list[ValidationIssue] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {"valid": self.valid, "issues": [issue.to_dict() for issue in self.issues]}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ValidationResult:
        """The result `to_dict()` described (e.g. read back from JSON)."""
        return cls(valid=bool(data["valid"]), issues=[ValidationIssue.from_dict(i) for i in data.get("issues") or []])


def make_error(
    code: ErrorCode,
    message: str,
    *,
    name: str | None = None,
    stack: str | None = None,
    data: dict[str, Any] | None = None,
) -> ExecutionError:
    return ExecutionError(code=code, name=name or DEFAULT_ERROR_NAMES[code], message=message, stack=stack, data=data)
