"""`drive()`, the one run loop, against scripted engine channels: how each kind of step ends a run, the
deadline rule, the tool-call count, and output carried into every outcome."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from enclave_vm.bridge.codec import ValueLimits
from enclave_vm.bridge.dispatch import ToolDispatcher
from enclave_vm.bridge.driver import DEADLOCK_MESSAGE, drive
from enclave_vm.bridge.protocol import (
    FinalRecord,
    LimitTripped,
    Settled,
    Stalled,
    StartRequest,
    Step,
    ToolCall,
    ToolResult,
    ToolsRequested,
)
from enclave_vm.outcome import ErrorCode, RunEnded, now
from engine_fixtures import engine_limits


class ScriptedChannel:
    """Answers start/settle with the next scripted step; a callable step is called with the results."""

    def __init__(self, *steps: Step | Callable[[list[ToolResult]], Step] | RunEnded) -> None:
        self.steps = list(steps)
        self.settled: list[list[ToolResult]] = []

    def _next(self, results: list[ToolResult]) -> Step:
        step = self.steps.pop(0)
        if isinstance(step, RunEnded):
            raise step
        return step(results) if callable(step) else step

    def start(self) -> Step:
        return self._next([])

    def settle(self, results: list[ToolResult]) -> Step:
        self.settled.append(results)
        return self._next(results)

    def close(self) -> None:
        pass


def _request(*, deadline: float | None = None, max_tool_calls: int = 10) -> StartRequest:
    return StartRequest(
        program="",
        globals_json="{}",
        limits=engine_limits(timeout_ms=5000, max_tool_calls=max_tool_calls),
        deadline=now() + 5 if deadline is None else deadline,
    )


def _tools(handler: Any = None) -> ToolDispatcher:
    return ToolDispatcher(handler=handler, context=None, loop=None, limits=ValueLimits(1 << 20, 32))


def _ok(value: str = "1", **base: Any) -> Settled:
    return Settled(final=FinalRecord(ok=True, value_json=value), **base)


def test_a_settled_value_is_the_outcome_with_all_output() -> None:
    channel = ScriptedChannel(
        ToolsRequested(calls=[ToolCall(1, "t", "{}")], stdout=["a"], iterations=2),
        _ok("42", stdout=["b"], iterations=5, memory_usage=1000),
    )
    outcome = drive(channel, _request(), _tools(lambda name, args, context: {"x": 1}))
    assert outcome.ok and outcome.value_json == "42"
    assert outcome.stdout == ["a", "b"] and outcome.iteration_count == 5 and outcome.memory_usage == 1000
    assert outcome.tool_call_count == 1
    assert channel.settled == [[ToolResult(1, True, '{"x":1}')]]


def test_a_thrown_error_keeps_its_name_message_and_stack() -> None:
    final = FinalRecord(ok=False, code="TOOL_ERROR", name="Error", message="boom", stack="at x")
    outcome = drive(ScriptedChannel(Settled(final=final)), _request(), _tools())
    assert (outcome.code, outcome.name, outcome.message, outcome.stack) == ("TOOL_ERROR", "Error", "boom", "at x")


def test_a_tripped_limit_ends_the_run_with_its_code() -> None:
    step = LimitTripped(code=ErrorCode.MAX_ITERATIONS, message="too many", stdout=["before"])
    outcome = drive(ScriptedChannel(step), _request(), _tools())
    assert (outcome.code, outcome.message, outcome.stdout) == ("MAX_ITERATIONS", "too many", ["before"])


def test_more_calls_than_the_limit_run_none_of_them() -> None:
    ran: list[str] = []
    calls = [ToolCall(i, "t", "{}") for i in range(1, 4)]
    channel = ScriptedChannel(ToolsRequested(calls=calls))
    outcome = drive(channel, _request(max_tool_calls=2), _tools(lambda name, args, context: ran.append(name)))
    assert outcome.code == "MAX_TOOL_CALLS" and ran == [] and outcome.tool_call_count == 0


def test_a_stall_with_jobs_queued_is_never_a_deadlock() -> None:
    channel = ScriptedChannel(Stalled(jobs_pending=True), Stalled(jobs_pending=True), _ok())
    outcome = drive(channel, _request(), _tools())
    assert outcome.ok and channel.settled == [[], []]


def test_a_stall_with_nothing_queued_is_a_deadlock() -> None:
    outcome = drive(ScriptedChannel(Stalled(stdout=["w"])), _request(), _tools())
    assert (outcome.code, outcome.name, outcome.message) == ("RUNTIME_ERROR", "DeadlockError", DEADLOCK_MESSAGE)
    assert outcome.stdout == ["w"]


@pytest.mark.parametrize(
    "ending",
    [
        Stalled(),
        LimitTripped(code=ErrorCode.MEMORY_LIMIT_EXCEEDED, message="m"),
        Settled(final=FinalRecord(ok=False, code="RUNTIME_ERROR", name="TypeError", message="x", stack="s")),
        RunEnded(ErrorCode.MEMORY_LIMIT_EXCEEDED, "Memory limit exceeded"),
    ],
    ids=["stall", "limit", "thrown", "engine-ended"],
)
def test_any_failure_seen_at_or_after_the_deadline_is_a_timeout(ending: Step | RunEnded) -> None:
    outcome = drive(ScriptedChannel(ending), _request(deadline=now() - 0.001), _tools())
    assert outcome.code == "TIMEOUT" and outcome.message == "Execution timed out after 5000ms"
    assert outcome.name == "" and outcome.stack == ""


def test_a_value_settled_after_the_deadline_is_still_the_value() -> None:
    outcome = drive(ScriptedChannel(_ok("7")), _request(deadline=now() - 0.001), _tools())
    assert outcome.ok and outcome.value_json == "7"


def test_an_engine_end_keeps_the_lines_printed_before_it() -> None:
    ended = RunEnded(ErrorCode.RUNTIME_ERROR, "Maximum call stack size exceeded", "RangeError")
    ended.stdout = ["last words"]
    channel = ScriptedChannel(ToolsRequested(calls=[ToolCall(1, "t", "{}")], stdout=["first"]), ended)
    outcome = drive(channel, _request(), _tools(lambda name, args, context: 1))
    assert (outcome.code, outcome.name) == ("RUNTIME_ERROR", "RangeError")
    assert outcome.stdout == ["first", "last words"] and outcome.tool_call_count == 1


def test_a_run_ended_from_outside_runs_no_further_tool() -> None:
    ran: list[str] = []
    tools = _tools(lambda name, args, context: ran.append(name))
    tools.cancel()
    channel = ScriptedChannel(ToolsRequested(calls=[ToolCall(1, "t", "{}")]))
    outcome = drive(channel, _request(), tools)
    assert outcome.code == "RUNTIME_ERROR" and "cancelled" in outcome.message and ran == []
