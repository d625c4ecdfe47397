"""A client that leaves mid-stream cancels its run: no further tool call starts, a running async tool is
cancelled, and the run counts as `cancelled`."""

from __future__ import annotations

import json
from collections.abc import Iterator

import httpx
import pytest
from service_harness import WAIT_S, ServerThread, Tools, metric, ndjson, poll, serving

from enclave_vm import Enclave


@pytest.fixture
def tools() -> Tools:
    return Tools()


@pytest.fixture
def service(tools: Tools) -> Iterator[ServerThread]:
    with serving(Enclave(tool_handler=tools)) as server:
        yield server


def leave_at_tool_call(service: ServerThread, code: str, tool: str) -> None:
    """Stream a run, and close the connection once `tool` has been called."""
    url = f"{service.url}/v1/runs"
    with httpx.Client(timeout=60.0) as client, client.stream("POST", url, json={"code": code}) as response:
        for line in response.iter_lines():
            event = json.loads(line)
            if event["type"] == "tool_call" and event["name"] == tool:
                return  # leaving both `with` blocks closes the connection with the run still going
    raise AssertionError(f"the run ended before calling {tool}")


def cancelled_runs(service: ServerThread) -> float:
    return metric(service.url, "enclave_runs_total", 'outcome="cancelled"')


def test_leaving_while_an_async_tool_runs_cancels_it_and_the_run(service: ServerThread, tools: Tools) -> None:
    code = "await callTool('hold_async', {});\nawait callTool('after', {});\nreturn 1;"
    leave_at_tool_call(service, code, "hold_async")
    assert tools.cancelled.wait(WAIT_S), "the running async tool was not cancelled"
    poll(lambda: cancelled_runs(service) == 1, "the run to count as cancelled")
    assert tools.calls["after"] == 0
    assert service.app.gate.in_flight == 0


def test_leaving_while_a_sync_tool_runs_starts_no_further_call(service: ServerThread, tools: Tools) -> None:
    code = "await callTool('hold', {});\nawait callTool('after', {});\nreturn 1;"
    leave_at_tool_call(service, code, "hold")
    # Counted once the stream has closed, which waits for the run to end: no tool can start after this.
    poll(lambda: cancelled_runs(service) == 1, "the run to count as cancelled")
    tools.release.set()  # the sync tool returns into a run that is over
    done = httpx.post(f"{service.url}/v1/runs", json={"code": "return await callTool('hold', {});"}, timeout=60.0)
    assert ndjson(done.text)[-1]["result"]["value"] == {"released": True}
    assert tools.calls["after"] == 0 and tools.calls["hold"] == 2


def test_leaving_between_tool_calls_stops_the_loop_of_calls(service: ServerThread, tools: Tools) -> None:
    code = (
        "for (let i = 0; i < 50; i++) {\n"
        "  if (i === 1) { await callTool('hold_async', {}); } else { await callTool('step', {}); }\n"
        "}\nreturn 1;"
    )
    leave_at_tool_call(service, code, "hold_async")
    poll(lambda: cancelled_runs(service) == 1, "the run to count as cancelled")
    assert tools.calls["step"] == 1
