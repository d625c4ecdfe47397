"""The messages of one run, as plain values, so the engine can live in this thread, a worker process or
a WebAssembly VM without the host-side logic changing.

host → engine: `StartRequest` (once), then `ToolResult` batches.
engine → host: a typed `Step` after every step (tools requested, settled, a limit tripped, or stalled),
with the console lines and counters of that step.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from ..outcome import ErrorCode, as_code


@dataclass(frozen=True)
class EngineLimits:
    """Everything the engine enforces on its own side; all plain ints."""

    timeout_ms: int
    max_tool_calls: int
    max_iterations: int
    memory_limit: int
    console_bytes: int
    console_calls: int
    max_value_bytes: int
    max_value_depth: int
    max_stack_bytes: int = 512 * 1024
    max_state_bytes: int = 1 << 20
    max_recorded_values: int = 10_000
    """Math.random()/Date values a durable run may journal; a run that saw more cannot pause."""

    def to_dict(self) -> dict[str, int]:
        return asdict(self)


@dataclass(frozen=True)
class StartRequest:
    program: str
    """The instrumented script: an expression evaluating to its async function."""
    globals_json: str
    limits: EngineLimits
    deadline: float
    """When the run must end, on the run clock (`outcome.now()`: monotonic seconds)."""
    state_json: str | None = None
    """The script's `state` global as JSON, or None for a run without state."""
    record_entropy: bool = False
    """Report the Math.random()/Date values the script sees (durable runs journal them)."""
    entropy: tuple[float, ...] = ()
    """Values to give back first, in order (a resumed durable run replays its journal)."""
    tool_names: tuple[str, ...] | None = None
    """The host's tool names, when known: the prelude builds the script's `tools` namespace from them."""


@dataclass(frozen=True)
class ToolCall:
    id: int
    name: str
    args_json: str


@dataclass(frozen=True)
class ToolResult:
    id: int
    ok: bool
    payload: str
    """The result as JSON text when ok, else the error message the script will see."""


@dataclass(frozen=True)
class FinalRecord:
    ok: bool
    value_json: str = ""
    """JSON of the returned value; "" for undefined."""
    code: str = ""
    name: str = ""
    message: str = ""
    stack: str = ""
    state_json: str = ""
    """JSON of the script's `state` when it returned; "" when the run has no state."""


@dataclass(kw_only=True)
class StepBase:
    """What every engine step reports besides how it ended."""

    stdout: list[str] = field(default_factory=list)
    levels: list[str] = field(default_factory=list)
    """The console method of each line of `stdout` ("log", "info", "warn", "error", "debug")."""
    iterations: int = 0
    memory_usage: int | None = None
    entropy: list[float] = field(default_factory=list)
    """Values of Math.random()/Date.now()/new Date() the script saw, when the run records them."""
    entropy_overflow: bool = False
    """The script saw more such values than `max_recorded_values` (sticky)."""


@dataclass(kw_only=True)
class ToolsRequested(StepBase):
    """The script is waiting and queued these tool calls."""

    calls: list[ToolCall]


@dataclass(kw_only=True)
class Settled(StepBase):
    """The script's promise settled: returned a value or threw."""

    final: FinalRecord


@dataclass(kw_only=True)
class LimitTripped(StepBase):
    """A terminal limit tripped inside the engine (sticky: whatever the script did after does not count)."""

    code: ErrorCode
    message: str


@dataclass(kw_only=True)
class Stalled(StepBase):
    """Nothing was queued and nothing settled. A deadlock only when `jobs_pending` is False: then nothing
    queued can ever settle the script's promise."""

    jobs_pending: bool = False


Step = ToolsRequested | Settled | LimitTripped | Stalled
"""The typed result of one engine step."""


def make_step(
    *,
    calls: list[ToolCall],
    stdout: list[str],
    iterations: int,
    terminal_code: str,
    terminal_message: str,
    final: FinalRecord | None,
    memory_usage: int | None = None,
    jobs_pending: bool = False,
    levels: list[str] | None = None,
    entropy: list[float] | None = None,
    entropy_overflow: bool = False,
) -> Step:
    """The one reading of an engine's state after a step: a tripped limit wins over a final record, a
    final record over queued calls (a script that returned without awaiting its calls is done)."""
    base: dict[str, Any] = {
        "stdout": stdout,
        "levels": levels if levels is not None else ["log"] * len(stdout),
        "iterations": iterations,
        "memory_usage": memory_usage,
        "entropy": entropy or [],
        "entropy_overflow": entropy_overflow,
    }
    if terminal_code:
        return LimitTripped(code=as_code(terminal_code), message=terminal_message, **base)
    if final is not None:
        return Settled(final=final, **base)
    if calls:
        return ToolsRequested(calls=calls, **base)
    return Stalled(jobs_pending=jobs_pending, **base)


def step_fields(step: Step) -> tuple[list[ToolCall], str, str, FinalRecord | None]:
    """(calls, terminal code, terminal message, final record) of a step: the inverse of `make_step`."""
    if isinstance(step, LimitTripped):
        return [], str(step.code), step.message, None
    if isinstance(step, Settled):
        return [], "", "", step.final
    if isinstance(step, ToolsRequested):
        return step.calls, "", "", None
    return [], "", "", None


@dataclass(frozen=True)
class PausedCall:
    """The tool call that paused a durable run, and why."""

    name: str
    args_json: str
    reason: str
    data: dict[str, Any] | None = None


@dataclass
class RunOutcome:
    """What an adapter hands back for one run: plain values, turned into an ExecutionResult by the facade."""

    ok: bool
    value_json: str = ""
    code: str = ""
    name: str = ""
    message: str = ""
    stack: str = ""
    data: dict[str, Any] | None = None
    stdout: list[str] = field(default_factory=list)
    tool_call_count: int = 0
    iteration_count: int = 0
    memory_usage: int | None = None
    state_json: str = ""
    """The script's `state` when it returned ("" without state, or when the run failed)."""
    paused: PausedCall | None = None
    """Set when a tool paused the run; `ok` is then False and `code` empty."""
    entropy: list[float] = field(default_factory=list)
    """The Math.random()/Date values the script saw, when the run records them."""
    entropy_overflow: bool = False
