"""A failed run as an exception, for callers who prefer one: `raise_for_error()`, `unwrap()`, `EnclaveError`;
`bool(result)`; a paused run (durable runs) is not an error; the `_sync` twins of the tool-call helpers."""

from __future__ import annotations

import json
import pickle
from typing import Any

import pytest

import enclave_vm
from enclave_vm import (
    Enclave,
    EnclaveError,
    EnclaveSuspended,
    ErrorCode,
    ExecutionResult,
    ExecutionStats,
    Suspend,
    Toolset,
)
from enclave_vm.results import make_error


def test_a_success_returns_itself_and_its_value() -> None:
    with Enclave() as enclave:
        result = enclave.run_sync("return [1, 2]")
    assert result.raise_for_error() is result
    assert result.unwrap() == [1, 2]
    assert bool(result) is True


def test_a_failure_raises_an_enclave_error_with_code_error_and_result() -> None:
    with Enclave() as enclave:
        result = enclave.run_sync("const user = null;\nconsole.log('before');\nreturn user.name;")
    assert bool(result) is False
    for call in (result.raise_for_error, result.unwrap):
        with pytest.raises(EnclaveError) as raised:
            call()
        error = raised.value
        assert error.code is ErrorCode.RUNTIME_ERROR
        assert error.error is result.error and error.result is result
        assert error.result.stdout == "before\n"
        assert str(error) == "RUNTIME_ERROR: cannot read property 'name' of null (line 3, column 8)"


@pytest.mark.parametrize(
    ("code", "expected"),
    [
        ("eval('1')", ErrorCode.VALIDATION_ERROR),
        ("let n = 0;\nfor (let i = 0; i < 1e6; i++) { n++ }", ErrorCode.MAX_ITERATIONS),
        ("return await callTool('nope', {})", ErrorCode.TOOL_ERROR),
    ],
)
def test_every_code_raises_with_that_code(code: str, expected: ErrorCode) -> None:
    with Enclave(security_level="STRICT") as enclave:
        result = enclave.run_sync(code)
    with pytest.raises(EnclaveError) as raised:
        result.unwrap()
    assert raised.value.code is expected
    assert str(raised.value).startswith(f"{expected}: ")


def test_a_paused_run_is_not_an_error_but_has_no_value() -> None:
    """The hook durable runs set: `suspended` on a result that neither succeeded nor failed."""
    pause = object()
    paused = ExecutionResult(success=False, stats=ExecutionStats(), suspended=pause)
    assert paused.raise_for_error() is paused
    with pytest.raises(EnclaveSuspended) as raised:
        paused.unwrap()
    assert isinstance(raised.value, EnclaveError)
    assert raised.value.code is None and raised.value.error is None and raised.value.suspension is pause
    assert raised.value.result is paused


def test_an_enclave_error_pickles_with_its_result() -> None:
    failed = ExecutionResult(success=False, error=make_error(ErrorCode.TIMEOUT, "late"), stdout="x\n")
    for error in (EnclaveError(failed), EnclaveSuspended(ExecutionResult(success=False, suspended="token"))):
        copy = pickle.loads(pickle.dumps(error))
        assert type(copy) is type(error) and str(copy) == str(error) and copy.result == error.result
        assert copy.code == error.code


def test_the_error_location_is_the_scripts_line() -> None:
    error = make_error(
        ErrorCode.RUNTIME_ERROR, "x", stack="    at inner (agentscript:4:7)\n    at <anonymous> (agentscript:9:1)"
    )
    assert error.location == {"line": 4, "column": 7}
    assert make_error(ErrorCode.TIMEOUT, "late").location is None


# ---- the _sync twins ----
def tools() -> Toolset:
    toolset = Toolset()

    @toolset.tool
    async def double(n: int) -> int:
        return n * 2

    return toolset


def test_run_tool_call_sync_answers_like_run_tool_call() -> None:
    with Enclave(tool_handler=tools()) as enclave:
        answer = enclave.run_tool_call_sync(json.dumps({"code": "return await callTool('double', { n: 21 })"}))
        malformed = enclave.run_tool_call_sync("{not json")
    assert answer.payload == {"ok": True, "value": 42} and not answer.is_error
    assert malformed.is_error and malformed.payload["error"]["code"] == "VALIDATION_ERROR"


async def test_run_tool_call_sync_refuses_a_running_loop() -> None:
    with Enclave() as enclave, pytest.raises(RuntimeError, match="running event loop"):
        enclave.run_tool_call_sync({"code": "return 1"})


def test_toolset_call_sync() -> None:
    assert tools().call_sync("double", {"n": 4}) == 8


def test_version() -> None:
    import importlib.metadata

    assert enclave_vm.__version__ == importlib.metadata.version("enclave-vm")
    assert "__version__" in enclave_vm.__all__


def test_a_real_pause_passes_raise_for_error_and_unwrap_raises_suspended() -> None:
    def tools(name: str, args: dict[str, Any], context: dict[str, Any] | None) -> Any:
        raise Suspend("needs approval", {"amount": args["amount"]})

    with Enclave(tool_handler=tools) as enclave:
        paused = enclave.run_sync("return await callTool('transfer', { amount: 30 })")
        assert paused.raise_for_error() is paused and not paused
        with pytest.raises(EnclaveSuspended) as raised:
            paused.unwrap()
        assert raised.value.suspension is paused.suspended and raised.value.code is None
        assert raised.value.suspension is not None and raised.value.suspension.data == {"amount": 30}
        done = enclave.resume_sync(raised.value.suspension.token, "approved")
    assert done.unwrap() == "approved"
