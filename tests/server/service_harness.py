"""A real service for the tests: `create_app()` served by uvicorn on 127.0.0.1 (a free port) in a thread,
ready once `/healthz` answers; tools that count their calls and can be held in flight."""

from __future__ import annotations

import asyncio
import json
import logging
import threading
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import httpx

from enclave_vm import Enclave, Suspend
from enclave_vm.server import ServiceApp, create_app
from enclave_vm.server.serve import ServiceServer, listen

READY_TIMEOUT_S = 30.0
STOP_TIMEOUT_S = 30.0
WAIT_S = 30.0
"""Bound of every wait on something the service does (generous: the machine is shared)."""


class ServerThread:
    """uvicorn serving `app` on 127.0.0.1 in a thread of this process."""

    def __init__(self, app: ServiceApp, *, shutdown_grace: float = 10.0) -> None:
        self.app = app
        self.sock = listen("127.0.0.1", 0)
        self.url = f"http://127.0.0.1:{self.sock.getsockname()[1]}"
        self.server = ServiceServer(app, shutdown_grace=shutdown_grace, log_config=None, log_level="warning")
        self._thread = threading.Thread(target=self.server.run, kwargs={"sockets": [self.sock]}, daemon=True)

    def start(self) -> None:
        self._thread.start()
        wait_until_healthy(self.url)

    def stop(self) -> None:
        self.server.should_exit = True
        self._thread.join(STOP_TIMEOUT_S)
        self.sock.close()
        assert not self._thread.is_alive(), "the server did not stop"

    def join(self, timeout: float) -> bool:
        """Wait for the server to stop by itself (a drain); True when it did."""
        self._thread.join(timeout)
        return not self._thread.is_alive()


def wait_until_healthy(url: str, timeout: float = READY_TIMEOUT_S) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            if httpx.get(f"{url}/healthz", timeout=5.0).status_code == 200:
                return
        except httpx.TransportError:
            pass
        if time.monotonic() > deadline:
            raise AssertionError(f"{url} did not become healthy within {timeout} s")
        time.sleep(0.05)  # polling a state with a bound, not waiting for one


@contextmanager
def serving(enclave: Enclave, **options: Any) -> Iterator[ServerThread]:
    """A running service of `enclave` (disposed afterwards); `options` go to `create_app()`."""
    grace = options.pop("shutdown_grace", 10.0)
    server = ServerThread(create_app(enclave, **options), shutdown_grace=grace)
    server.start()
    try:
        yield server
    finally:
        server.stop()
        enclave.dispose()


def poll(condition: Any, what: str, timeout: float = WAIT_S) -> None:
    """Wait (bounded) until `condition()` is true."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.01)


def ndjson(text: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in text.splitlines() if line.strip()]


def metric(url: str, name: str, labels: str = "") -> float:
    """The value of one sample of `/metrics` (0 when absent)."""
    wanted = f"{name}{{{labels}}}" if labels else name
    for line in httpx.get(f"{url}/metrics", timeout=10.0).text.splitlines():
        if line.startswith("#"):
            continue
        key, _, value = line.rpartition(" ")
        if key == wanted:
            return float(value)
    return 0.0


class Tools:
    """A tool handler that counts calls. `hold` blocks (in its thread) until `release` is set; `hold_async`
    waits on the loop until cancelled (then sets `cancelled`); `approve` pauses the run; `fail` raises;
    any other tool echoes its name, arguments and context."""

    def __init__(self) -> None:
        self.calls: Counter[str] = Counter()
        self.lock = threading.Lock()
        self.release = threading.Event()
        self.cancelled = threading.Event()
        self.held = threading.Semaphore(0)
        """Released once per `hold`/`hold_async` call that has started."""

    def __call__(self, name: str, args: dict[str, Any], context: Any) -> Any:
        with self.lock:
            self.calls[name] += 1
        if name == "hold":
            self.held.release()
            if not self.release.wait(WAIT_S):
                raise RuntimeError("never released")
            return {"released": True}
        if name == "hold_async":
            return self._hold_async()
        if name == "approve":
            raise Suspend("needs a human", {"args": args})
        if name == "fail":
            raise ValueError("the tool failed")
        return {"tool": name, "args": args, "context": context}

    async def _hold_async(self) -> Any:
        self.held.release()
        try:
            await asyncio.Event().wait()
        except asyncio.CancelledError:
            self.cancelled.set()
            raise

    def wait_held(self, n: int = 1) -> None:
        for _ in range(n):
            assert self.held.acquire(timeout=WAIT_S), "a held tool never started"


class ListHandler(logging.Handler):
    """Keeps the records of a logger."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


@contextmanager
def captured(logger_name: str) -> Iterator[ListHandler]:
    logger = logging.getLogger(logger_name)
    handler = ListHandler()
    previous = logger.level
    logger.addHandler(handler)
    logger.setLevel(logging.DEBUG)
    try:
        yield handler
    finally:
        logger.removeHandler(handler)
        logger.setLevel(previous)
