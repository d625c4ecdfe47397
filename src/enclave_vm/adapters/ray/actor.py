"""The Ray actor: a pool worker whose pipe is Ray. It serves the run protocol's messages with
`WireSessions` on one engine thread of its own, and answers each start or settle with the frame a pool
worker would write to its stdout.

Engine sessions have thread affinity and need a large C stack, so every session call runs on one
dedicated thread whose stack is sized with `engine_thread_stack_bytes()`; Ray's threads only hand
messages over. A start message's deadline arrives as seconds left (the caller's monotonic clock means
nothing on another machine) and is put on this process's clock when it arrives.

`watch()` never returns: the caller keeps one call of it pending per actor, which Ray fails as soon as
the actor dies, so a death is noticed even while the actor's run waits for its tools.
"""

from __future__ import annotations

import concurrent.futures
import contextlib
import os
import resource
import threading
import time
from collections.abc import Callable
from typing import Any

import ray

from ...engine.session import engine_thread_stack_bytes
from ..job_thread import JobThread
from ..wire_sessions import WireSessions

#: Ray concurrency groups: runs' messages one at a time, the death watch beside them.
CONCURRENCY_GROUPS = {"watch": 1}
_Work = Callable[[WireSessions], Any]
_Job = tuple[_Work, "concurrent.futures.Future[Any]"]


class EngineThread(JobThread[_Job]):
    """Owns the sessions: every job runs here, and the next run's context is warmed here while idle."""

    def __init__(self) -> None:
        super().__init__("enclave-ray-engine", engine_thread_stack_bytes())

    def call(self, work: _Work) -> Any:
        done: concurrent.futures.Future[Any] = concurrent.futures.Future()
        if not self.submit((work, done)):
            raise RuntimeError("the engine thread has stopped")
        return done.result()

    def serve(self) -> None:
        sessions = WireSessions()
        sessions.warm()
        while True:
            job = self.next_job()
            if job is None:
                sessions.close()
                return
            work, done = job
            try:
                done.set_result(work(sessions))
            except BaseException as exc:  # delivered to the Ray thread waiting for it
                done.set_exception(exc)
            sessions.release()  # after the answer is out: freeing a context takes longer than most scripts
            if not self._jobs:
                sessions.warm()


def rebased(message: list[Any]) -> list[Any]:
    """A start message whose deadline (seconds left on arrival) is put on this process's run clock."""
    if message and message[0] == "start":
        message = list(message)
        message[5] = time.monotonic() + float(message[5])
    return message


class EngineActor:
    def __init__(self) -> None:
        with contextlib.suppress(ValueError, OSError):
            resource.setrlimit(resource.RLIMIT_CORE, (0, 0))  # a crashing engine leaves no core file
        self._stopped = threading.Event()
        self._engine = EngineThread()
        self._engine.launch()

    def ready(self) -> list[Any]:
        """[pid, seconds the first warm context took]: once this answers, runs start at once."""
        started = time.perf_counter()
        self._engine.call(lambda sessions: sessions.warm())
        return [os.getpid(), time.perf_counter() - started]

    def handle(self, message: list[Any]) -> bytes | None:
        """The answer frame to one run message (None for a close)."""
        message = rebased(message)
        frame: bytes | None = self._engine.call(lambda sessions: sessions.answer(message))
        return frame

    @ray.method(concurrency_group="watch")
    def watch(self) -> None:
        self._stopped.wait()
