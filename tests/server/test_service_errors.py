"""Every refusal of the service, tripped over real HTTP: 401 (the token, on /v1 only), 404, 413 (also
without or with a lying Content-Length), 422 naming the field, 429 past max_concurrency, 503 while
draining, and a 500 that leaves the service serving."""

from __future__ import annotations

import contextlib
import json
import socket
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from service_harness import WAIT_S, ServerThread, Tools, ndjson, poll, serving

from enclave_vm import DurableOptions, Enclave
from enclave_vm.server import create_app

TOKEN = "s3cret-token"


@pytest.fixture
def tools() -> Tools:
    return Tools()


@pytest.fixture
def service(tools: Tools) -> Iterator[ServerThread]:
    with serving(Enclave(tool_handler=tools, max_state_bytes=100), max_body_bytes=1000) as server:
        yield server


# ---- 401 ----
@pytest.fixture
def guarded() -> Iterator[ServerThread]:
    with serving(Enclave(), token=TOKEN) as server:
        yield server


@pytest.mark.parametrize(
    "headers",
    [{}, {"authorization": "Bearer wrong"}, {"authorization": f"Basic {TOKEN}"}, {"authorization": TOKEN},
     {"authorization": f"Bearer {TOKEN}x"}],
    ids=["none", "wrong-token", "other-scheme", "no-scheme", "longer"],
)  # fmt: skip
@pytest.mark.parametrize("path", ["/v1/runs", "/v1/runs/resume", "/v1/validate", "/v1/anything"])
def test_every_v1_request_needs_the_token(guarded: ServerThread, path: str, headers: dict[str, str]) -> None:
    response = httpx.post(f"{guarded.url}{path}", json={"code": "return 1"}, headers=headers)
    assert response.status_code == 401
    assert response.json()["error"] == "unauthorized" and "Bearer" in response.json()["message"]
    assert response.headers["www-authenticate"].startswith("Bearer")


def test_the_right_token_passes(guarded: ServerThread) -> None:
    headers = {"authorization": f"Bearer {TOKEN}"}
    response = httpx.post(f"{guarded.url}/v1/runs", json={"code": "return 1"}, headers=headers)
    assert response.status_code == 200 and ndjson(response.text)[-1]["result"]["value"] == 1
    lower = {"authorization": f"bearer {TOKEN}"}  # the scheme is case-insensitive
    assert httpx.post(f"{guarded.url}/v1/validate", json={"code": "1"}, headers=lower).status_code == 200


def test_healthz_and_metrics_need_no_token(guarded: ServerThread) -> None:
    assert httpx.get(f"{guarded.url}/healthz").json() == {"status": "ok"}
    assert httpx.get(f"{guarded.url}/metrics").status_code == 200


def test_an_empty_token_is_refused() -> None:
    with Enclave() as enclave, pytest.raises(ValueError, match="token"):
        create_app(enclave, token="")


# ---- 404 / 405 ----
def test_unknown_paths_and_methods_answer_json(service: ServerThread) -> None:
    missing = httpx.get(f"{service.url}/v2/runs")
    assert missing.status_code == 404 and missing.json()["error"] == "not_found"
    wrong = httpx.get(f"{service.url}/v1/runs")
    assert wrong.status_code == 405 and wrong.json()["error"] == "method_not_allowed"


# ---- 413 ----
def big_run(size: int) -> bytes:
    return json.dumps({"code": "return '" + "x" * size + "'.length"}).encode()


def test_a_body_over_the_cap_is_413(service: ServerThread) -> None:
    response = httpx.post(f"{service.url}/v1/runs", content=big_run(2000), headers={"content-type": "application/json"})
    assert response.status_code == 413
    assert response.json() == {"error": "body_too_large", "message": "The request body is over 1000 bytes"}
    assert httpx.post(f"{service.url}/v1/validate", content=big_run(2000)).status_code == 413
    fits = httpx.post(f"{service.url}/v1/runs", content=big_run(900))
    assert fits.status_code == 200 and ndjson(fits.text)[-1]["result"]["value"] == 900


def test_a_chunked_body_without_content_length_is_counted(service: ServerThread) -> None:
    body = big_run(3000)
    chunks = [body[i : i + 500] for i in range(0, len(body), 500)]
    response = httpx.post(f"{service.url}/v1/runs", content=iter(chunks))  # chunked: no Content-Length
    assert response.status_code == 413
    assert "content-length" not in response.request.headers


