"""`enclave-vm serve` as a real process: it serves the tools it was given, with the token of its token
file, and on SIGTERM it takes no new runs (503), lets the running one finish, and exits within a bound."""

from __future__ import annotations

import contextlib
import json
import os
import queue
import re
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from service_harness import READY_TIMEOUT_S, WAIT_S, ndjson, poll, wait_until_healthy

from enclave_vm.cli import EXIT_UNAVAILABLE, EXIT_USAGE
from enclave_vm.server.serve import listen

ENTRY = Path(sys.executable).with_name("enclave-vm")
TOOLS = Path(__file__).with_name("serve_tools.py")


class Served:
    """An `enclave-vm serve` process on a free port of 127.0.0.1; its stderr lines are collected."""

    def __init__(self, *args: str) -> None:
        command = [str(ENTRY), "serve", "--port", "0", *args]
        self.process = subprocess.Popen(command, stderr=subprocess.PIPE, text=True, env=_env())
        self.lines: queue.Queue[str] = queue.Queue()
        self.stderr: list[str] = []
        threading.Thread(target=self._read, daemon=True).start()
        self.url = self._wait_for_url()
        wait_until_healthy(self.url)

    def _read(self) -> None:
        assert self.process.stderr is not None
        for line in self.process.stderr:
            self.stderr.append(line)
            self.lines.put(line)

    def _wait_for_url(self) -> str:
        deadline = time.monotonic() + READY_TIMEOUT_S
        while time.monotonic() < deadline:
            try:
                line = self.lines.get(timeout=1.0)
            except queue.Empty:
                if self.process.poll() is not None:
                    break
                continue
            if match := re.search(r"serving on (http://127\.0\.0\.1:\d+)", line):
                return match.group(1)
        raise AssertionError(f"the service did not start: {''.join(self.stderr)}")

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
        self.process.wait(WAIT_S)


def _env() -> dict[str, str]:
    return {**os.environ, "PYTHONUNBUFFERED": "1"}


@pytest.fixture
def served_factory() -> Iterator[list[Served]]:
    started: list[Served] = []
    yield started
    for served in started:
        served.stop()


def serve(started: list[Served], *args: str) -> Served:
    served = Served(*args)
    started.append(served)
    return served


def test_serve_runs_with_the_given_tools_and_token(tmp_path: Path, served_factory: list[Served]) -> None:
    token_file = tmp_path / "token"
    token_file.write_text("file-token\n")  # the line break is not part of the token
    served = serve(served_factory, "--tools", f"{TOOLS}:toolset", "--token-file", str(token_file))
    code = "return await tools.math.add({ a: 2, b: 3 });"
    assert httpx.post(f"{served.url}/v1/runs", json={"code": code}).status_code == 401
    headers = {"authorization": "Bearer file-token"}
    response = httpx.post(f"{served.url}/v1/runs", json={"code": code}, headers=headers)
    assert ndjson(response.text)[-1]["result"]["value"] == 5
    assert httpx.get(f"{served.url}/healthz").json() == {"status": "ok"}  # no token needed
    unknown = httpx.post(f"{served.url}/v1/validate", json={"code": "await tools.math.sub({})"}, headers=headers)
    assert unknown.json()["issues"][0]["rule"] == "unknown-tool"  # a Toolset names its tools
    # The access log is one JSON object per request, on stderr.
    poll(lambda: any('"path": "/v1/validate"' in line for line in served.stderr), "the access-log line")
    record = json.loads(next(line for line in served.stderr if '"path": "/v1/validate"' in line))
    assert (record["method"], record["status"], record["logger"]) == ("POST", 200, "enclave_vm.server")


def test_serve_takes_the_level_and_limits(served_factory: list[Served]) -> None:
    served = serve(
        served_factory, "--tools", f"{TOOLS}:handler", "--security-level", "strict", "--max-tool-calls", "1",
        "--adapter", "inprocess", "--max-concurrency", "2",
    )  # fmt: skip
    refused = ndjson(httpx.post(f"{served.url}/v1/runs", json={"code": "new Map()"}).text)[-1]["result"]
    assert refused["error"]["code"] == "VALIDATION_ERROR"  # STRICT has no Map
    code = "await callTool('a', {}); await callTool('b', {}); return 1;"
    limited = ndjson(httpx.post(f"{served.url}/v1/runs", json={"code": code, "max_tool_calls": 50}).text)
    assert limited[-1]["result"]["error"]["code"] == "MAX_TOOL_CALLS"


