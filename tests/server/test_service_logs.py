"""Access logs: one record per request on `enclave_vm.server` with method, path, status, duration_ms and
the run's outcome, and never the script, its arguments, values, state, context or output."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator

import httpx
import pytest
from service_harness import ServerThread, Tools, captured, ndjson, poll, serving

from enclave_vm import Enclave
from enclave_vm.server.access_log import JsonLineFormatter

SECRET = "TOPSECRET-7f3a"
SCRIPT = f"""
const secret = '{SECRET}-code';
console.log('{SECRET}-output');
const answer = await callTool('echo', {{ q: '{SECRET}-args' }});
return {{ answer, secret, state: state.k }};
"""


@pytest.fixture
def tools() -> Tools:
    return Tools()


@pytest.fixture
def service(tools: Tools) -> Iterator[ServerThread]:
    with serving(Enclave(tool_handler=tools)) as server:
        yield server


def test_one_record_per_request_with_its_fields(service: ServerThread) -> None:
    with captured("enclave_vm.server") as log:
        ndjson(httpx.post(f"{service.url}/v1/runs", json={"code": "return 1"}).text)
        httpx.post(f"{service.url}/v1/runs", json={"code": "eval('1')"})
        httpx.post(f"{service.url}/v1/runs", json={"code": 5})
        httpx.get(f"{service.url}/healthz")
        poll(lambda: len(log.records) == 4, "four access-log records")
    ok, failed, refused, health = log.records
    assert (ok.method, ok.path, ok.status, ok.outcome) == ("POST", "/v1/runs", 200, "ok")  # type: ignore[attr-defined]
    assert isinstance(ok.duration_ms, float) and ok.duration_ms > 0  # type: ignore[attr-defined]
    assert ok.levelno == logging.INFO and ok.getMessage().startswith("POST /v1/runs 200 ")
    assert (failed.status, failed.outcome) == (200, "VALIDATION_ERROR")  # type: ignore[attr-defined]
    assert (refused.status, refused.outcome) == (422, None)  # type: ignore[attr-defined]
    assert (health.method, health.path, health.status) == ("GET", "/healthz", 200)  # type: ignore[attr-defined]


def test_no_record_carries_the_script_or_its_data(service: ServerThread) -> None:
    body = {"code": SCRIPT, "state": {"k": f"{SECRET}-state"}, "context": {"c": f"{SECRET}-context"}}
    with captured("enclave_vm.server") as log, captured("enclave_vm") as library_log:
        result = ndjson(httpx.post(f"{service.url}/v1/runs", json=body).text)[-1]["result"]
        assert result["success"], result["error"]
        assert SECRET in json.dumps(result)  # the caller gets it all back...
        httpx.post(f"{service.url}/v1/validate", json={"code": SCRIPT})
        httpx.post(f"{service.url}/v1/runs", json={"code": SCRIPT, "timeout": f"{SECRET}"})  # a 422 quoting nothing
        poll(lambda: len(log.records) >= 3, "the access-log records")
    formatter = JsonLineFormatter()
    for record in [*log.records, *library_log.records]:  # ...and no log line has any of it
        assert SECRET not in formatter.format(record)
        assert SECRET not in repr(vars(record))


def test_a_cancelled_run_is_logged_as_cancelled(service: ServerThread, tools: Tools) -> None:
    with captured("enclave_vm.server") as log:
        with (
            httpx.Client() as client,
            client.stream(
                "POST", f"{service.url}/v1/runs", json={"code": "await callTool('hold_async', {})"}
            ) as response,
        ):
            for line in response.iter_lines():
                if json.loads(line)["type"] == "tool_call":
                    break
        poll(lambda: any(getattr(r, "outcome", None) == "cancelled" for r in log.records), "the record")
    record = next(r for r in log.records if getattr(r, "outcome", None) == "cancelled")
    assert (record.path, record.status) == ("/v1/runs", 200)  # type: ignore[attr-defined]


def test_the_json_formatter_writes_one_object_per_record(service: ServerThread) -> None:
    with captured("enclave_vm.server") as log:
        httpx.post(f"{service.url}/v1/runs", json={"code": "return 1"})
        poll(lambda: len(log.records) == 1, "the record")
    line = json.loads(JsonLineFormatter().format(log.records[0]))
    assert {k: line[k] for k in ("level", "logger", "method", "path", "status", "outcome")} == {
        "level": "INFO", "logger": "enclave_vm.server", "method": "POST", "path": "/v1/runs", "status": 200,
        "outcome": "ok",
    }  # fmt: skip
