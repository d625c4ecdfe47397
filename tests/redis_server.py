"""A real, throwaway redis-server on a free loopback port, for tests that need Redis.

    with RedisServer.start() as server:
        server.url            # redis://127.0.0.1:<port>/0

`redis_server_fixture` is a session-scoped pytest fixture named `redis_server` built on it (import it into a
conftest).
A missing redis-server is a failure with an installation hint, never a skip.
"""

from __future__ import annotations

import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

MISSING = (
    "redis-server is not installed, and the sidecar tests need a real one; "
    "install the Debian package: apt-get install redis-server"
)
_START_TIMEOUT_S = 10.0


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _answers_ping(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5) as sock:
            sock.sendall(b"PING\r\n")
            return sock.recv(16).startswith(b"+PONG")
    except OSError:
        return False


class RedisServer:
    def __init__(self, process: subprocess.Popen[bytes], port: int, workdir: tempfile.TemporaryDirectory[str]) -> None:
        self.process = process
        self.port = port
        self.url = f"redis://127.0.0.1:{port}/0"
        self._workdir = workdir

    @classmethod
    def start(cls) -> RedisServer:
        binary = shutil.which("redis-server")
        if binary is None:
            raise RuntimeError(MISSING)
        last_error = ""
        for _ in range(3):  # the free port can be taken between probing and binding
            port = _free_port()
            workdir = tempfile.TemporaryDirectory(prefix="enclave-redis-")
            # No persistence, loopback only, no protected-mode surprises, quiet.
            command = [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
                       "--dir", workdir.name, "--loglevel", "warning"]  # fmt: skip
            log = Path(workdir.name) / "redis.log"
            with log.open("wb") as out:
                process = subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT)
            deadline = time.monotonic() + _START_TIMEOUT_S
            while time.monotonic() < deadline and process.poll() is None:
                if _answers_ping(port):
                    return cls(process, port, workdir)
                time.sleep(0.02)
            process.kill()
            process.wait()
            last_error = log.read_text(errors="replace")[-2000:]
            workdir.cleanup()
        raise RuntimeError(f"redis-server did not start: {last_error}")

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(5)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self._workdir.cleanup()

    def __enter__(self) -> RedisServer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


@pytest.fixture(scope="session", name="redis_server")
def redis_server_fixture() -> Iterator[RedisServer]:
    try:
        server = RedisServer.start()
    except RuntimeError as exc:
        pytest.fail(str(exc), pytrace=False)
    with server:
        yield server