def test_sigterm_drains_finishes_the_running_run_and_exits(tmp_path: Path, served_factory: list[Served]) -> None:
    grace = 30.0
    served = serve(served_factory, "--tools", f"{TOOLS}:handler", "--shutdown-grace", str(grace))
    release = tmp_path / "release"
    body = {"code": f"return await callTool('hold', {{ release: {json.dumps(str(release))} }});"}
    with httpx.Client(timeout=60.0) as client, client.stream("POST", f"{served.url}/v1/runs", json=body) as running:
        lines = running.iter_lines()
        assert json.loads(next(lines))["type"] == "tool_call"  # the run is in its tool
        served.process.send_signal(signal.SIGTERM)
        poll(lambda: httpx.get(f"{served.url}/healthz").status_code == 503, "the service to drain")
        refused = httpx.post(f"{served.url}/v1/runs", json={"code": "return 1"})
        assert refused.status_code == 503 and refused.json()["error"] == "shutting_down"
        assert served.process.poll() is None  # still serving the run in flight
        release.touch()
        rest = [json.loads(line) for line in lines]
    assert rest[-1]["type"] == "result" and rest[-1]["result"]["value"] == "released"
    assert served.process.wait(WAIT_S) == 0  # exits once the run is done, long before the grace is over


def test_sigterm_with_a_hung_tool_exits_within_the_grace(served_factory: list[Served]) -> None:
    grace = 2.0
    served = serve(served_factory, "--tools", f"{TOOLS}:handler", "--shutdown-grace", str(grace), "--timeout", "600000")
    with (
        httpx.Client(timeout=60.0) as client,
        client.stream("POST", f"{served.url}/v1/runs", json={"code": "return await callTool('hang', {});"}) as running,
    ):
        lines = running.iter_lines()
        assert json.loads(next(lines))["type"] == "tool_call"
        signalled = time.monotonic()
        served.process.send_signal(signal.SIGTERM)
        # Promise: the grace, then at most a second to close connections; the bound is 5x looser.
        assert served.process.wait(5 * (grace + 1.0)) == 0
        waited = time.monotonic() - signalled
        rest = []
        with contextlib.suppress(httpx.RemoteProtocolError):  # the connection closed mid-stream
            rest = [json.loads(line) for line in lines]
    assert all(event["type"] != "result" for event in rest)  # the run was cut off: no result
    assert waited >= grace  # the run in flight had its grace (the tool never returns: nothing else ends it)


def test_sigint_drains_too(served_factory: list[Served]) -> None:
    served = serve(served_factory, "--tools", f"{TOOLS}:handler")
    served.process.send_signal(signal.SIGINT)
    assert served.process.wait(WAIT_S) == 0


# ---- bad invocations ----
def run_cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(ENTRY), "serve", *args], capture_output=True, text=True, timeout=60, env=_env())


@pytest.mark.parametrize(
    ("target", "message"),
    [
        ("no_colon", "expected module:attribute"),
        (f"{TOOLS}:missing", "has no attribute 'missing'"),
        (f"{TOOLS}:not_a_handler", "expected a Toolset or a tool handler; got int"),
        ("no_such_module_xyz:tools", "cannot load no_such_module_xyz"),
    ],
)
def test_a_bad_tools_spec_is_a_clear_usage_error(target: str, message: str) -> None:
    done = run_cli("--tools", target, "--port", "0")
    assert done.returncode == EXIT_USAGE
    assert done.stderr.startswith("enclave-vm: error: --tools") and message in done.stderr


def test_tools_are_required() -> None:
    done = run_cli("--port", "0")
    assert done.returncode == EXIT_USAGE and "--tools" in done.stderr


def test_a_bad_token_file_is_a_usage_error(tmp_path: Path) -> None:
    missing = run_cli("--tools", f"{TOOLS}:handler", "--token-file", str(tmp_path / "none"), "--port", "0")
    assert missing.returncode == EXIT_USAGE and "cannot read it" in missing.stderr
    (tmp_path / "empty").write_text("\n")
    empty = run_cli("--tools", f"{TOOLS}:handler", "--token-file", str(tmp_path / "empty"), "--port", "0")
    assert empty.returncode == EXIT_USAGE and "is empty" in empty.stderr


def test_a_port_in_use_is_a_usage_error() -> None:
    with listen("127.0.0.1", 0) as taken:
        port = taken.getsockname()[1]
        done = run_cli("--tools", f"{TOOLS}:handler", "--port", str(port))
    assert done.returncode == EXIT_USAGE and f"cannot listen on 127.0.0.1:{port}" in done.stderr


@pytest.mark.parametrize("missing", ["starlette", "uvicorn", "prometheus_client"])
def test_without_the_server_extra_serve_says_what_to_install(missing: str) -> None:
    script = (
        f"import sys\nsys.modules[{missing!r}] = None  # as if not installed\n"
        "from enclave_vm.cli import main\n"
        f"main(['serve', '--tools', {str(TOOLS) + ':handler'!r}, '--port', '0'])\n"
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60)
    assert done.returncode == EXIT_UNAVAILABLE
    assert "pip install 'enclave-vm[server]'" in done.stderr and missing.split("_")[0] in done.stderr


def test_without_httpx_remote_enclave_says_what_to_install() -> None:
    script = "import sys\nsys.modules['httpx'] = None\nimport enclave_vm\nenclave_vm.RemoteEnclave\n"
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60)
    assert done.returncode == 1 and "ImportError: RemoteEnclave needs the server extra (httpx)" in done.stderr