def raw_request(url: str, head: str, body: bytes = b"") -> tuple[int, dict[str, Any]]:
    """Send bytes as they are (headers included) and read the answer: its status and JSON body."""
    host, port = url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=WAIT_S) as sock:
        sock.sendall(head.replace("\n", "\r\n").encode() + b"\r\n" + body)
        received = b""
        while b"\r\n\r\n" not in received or len(received.partition(b"\r\n\r\n")[2]) < _length(received):
            data = sock.recv(65536)
            if not data:
                break
            received += data
    header, _, payload = received.partition(b"\r\n\r\n")
    status = int(header.split(b" ", 2)[1])
    return status, json.loads(payload[: _length(received)])


def _length(received: bytes) -> int:
    for line in received.partition(b"\r\n\r\n")[0].split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            return int(value)
    return 1 << 30


def test_a_raw_chunked_body_over_the_cap_is_413(service: ServerThread) -> None:
    body = big_run(3000)
    chunked = b"".join(b"%x\r\n%s\r\n" % (len(part), part) for part in (body[:1500], body[1500:])) + b"0\r\n\r\n"
    head = "POST /v1/runs HTTP/1.1\nHost: 127.0.0.1\nContent-Type: application/json\nTransfer-Encoding: chunked\n"
    status, answer = raw_request(service.url, head, chunked)
    assert status == 413 and answer["error"] == "body_too_large"


def test_a_huge_declared_length_is_413_before_any_body_is_sent(service: ServerThread) -> None:
    head = "POST /v1/runs HTTP/1.1\nHost: 127.0.0.1\nContent-Type: application/json\nContent-Length: 1000000000\n"
    status, answer = raw_request(service.url, head)
    assert status == 413 and answer["error"] == "body_too_large"


async def test_more_bytes_than_content_length_says_are_counted_too() -> None:
    """At the ASGI boundary (a server that passes on what the client sends): the cap holds whatever the
    header claims."""
    sent: list[dict[str, Any]] = []
    chunks = [b'{"code": "' + b"x" * 600, b"x" * 600, b'"}']

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": chunks.pop(0), "more_body": bool(chunks)}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    scope = {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "POST",
             "scheme": "http", "path": "/v1/runs", "raw_path": b"/v1/runs", "query_string": b"", "root_path": "",
             "headers": [(b"content-length", b"10"), (b"content-type", b"application/json")],
             "client": ("127.0.0.1", 1), "server": ("127.0.0.1", 80)}  # fmt: skip
    with Enclave() as enclave:
        await create_app(enclave, max_body_bytes=1000)(scope, receive, send)
    assert sent[0]["status"] == 413


# ---- 422 ----
@pytest.mark.parametrize(
    ("path", "body", "field"),
    [
        ("/v1/runs", b"{", "body"),
        ("/v1/runs", b"[1, 2]", "body"),
        ("/v1/runs", b"", "body"),
        ("/v1/runs", b"{}", "code"),
        ("/v1/runs", b'{"code": 1}', "code"),
        ("/v1/runs", b'{"code": "return 1", "timeout": "5"}', "timeout"),
        ("/v1/runs", b'{"code": "return 1", "timeout": true}', "timeout"),
        ("/v1/runs", b'{"code": "return 1", "timeout": 0}', "timeout"),
        ("/v1/runs", b'{"code": "return 1", "max_tool_calls": -1}', "max_tool_calls"),
        ("/v1/runs", b'{"code": "return 1", "max_tool_calls": 1.5}', "max_tool_calls"),
        ("/v1/runs", b'{"code": "return 1", "context": [1]}', "context"),
        ("/v1/runs", b'{"code": "return 1", "language": "python"}', "language"),
        ("/v1/runs", b'{"code": "return 1", "colour": "red"}', "colour"),
        ("/v1/runs", b'{"code": "return 1", "state": {"big": "' + b"x" * 200 + b'"}}', "state"),
        ("/v1/runs/resume", b"{}", "token"),
        ("/v1/runs/resume", b'{"token": 5}', "token"),
        ("/v1/runs/resume", b'{"token": "t", "error": 1}', "error"),
        ("/v1/runs/resume", b'{"token": "t", "extra": 1}', "extra"),
        ("/v1/validate", b'{"code": null}', "code"),
        ("/v1/validate", b'{"code": "1", "timeout": 5}', "timeout"),
    ],
)
def test_a_malformed_body_is_422_naming_the_field(service: ServerThread, path: str, body: bytes, field: str) -> None:
    response = httpx.post(f"{service.url}{path}", content=body, headers={"content-type": "application/json"})
    assert response.status_code == 422, response.text
    answer = response.json()
    assert answer["error"] == "invalid_request"
    assert answer["field"] == field and answer["message"].startswith(field)


