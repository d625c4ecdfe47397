"""`RemoteEnclave` against a real service gives what `Enclave` gives: the same result types and values for
`run`, `stream`, `validate` and `resume` (and the sync twins), and clear exceptions for refusals."""

from __future__ import annotations

import dataclasses
import subprocess
import sys
from collections import Counter
from collections.abc import Iterator
from typing import Any

import pytest
from service_harness import WAIT_S, ServerThread, Tools, metric, poll, serving

from enclave_vm import (
    ConsoleEvent,
    Enclave,
    ErrorCode,
    ExecutionError,
    ExecutionResult,
    ExecutionStats,
    RemoteEnclave,
    ResultEvent,
    RunEvent,
    Suspension,
    ToolCallEvent,
    ToolResultEvent,
    ValidationIssue,
    ValidationResult,
)
from enclave_vm.remote import RemoteEnclaveError, RemoteInvalidRequest, RemoteUnknownToken
from enclave_vm.server.serve import listen
from enclave_vm.streaming import event_from_dict, result_from_dict, result_to_dict

OPTIONS: dict[str, Any] = {"timeout": 20000, "max_tool_calls": 4}
TOKEN = "remote-token"
SCRIPTS = {
    "tools_and_console": "console.log('a', { b: 1 });\nconst r = await callTool('echo', { x: [1, 2] });\nreturn r;",
    "context": "return (await callTool('echo', {})).context;",
    "runtime_error": "const user = null;\nreturn user.name;",
    "thrown_error": "throw new TypeError('bad thing');",
    "tool_error": "await callTool('fail', {});",
    "validation_error": "eval('1')",
    "max_tool_calls": "for (let i = 0; i < 9; i++) { await callTool('echo', {}); }",
    "timeout": "await callTool('hold_async', {});",
    "state": "state.items.push(3); return state.items.length;",
    "failed_state": "state.items.push(3); throw new Error('no');",
    "value_types": "return [null, true, 1.5, 'é', { a: [] }, undefined];",
}
RUN_OPTIONS: dict[str, dict[str, Any]] = {
    "context": {"context": {"tenant": "t1"}},
    "timeout": {"timeout": 200},
    "state": {"state": {"items": [1, 2]}},
    "failed_state": {"state": {"items": [1, 2]}},
    "max_tool_calls": {"max_tool_calls": 2},
}
APPROVAL = """
const a = await callTool('echo', { step: 1 });
const ok = await callTool('approve', { order: 7 });
const b = await callTool('echo', { step: 2 });
return [a.args, ok, b.args];
"""


@pytest.fixture
def served_tools() -> Tools:
    return Tools()


@pytest.fixture
def service(served_tools: Tools) -> Iterator[ServerThread]:
    with serving(Enclave(tool_handler=served_tools, **OPTIONS), token=TOKEN) as server:
        yield server


@pytest.fixture
def remote(service: ServerThread) -> Iterator[RemoteEnclave]:
    with RemoteEnclave(service.url, token=TOKEN) as client:
        yield client


@pytest.fixture
def local_tools() -> Tools:
    return Tools()


@pytest.fixture
def local(local_tools: Tools) -> Iterator[Enclave]:
    with Enclave(tool_handler=local_tools, **OPTIONS) as enclave:
        yield enclave


def same(remote_result: ExecutionResult, local_result: ExecutionResult) -> None:
    """Equal, but for what differs from run to run (durations, heap sizes, tokens)."""
    assert type(remote_result) is ExecutionResult and type(remote_result.stats) is ExecutionStats
    assert remote_result.error is None or type(remote_result.error) is ExecutionError
    if remote_result.error is not None:
        assert isinstance(remote_result.error.code, ErrorCode)
    if remote_result.suspended is not None:
        assert type(remote_result.suspended) is Suspension
    assert normalised(remote_result) == normalised(local_result)


def normalised(result: ExecutionResult) -> ExecutionResult:
    stats = dataclasses.replace(result.stats, duration=0.0, memory_usage=None)
    suspended = result.suspended and dataclasses.replace(result.suspended, token="")
    return dataclasses.replace(result, stats=stats, suspended=suspended)


@pytest.mark.parametrize("name", sorted(SCRIPTS))
async def test_run_gives_what_enclave_run_gives(name: str, remote: RemoteEnclave, local: Enclave) -> None:
    options = RUN_OPTIONS.get(name, {})
    remote_result = await remote.run(SCRIPTS[name], **options)
    same(remote_result, await local.run(SCRIPTS[name], **options))
    if name == "tools_and_console":
        assert remote_result.value == {"tool": "echo", "args": {"x": [1, 2]}, "context": None}


