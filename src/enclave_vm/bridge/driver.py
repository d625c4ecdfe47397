"""The run state machine, written once for every adapter:

    start → (engine step → drain → tool calls → settle)* → final

It only moves protocol messages between an engine channel (in this thread, a worker process, a WASM VM)
and the tool dispatcher, and enforces the host side of the limits.
"""

from __future__ import annotations

from typing import Protocol

from ..outcome import now as run_clock
from .dispatch import RunTerminated, ToolDispatcher
from .protocol import EngineLimits, RunOutcome, Slice, StartRequest, ToolResult


class EngineChannel(Protocol):
    """The engine side of one run. Calls block; any may raise EngineTerminated-like exceptions
    carrying `code` and `message` attributes."""

    def start(self) -> Slice: ...

    def settle(self, results: list[ToolResult]) -> Slice: ...

    def close(self) -> None: ...


class _Progress:
    def __init__(self) -> None:
        self.stdout: list[str] = []
        self.tool_calls = 0
        self.iterations = 0
        self.memory: int | None = None

    def absorb(self, step: Slice) -> None:
        self.stdout.extend(step.stdout)
        self.iterations = max(self.iterations, step.iterations)
        if step.memory_usage is not None:
            self.memory = max(self.memory or 0, step.memory_usage)

    def outcome(self, **fields: object) -> RunOutcome:
        outcome = RunOutcome(**fields)  # type: ignore[arg-type]
        outcome.stdout = self.stdout
        outcome.tool_call_count = self.tool_calls
        outcome.iteration_count = self.iterations
        outcome.memory_usage = self.memory
        return outcome


def drive(channel: EngineChannel, request: StartRequest, tools: ToolDispatcher) -> RunOutcome:
    """Run one script to its end over `channel`; never raises for anything the script does.
    The caller closes the channel (after delivering the outcome, so teardown is off the latency path)."""
    limits: EngineLimits = request.limits
    progress = _Progress()
    try:
        step = channel.start()
        while True:
            progress.absorb(step)
            if step.terminal_code:
                return progress.outcome(ok=False, code=step.terminal_code, message=step.terminal_message)
            if step.final is not None:
                final = step.final
                if final.ok:
                    return progress.outcome(ok=True, value_json=final.value_json)
                return progress.outcome(
                    ok=False, code=final.code, name=final.name, message=final.message, stack=final.stack
                )
            if not step.tool_calls:
                return progress.outcome(
                    ok=False,
                    code="RUNTIME_ERROR",
                    name="DeadlockError",
                    message="The script is waiting for something that can never happen",
                )
            if progress.tool_calls + len(step.tool_calls) > limits.max_tool_calls:
                return progress.outcome(
                    ok=False,
                    code="MAX_TOOL_CALLS",
                    message=f"Maximum tool calls exceeded ({limits.max_tool_calls})",
                )
            progress.tool_calls += len(step.tool_calls)
            results = tools.run_batch(step.tool_calls, request.deadline)
            if run_clock() >= request.deadline:
                raise RunTerminated("TIMEOUT", f"Execution timed out after {limits.timeout_ms}ms")
            step = channel.settle(results)
    except RunTerminated as exc:
        return progress.outcome(ok=False, code=exc.code, message=exc.message)
    except Exception as exc:
        code = getattr(exc, "code", None)
        message = getattr(exc, "message", None)
        progress.stdout.extend(getattr(exc, "stdout", None) or ())
        if isinstance(code, str) and isinstance(message, str):
            if code == "TIMEOUT":
                message = f"Execution timed out after {limits.timeout_ms}ms"
            return progress.outcome(ok=False, code=code, name=getattr(exc, "name", "") or "", message=message)
        raise
