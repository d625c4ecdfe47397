"""The outcome vocabulary: the closed set of codes, the deadline rule, and which codes a script's own
record may carry."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from enclave_vm.outcome import (
    SCRIPT_CODES,
    TERMINAL_CODES,
    ErrorCode,
    RunEnded,
    as_code,
    decide,
    now,
    script_code,
    timeout_message,
)


@given(st.text(max_size=40))
def test_anything_outside_the_closed_set_is_runtime_error(text: str) -> None:
    code = as_code(text)
    assert code is ErrorCode(text) if text in set(ErrorCode) else code is ErrorCode.RUNTIME_ERROR


@pytest.mark.parametrize("code", list(ErrorCode))
def test_a_script_record_can_only_carry_a_script_code(code: ErrorCode) -> None:
    assert script_code(code) is (code if code in SCRIPT_CODES else ErrorCode.RUNTIME_ERROR)


@pytest.mark.parametrize("code", list(ErrorCode))
def test_the_deadline_rule(code: ErrorCode) -> None:
    deadline = now()
    assert decide(code, deadline, deadline) is ErrorCode.TIMEOUT  # at the deadline: TIMEOUT
    assert decide(code, deadline + 1, deadline) is ErrorCode.TIMEOUT
    assert decide(code, deadline - 0.001, deadline) is code  # before it, the engine's verdict stands


def test_run_ended_normalises_its_code_and_carries_output() -> None:
    ended = RunEnded("NOT_A_CODE", "m", "Name")
    assert ended.code is ErrorCode.RUNTIME_ERROR and ended.message == "m" and ended.stdout == []
    assert RunEnded(ErrorCode.TIMEOUT, "t").code is ErrorCode.TIMEOUT


def test_terminal_codes_are_the_four_limits() -> None:
    assert {str(c) for c in TERMINAL_CODES} == {"TIMEOUT", "MAX_TOOL_CALLS", "MAX_ITERATIONS", "MEMORY_LIMIT_EXCEEDED"}
    assert timeout_message(300) == "Execution timed out after 300ms"
