"""The messages of one run, as plain values, so the engine can live in this thread, a worker process or
a WebAssembly VM without the host-side logic changing.

host → engine: `StartRequest` (once), then `ToolResult` batches.
engine → host: a `Slice` after every step: queued tool calls, console lines, counters, and the final
record once the script settled.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any


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


@dataclass
class Slice:
    tool_calls: list[ToolCall] = field(default_factory=list)
    stdout: list[str] = field(default_factory=list)
    iterations: int = 0
    terminal_code: str = ""
    """Set once the engine tripped a terminal limit; the run ends with this code."""
    terminal_message: str = ""
    final: FinalRecord | None = None
    memory_usage: int | None = None


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