@pytest.mark.parametrize("name", ["tools_and_console", "runtime_error", "state", "max_tool_calls"])
def test_run_sync_gives_what_enclave_run_sync_gives(name: str, remote: RemoteEnclave, local: Enclave) -> None:
    options = RUN_OPTIONS.get(name, {})
    same(remote.run_sync(SCRIPTS[name], **options), local.run_sync(SCRIPTS[name], **options))


def comparable(events: list[RunEvent]) -> list[Any]:
    out: list[Any] = []
    for event in events:
        if isinstance(event, ToolResultEvent):
            event = dataclasses.replace(event, duration_ms=0.0)
        if isinstance(event, ResultEvent):
            event = ResultEvent(normalised(event.result))
        out.append(event)
    return out


async def test_stream_yields_the_same_events(remote: RemoteEnclave, local: Enclave) -> None:
    code = SCRIPTS["tools_and_console"] + "\n"
    code = "console.warn('w');\ntry { await callTool('fail', {}); } catch (e) { console.error(e.message); }\n" + code
    async with remote.stream(code) as events:
        remote_events = [event async for event in events]
    local_events = [event async for event in local.stream(code)]
    assert [type(e) for e in remote_events] == [
        ConsoleEvent, ToolCallEvent, ToolResultEvent, ConsoleEvent, ConsoleEvent, ToolCallEvent, ToolResultEvent,
        ResultEvent,
    ]  # fmt: skip
    assert comparable(remote_events) == comparable(local_events)


async def test_leaving_a_remote_stream_cancels_the_run(
    remote: RemoteEnclave, service: ServerThread, served_tools: Tools
) -> None:
    stream = remote.stream("await callTool('hold_async', {});\nawait callTool('after', {});")
    async for event in stream:
        if isinstance(event, ToolCallEvent):
            break
    await stream.aclose()
    assert served_tools.cancelled.wait(WAIT_S)
    poll(lambda: metric(service.url, "enclave_runs_total", 'outcome="cancelled"') == 1, "the cancelled run")
    assert served_tools.calls["after"] == 0


async def test_validate_gives_the_same_validation_result(remote: RemoteEnclave, local: Enclave) -> None:
    for code in ("return 1;", "const a = 1;\neval('x');\nfor (const k in a) {}", "console.log("):
        result = await remote.validate(code)
        assert type(result) is ValidationResult and all(type(i) is ValidationIssue for i in result.issues)
        assert result == await local.validate(code)
        assert remote.validate_sync(code) == local.validate_sync(code)
    typed = "const n: number = 1;"
    assert await remote.validate(typed, language="typescript") == await local.validate(typed, language="typescript")


async def test_resume_gives_what_enclave_resume_gives(
    remote: RemoteEnclave, local: Enclave, served_tools: Tools, local_tools: Tools
) -> None:
    remote_paused, local_paused = await remote.run(APPROVAL), await local.run(APPROVAL)
    same(remote_paused, local_paused)
    assert remote_paused.suspended is not None and local_paused.suspended is not None
    remote_done = await remote.resume(remote_paused.suspended.token, {"yes": True}, context={"by": "bo"})
    same(remote_done, await local.resume(local_paused.suspended.token, {"yes": True}, context={"by": "bo"}))
    assert remote_done.value == [{"step": 1}, {"yes": True}, {"step": 2}]
    assert served_tools.calls == local_tools.calls == Counter({"echo": 2, "approve": 1})
    with pytest.raises(LookupError, match="404"):
        await remote.resume(remote_paused.suspended.token, 1)


def test_resume_sync_and_an_error_answer(remote: RemoteEnclave, local: Enclave) -> None:
    remote_paused, local_paused = remote.run_sync(APPROVAL), local.run_sync(APPROVAL)
    assert remote_paused.suspended is not None and local_paused.suspended is not None
    remote_done = remote.resume_sync(remote_paused.suspended.token, error="refused")
    same(remote_done, local.resume_sync(local_paused.suspended.token, error="refused"))
    assert remote_done.error is not None and remote_done.error.code is ErrorCode.TOOL_ERROR
    with pytest.raises(RemoteUnknownToken) as unknown:
        remote.resume_sync("no-such-token")
    assert isinstance(unknown.value, LookupError) and unknown.value.status == 404


# ---- refusals as exceptions ----
async def test_a_wrong_token_raises_naming_401(service: ServerThread) -> None:
    for client in (RemoteEnclave(service.url), RemoteEnclave(service.url, token="wrong")):
        with pytest.raises(RemoteEnclaveError, match="HTTP 401: A valid 'Authorization: Bearer") as refused:
            await client.run("return 1")
        assert refused.value.status == 401 and refused.value.error == "unauthorized"
        with pytest.raises(RemoteEnclaveError, match="401"):
            client.validate_sync("return 1")
        await client.aclose()


