"""The service's endpoints over real HTTP: a run streams the events of `Enclave.stream()` as NDJSON with
the result last, validation, resume, health and metrics; a request may lower the operator's limits,
never raise them."""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from service_harness import ServerThread, Tools, metric, ndjson, serving

from enclave_vm import Enclave

SCRIPT = """
console.log('start', 1);
const a = await callTool('echo', { x: 2 });
let failed = '';
try { await callTool('fail', {}); } catch (e) { failed = e.message; }
console.warn('failed:', failed);
return a.args.x;
"""


@pytest.fixture
def tools() -> Tools:
    return Tools()


@pytest.fixture
def service(tools: Tools) -> Iterator[ServerThread]:
    with serving(Enclave(tool_handler=tools, timeout=20000, max_tool_calls=3)) as server:
        yield server


def post(service: ServerThread, path: str, body: object) -> httpx.Response:
    return httpx.post(f"{service.url}{path}", json=body, timeout=60.0)


def test_healthz(service: ServerThread) -> None:
    response = httpx.get(f"{service.url}/healthz")
    assert response.status_code == 200 and response.json() == {"status": "ok"}


def test_a_run_streams_its_events_as_ndjson_with_the_result_last(service: ServerThread) -> None:
    response = post(service, "/v1/runs", {"code": SCRIPT})
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/x-ndjson"
    lines = ndjson(response.text)
    assert [line["type"] for line in lines] == [
        "console", "tool_call", "tool_result", "tool_call", "tool_result", "console", "result"
    ]  # fmt: skip
    assert lines[0] == {"type": "console", "level": "log", "text": "start 1"}
    assert lines[1] == {"type": "tool_call", "id": lines[1]["id"], "name": "echo", "args": {"x": 2}}
    assert lines[2]["ok"] is True and "value" not in lines[2]
    assert lines[4]["ok"] is False
    result = lines[-1]["result"]
    assert set(result) == {"success", "value", "error", "stdout", "stats", "state", "suspended"}
    assert result["success"] is True and result["value"] == 2
    assert result["stdout"] == "start 1\nfailed: the tool failed\n"
    assert result["stats"]["tool_call_count"] == 2


async def test_the_lines_are_the_to_dict_of_the_events_of_enclave_stream(service: ServerThread, tools: Tools) -> None:
    served = ndjson(post(service, "/v1/runs", {"code": SCRIPT, "context": {"user": "u1"}}).text)
    with Enclave(tool_handler=tools) as enclave:
        expected = [event.to_dict() async for event in enclave.stream(SCRIPT, context={"user": "u1"})]
    assert comparable(served) == comparable(expected)