# ---- 429 ----
def test_more_runs_than_max_concurrency_are_429(tools: Tools) -> None:
    with serving(Enclave(tool_handler=tools), max_concurrency=2) as service, httpx.Client(timeout=60.0) as client:
        url = f"{service.url}/v1/runs"
        with contextlib.ExitStack() as held:
            held.callback(tools.release.set)  # whatever happens, the held tools return
            running = [
                held.enter_context(client.stream("POST", url, json={"code": "return await callTool('hold', {})"}))
                for _ in range(2)
            ]
            tools.wait_held(2)  # both runs are in flight, each in its tool
            refused = httpx.post(url, json={"code": "return 1"})
            assert refused.status_code == 429 and refused.json()["error"] == "too_many_runs"
            assert refused.headers["retry-after"] == "1"
            assert httpx.post(f"{service.url}/v1/runs/resume", json={"token": "t"}).status_code == 429
            assert httpx.post(f"{service.url}/v1/validate", json={"code": "return 1"}).status_code == 200  # not a run
            tools.release.set()
            for response in running:
                assert ndjson(response.read().decode())[-1]["result"]["value"] == {"released": True}
        poll(lambda: service.app.gate.in_flight == 0, "the runs to leave the gate")
        assert httpx.post(url, json={"code": "return 1"}).status_code == 200


# ---- 503 ----
def test_while_draining_new_runs_are_503_and_the_running_one_finishes(tools: Tools) -> None:
    with Enclave(tool_handler=tools) as enclave:
        service = ServerThread(create_app(enclave), shutdown_grace=60.0)
        service.start()
        try:
            with (
                httpx.Client(timeout=60.0) as client,
                client.stream(
                    "POST", f"{service.url}/v1/runs", json={"code": "return await callTool('hold', {})"}
                ) as running,
            ):
                tools.wait_held()
                service.server.begin_shutdown()
                refused = httpx.post(f"{service.url}/v1/runs", json={"code": "return 1"})
                assert refused.status_code == 503 and refused.json()["error"] == "shutting_down"
                resume = httpx.post(f"{service.url}/v1/runs/resume", json={"token": "t"})
                assert resume.status_code == 503
                health = httpx.get(f"{service.url}/healthz")
                assert health.status_code == 503 and health.json() == {"status": "draining"}
                assert service.server.should_exit is False  # a run is in flight: the server waits for it
                tools.release.set()
                assert ndjson(running.read().decode())[-1]["result"]["value"] == {"released": True}
            assert service.join(WAIT_S), "the drained server did not stop"
        finally:
            tools.release.set()
            service.stop()


# ---- 500 ----
def test_a_failing_handler_is_a_500_and_the_service_goes_on() -> None:
    broken = DurableOptions(storage="redis", redis_url="redis://127.0.0.1:1")  # nothing listens there
    with serving(Enclave(durable=broken)) as service:
        for _ in range(3):
            response = httpx.post(f"{service.url}/v1/runs/resume", json={"token": "t"})
            assert response.status_code == 500
            assert response.json() == {"error": "internal_error", "message": "The service failed to handle the request"}
        assert httpx.get(f"{service.url}/healthz").json() == {"status": "ok"}
        run = httpx.post(f"{service.url}/v1/runs", json={"code": "return 6 * 7"})
        assert ndjson(run.text)[-1]["result"]["value"] == 42
        assert service.app.gate.in_flight == 0  # the failed resumes gave their slots back


def test_the_default_cap_is_one_mib() -> None:
    with serving(Enclave()) as service:
        over = httpx.post(f"{service.url}/v1/validate", content=b'{"code": "' + b"x" * 1048576 + b'"}')
        assert over.status_code == 413 and "1048576 bytes" in over.json()["message"]
        under = httpx.post(f"{service.url}/v1/validate", content=b'{"code": "' + b"1;" * 500_000 + b'"}')
        assert under.status_code == 200