async def test_a_refused_argument_is_a_value_error_naming_the_field(remote: RemoteEnclave) -> None:
    with pytest.raises(RemoteInvalidRequest, match="HTTP 422: timeout") as refused:
        await remote.run("return 1", timeout=0)
    assert isinstance(refused.value, ValueError) and refused.value.field == "timeout"
    with pytest.raises(ValueError, match="context"):
        remote.run_sync("return 1", context=[1])  # type: ignore[arg-type]


async def test_a_body_over_the_cap_raises_naming_413(served_tools: Tools) -> None:
    with serving(Enclave(tool_handler=served_tools), max_body_bytes=100) as service:
        client = RemoteEnclave(service.url)
        with pytest.raises(RemoteEnclaveError, match="HTTP 413: The request body is over 100 bytes") as refused:
            await client.run("return '" + "x" * 200 + "'")
        assert refused.value.status == 413
        with pytest.raises(RemoteEnclaveError, match="413"):
            client.validate_sync("x" * 200)
        await client.aclose()


async def test_too_many_runs_raises_naming_429(served_tools: Tools) -> None:
    with serving(Enclave(tool_handler=served_tools), max_concurrency=1) as service:
        client = RemoteEnclave(service.url)
        async with client.stream("return await callTool('hold_async', {})") as events:
            async for event in events:
                if isinstance(event, ToolCallEvent):
                    break
            with pytest.raises(RemoteEnclaveError, match="HTTP 429") as refused:
                await client.run("return 1")
            assert refused.value.status == 429
        await client.aclose()


async def test_an_unreachable_service_raises_clearly() -> None:
    with listen("127.0.0.1", 0) as sock:
        port = sock.getsockname()[1]
    client = RemoteEnclave(f"http://127.0.0.1:{port}")  # nothing listens there any more
    with pytest.raises(RemoteEnclaveError, match="Cannot talk to the service") as refused:
        await client.run("return 1")
    assert refused.value.status is None
    with pytest.raises(RemoteEnclaveError, match="Cannot talk"):
        client.run_sync("return 1")


def test_a_bad_url_or_token_is_refused_at_once() -> None:
    with pytest.raises(ValueError, match="url"):
        RemoteEnclave("127.0.0.1:8000")
    with pytest.raises(ValueError, match="token"):
        RemoteEnclave("http://127.0.0.1:8000", token="")


# ---- the package and the models ----
def test_import_enclave_vm_does_not_import_httpx() -> None:
    check = (
        "import sys, enclave_vm\n"
        "assert 'httpx' not in sys.modules and 'starlette' not in sys.modules\n"
        "assert enclave_vm.RemoteEnclave.__name__ == 'RemoteEnclave' and 'httpx' in sys.modules\n"
        "assert 'RemoteEnclave' in enclave_vm.__all__\n"
    )
    subprocess.run([sys.executable, "-c", check], check=True, timeout=60)


def test_every_event_and_result_reads_back_from_its_dict() -> None:
    suspended = Suspension(token="t", tool="approve", args={"a": 1}, reason="why", data={"d": [1]})
    error = ExecutionError(ErrorCode.TOOL_ERROR, "ToolError", "boom", stack="at x", data={"tool": "t"})
    results = [
        ExecutionResult(success=True, value={"a": [1, None]}, stdout="x\n", stats=ExecutionStats(1.5, 2, 3, 4)),
        ExecutionResult(success=False, error=error, state={"s": 1}),
        ExecutionResult(success=False, suspended=suspended),
    ]
    for result in results:
        assert result_from_dict(result_to_dict(result)) == result
    events: list[RunEvent] = [
        ConsoleEvent("warn", "text"), ToolCallEvent(3, "a:b", {"x": 1}), ToolResultEvent(3, "a:b", False, 1.25),
        *(ResultEvent(result) for result in results),
    ]  # fmt: skip
    for event in events:
        assert event_from_dict(event.to_dict()) == event
    checked = ValidationResult(False, [ValidationIssue("no-eval", "m", "error", {"line": 2, "column": 3}),
                                       ValidationIssue("w", "m", "warning", None)])  # fmt: skip
    assert ValidationResult.from_dict(checked.to_dict()) == checked


@pytest.mark.parametrize(
    "data",
    [{"type": "nope"}, {"level": "log"}, {"type": "console"}, {"type": "tool_call", "id": "x", "name": "n", "args": {}},
     {"type": "result", "result": {"success": True}}, [1]],
)  # fmt: skip
def test_a_malformed_event_is_a_value_error(data: Any) -> None:
    with pytest.raises(ValueError, match="event"):
        event_from_dict(data)