def comparable(lines: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The lines without what differs from run to run (durations, heap sizes)."""
    out = []
    for line in lines:
        line = {key: value for key, value in line.items() if key != "duration_ms"}
        if line["type"] == "result":
            stats = {k: v for k, v in line["result"]["stats"].items() if k not in ("duration", "memory_usage")}
            line["result"] = {**line["result"], "stats": stats}
        out.append(line)
    return out


def test_a_failed_run_is_a_200_stream_ending_with_the_error(service: ServerThread) -> None:
    lines = ndjson(post(service, "/v1/runs", {"code": "eval('1')"}).text)
    assert [line["type"] for line in lines] == ["result"]
    error = lines[0]["result"]["error"]
    assert error["code"] == "VALIDATION_ERROR" and error["data"]["issues"][0]["rule"] == "no-eval"


def test_context_reaches_the_tools_and_state_comes_back(service: ServerThread) -> None:
    body = {
        "code": "state.n += 1; return await callTool('echo', {});",
        "context": {"tenant": "t1"},
        "state": {"n": 1},
        "language": "javascript",
    }
    result = ndjson(post(service, "/v1/runs", body).text)[-1]["result"]
    assert result["value"]["context"] == {"tenant": "t1"}
    assert result["state"] == {"n": 2}


def test_typescript_runs_when_asked(service: ServerThread) -> None:
    body = {"code": "const n: number = 40; return n + 2;", "language": "typescript"}
    assert ndjson(post(service, "/v1/runs", body).text)[-1]["result"]["value"] == 42


def test_without_state_the_run_has_none(service: ServerThread) -> None:
    result = ndjson(post(service, "/v1/runs", {"code": "return typeof state;"}).text)[-1]["result"]
    assert result["value"] == "undefined" and result["state"] is None


def test_validate_returns_the_validation_result(service: ServerThread) -> None:
    response = post(service, "/v1/validate", {"code": "const a = 1;\neval('x');"})
    assert response.status_code == 200
    body = response.json()
    assert body["valid"] is False
    assert body["issues"] == [
        {"rule": "no-eval", "message": "Identifier 'eval' is not allowed", "severity": "error",
         "location": {"line": 2, "column": 1}}
    ]  # fmt: skip
    assert post(service, "/v1/validate", {"code": "return 1;"}).json() == {"valid": True, "issues": []}


# ---- limits: lowered, never raised ----
def test_a_request_may_lower_max_tool_calls(service: ServerThread, tools: Tools) -> None:
    code = "for (let i = 0; i < 5; i++) { await callTool('count', {}); }\nreturn 1;"
    result = ndjson(post(service, "/v1/runs", {"code": code, "max_tool_calls": 1}).text)[-1]["result"]
    assert result["error"]["code"] == "MAX_TOOL_CALLS"
    assert tools.calls["count"] == 1


def test_a_higher_max_tool_calls_is_capped_at_the_operators(service: ServerThread, tools: Tools) -> None:
    code = "for (let i = 0; i < 5; i++) { await callTool('count', {}); }\nreturn 1;"
    result = ndjson(post(service, "/v1/runs", {"code": code, "max_tool_calls": 1000}).text)[-1]["result"]
    assert result["error"]["code"] == "MAX_TOOL_CALLS"
    assert tools.calls["count"] == 3  # the operator's max_tool_calls, not the request's


def test_a_request_may_lower_the_timeout(service: ServerThread) -> None:
    started = time.monotonic()
    body = {"code": "await callTool('hold_async', {});", "timeout": 200}
    result = ndjson(post(service, "/v1/runs", body).text)[-1]["result"]
    assert result["error"]["code"] == "TIMEOUT"
    assert time.monotonic() - started < 5.0  # the operator's 20 s would be far past this (promise: 0.2 s)


def test_a_higher_timeout_is_capped_at_the_operators(tools: Tools) -> None:
    with serving(Enclave(tool_handler=tools, timeout=500)) as service:
        started = time.monotonic()
        body = {"code": "await callTool('hold_async', {});", "timeout": 3_600_000}
        result = ndjson(post(service, "/v1/runs", body).text)[-1]["result"]
    assert result["error"]["code"] == "TIMEOUT"
    assert time.monotonic() - started < 5.0 * 2  # promise: the operator's 0.5 s (+ the request's round trip)


# ---- durable runs ----
APPROVAL = """
const order = await callTool('create', { item: 'book' });
const approval = await callTool('approve', { order: 7 });
const receipt = await callTool('charge', { ok: approval.ok });
return { approval, receipt: receipt.context };
"""


def test_resume_through_http_answers_the_paused_call_and_repeats_no_tool(service: ServerThread, tools: Tools) -> None:
    paused = ndjson(post(service, "/v1/runs", {"code": APPROVAL}).text)[-1]["result"]
    assert paused["success"] is False and paused["error"] is None
    suspension = paused["suspended"]
    assert suspension["tool"] == "approve" and suspension["args"] == {"order": 7}
    assert suspension["reason"] == "needs a human" and suspension["data"] == {"args": {"order": 7}}

    body = {"token": suspension["token"], "value": {"ok": True}, "context": {"by": "alice"}}
    response = post(service, "/v1/runs/resume", body)
    assert response.status_code == 200 and response.headers["content-type"] == "application/x-ndjson"
    lines = ndjson(response.text)
    assert [line["name"] for line in lines if line["type"] == "tool_call"] == ["charge"]  # replayed calls: no event
    result = lines[-1]["result"]
    assert result["success"] is True
    assert result["value"] == {"approval": {"ok": True}, "receipt": {"by": "alice"}}
    assert tools.calls == Counter({"create": 1, "approve": 1, "charge": 1})


def test_resume_with_an_error_fails_the_paused_call(service: ServerThread) -> None:
    paused = ndjson(post(service, "/v1/runs", {"code": APPROVAL}).text)[-1]["result"]
    body = {"token": paused["suspended"]["token"], "error": "rejected"}
    result = ndjson(post(service, "/v1/runs/resume", body).text)[-1]["result"]
    assert result["error"]["code"] == "TOOL_ERROR" and "rejected" in result["error"]["message"]


def test_a_token_is_used_once_and_an_unknown_one_is_404(service: ServerThread) -> None:
    paused = ndjson(post(service, "/v1/runs", {"code": APPROVAL}).text)[-1]["result"]
    token = paused["suspended"]["token"]
    assert post(service, "/v1/runs/resume", {"token": token, "value": {"ok": True}}).status_code == 200
    again = post(service, "/v1/runs/resume", {"token": token, "value": {"ok": True}})
    assert again.status_code == 404 and again.json()["error"] == "unknown_token"
    unknown = post(service, "/v1/runs/resume", {"token": "no-such-token"})
    assert unknown.status_code == 404 and "token" in unknown.json()["message"]


def test_resume_without_durable_runs_is_404() -> None:
    with serving(Enclave(durable=False)) as service:
        response = post(service, "/v1/runs/resume", {"token": "whatever"})
    assert response.status_code == 404 and "disabled" in response.json()["message"]


# ---- metrics ----
def test_metrics_count_runs_by_outcome_durations_and_tool_calls(service: ServerThread) -> None:
    post(service, "/v1/runs", {"code": SCRIPT})  # ok, 2 tool calls (one failed)
    post(service, "/v1/runs", {"code": "eval('1')"})  # VALIDATION_ERROR
    post(service, "/v1/runs", {"code": APPROVAL})  # suspended, 2 tool calls
    post(service, "/v1/runs", {"code": "return 1", "timeout": "soon"})  # 422: not a run
    response = httpx.get(f"{service.url}/metrics")
    assert response.status_code == 200 and response.headers["content-type"].startswith("text/plain")
    url = service.url
    assert metric(url, "enclave_runs_total", 'outcome="ok"') == 1
    assert metric(url, "enclave_runs_total", 'outcome="VALIDATION_ERROR"') == 1
    assert metric(url, "enclave_runs_total", 'outcome="suspended"') == 1
    assert metric(url, "enclave_runs_total", 'outcome="TIMEOUT"') == 0  # every outcome is shown from the start
    assert 'enclave_runs_total{outcome="MAX_TOOL_CALLS"} 0.0' in response.text
    assert metric(url, "enclave_run_duration_seconds_count") == 3
    assert metric(url, "enclave_tool_calls_total") == 4
    assert metric(url, "enclave_tool_call_failures_total") == 1
    assert metric(url, "enclave_http_requests_total", 'status="422"') == 1
    assert metric(url, "enclave_runs_in_flight") == 0


def test_each_app_has_its_own_metrics(tools: Tools) -> None:
    with serving(Enclave(tool_handler=tools)) as first, serving(Enclave(tool_handler=tools)) as second:
        post(first, "/v1/runs", {"code": "return 1"})
        assert metric(first.url, "enclave_runs_total", 'outcome="ok"') == 1
        assert metric(second.url, "enclave_runs_total", 'outcome="ok"') == 0
