"""The run state machine, written once for every adapter:

    start → (engine step → tool calls → settle)* → end

It only moves protocol messages between an engine channel (in this thread, a worker process, a WASM VM)
and the tool dispatcher, enforces the host side of the limits, and decides the run's code with the one
deadline rule (`outcome.decide`): whatever ends a run, and whoever notices it first, the code is decided
here.
"""

from __future__ import annotations

from typing import Protocol

from ..outcome import ErrorCode, RunEnded, as_code, decide, timeout_message
from ..outcome import now as run_clock
from ..streaming import ConsoleEvent
from .dispatch import RunPaused, ToolDispatcher
from .protocol import LimitTripped, PausedCall, RunOutcome, Settled, StartRequest, Step, ToolResult, ToolsRequested

DEADLOCK_MESSAGE = "The script is waiting for something that can never happen"


class EngineChannel(Protocol):
    """The engine side of one run. Calls block; any may raise `RunEnded`."""

    def start(self) -> Step: ...

    def settle(self, results: list[ToolResult]) -> Step: ...

    def close(self) -> None: ...


class RunProgress:
    """What the run did so far: its console lines and counters, carried into any outcome. An adapter that
    gives up on a stuck engine builds its outcome from the same record (`failed`)."""

    def __init__(self, request: StartRequest) -> None:
        self.request = request
        self.stdout: list[str] = []
        self.tool_calls = 0
        self.iterations = 0
        self.memory: int | None = None
        self.entropy: list[float] = []
        self.entropy_overflow = False

    def absorb(self, step: Step, tools: ToolDispatcher) -> None:
        self.stdout.extend(step.stdout)
        self.entropy.extend(step.entropy)
        self.entropy_overflow = self.entropy_overflow or step.entropy_overflow
        if tools.events is not None:
            for level, text in zip(step.levels, step.stdout, strict=True):
                tools.events(ConsoleEvent(level, text))
        self.iterations = max(self.iterations, step.iterations)
        if step.memory_usage is not None:
            self.memory = max(self.memory or 0, step.memory_usage)

    def _outcome(self, outcome: RunOutcome) -> RunOutcome:
        outcome.stdout = list(self.stdout)
        outcome.tool_call_count = self.tool_calls
        outcome.iteration_count = self.iterations
        outcome.memory_usage = self.memory
        outcome.entropy = self.entropy
        outcome.entropy_overflow = self.entropy_overflow
        return outcome

    def succeeded(self, value_json: str, state_json: str = "") -> RunOutcome:
        return self._outcome(RunOutcome(ok=True, value_json=value_json, state_json=state_json))

    def paused(self, paused: RunPaused) -> RunOutcome:
        call, suspend = paused.call, paused.suspend
        return self._outcome(
            RunOutcome(ok=False, paused=PausedCall(call.name, call.args_json, suspend.reason, suspend.data))
        )

    def failed(self, code: ErrorCode, message: str, name: str = "", stack: str = "") -> RunOutcome:
        """A non-ok end, with its code decided by the deadline rule."""
        decided = decide(code, run_clock(), self.request.deadline)
        if decided is ErrorCode.TIMEOUT:
            message, name, stack = timeout_message(self.request.limits.timeout_ms), "", ""
        return self._outcome(RunOutcome(ok=False, code=str(decided), name=name, message=message, stack=stack))


def drive(
    channel: EngineChannel, request: StartRequest, tools: ToolDispatcher, progress: RunProgress | None = None
) -> RunOutcome:
    """Run one script to its end over `channel`; never raises for anything the script does.
    The caller closes the channel (after delivering the outcome, so teardown is off the latency path)."""
    progress = progress or RunProgress(request)
    max_tool_calls = request.limits.max_tool_calls
    try:
        step = channel.start()
        while True:
            progress.absorb(step, tools)
            if isinstance(step, ToolsRequested):
                if progress.tool_calls + len(step.calls) > max_tool_calls:
                    raise RunEnded(ErrorCode.MAX_TOOL_CALLS, f"Maximum tool calls exceeded ({max_tool_calls})")
                progress.tool_calls += len(step.calls)
                step = channel.settle(tools.run_batch(step.calls, request.deadline))
            elif isinstance(step, Settled):
                final = step.final
                if final.ok:
                    return progress.succeeded(final.value_json, final.state_json)
                return progress.failed(as_code(final.code), final.message, final.name, final.stack)
            elif isinstance(step, LimitTripped):
                return progress.failed(step.code, step.message)
            elif step.jobs_pending:  # the engine yielded with work queued: let it go on
                step = channel.settle([])
            else:
                return progress.failed(ErrorCode.RUNTIME_ERROR, DEADLOCK_MESSAGE, "DeadlockError")
    except RunPaused as paused:
        return progress.paused(paused)
    except RunEnded as exc:
        progress.stdout.extend(exc.stdout)
        return progress.failed(exc.code, exc.message, exc.name)
