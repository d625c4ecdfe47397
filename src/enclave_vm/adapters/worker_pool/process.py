"""The host's handle on one worker process: start-up, one run's requests and answers, death.

A worker serves one run at a time, so at most one request is in flight and one thread reads its answer
pipe: the run's driver thread, while the worker computes. While the run's tools run (the worker waits
for the host and nobody reads), the pool's supervisor polls the pipe instead, so a death is noticed at
once either way.
"""

from __future__ import annotations

import contextlib
import json
import os
import select
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from ...bridge.framing import FrameError, FrameReader, PeerClosed, write_all
from ...bridge.wire import WireError, answer_run
from ...outcome import ErrorCode, RunEnded
from ...outcome import now as run_clock

#: How a worker process starts: a fresh interpreter in isolated mode that loads only the engine side of
#: the package (the package's public facade and its validator are never imported in a worker).
_BOOTSTRAP = (
    "import json, sys, types\n"
    "config = json.loads(sys.argv[1])\n"
    "sys.path[:0] = config['path']\n"
    "package = types.ModuleType('enclave_vm')\n"
    "package.__path__ = [config['package']]\n"
    "sys.modules['enclave_vm'] = package\n"
    "from enclave_vm.adapters.worker_main import main\n"
    "main(config)\n"
)
_PACKAGE_DIR = str(Path(__file__).resolve().parents[2])
_READY_FRAME_BYTES = 1024
_MAX_WARM_S = 0.05
#: How long the exit status of a worker whose pipe closed is waited for (it is SIGKILLed first).
_EXIT_STATUS_WAIT_S = 0.5

CRASHED = "WorkerCrashedError"


class WorkerUnavailable(Exception):
    """The worker was gone before it received the run's first message: the run may go elsewhere."""


def crashed(message: str) -> RunEnded:
    return RunEnded(ErrorCode.RUNTIME_ERROR, message, CRASHED)


class WorkerProcess:
    def __init__(self, index: int, max_worker_memory: int | None, on_death: Callable[[WorkerProcess], None]) -> None:
        self.index = index
        self.max_worker_memory = max_worker_memory
        self._on_death = on_death
        self.proc: subprocess.Popen[bytes] | None = None
        self.pid = 0
        self.ready = threading.Event()
        self.spawn_requested = time.monotonic()
        # Pool bookkeeping (guarded by the pool's lock).
        self.run: Any = None
        """The run this worker serves (the pool's record), None while idle."""
        self.runs_served = 0
        self.retiring = False
        self.idle_since = time.monotonic()
        self.warm_s = 0.0
        """How long the worker takes to prepare a fresh context (it does so after every run)."""
        self.computing_since: float | None = None
        """Run-clock time the request being computed was sent; None while the worker waits for the host."""
        # Death.
        self.dead = False
        self.cause = ""
        """Why it died: "timeout", "memory", "disposed", "protocol", "stopped" or "crash"."""
        self._death_lock = threading.Lock()
        self._write_lock = threading.Lock()
        self._reader: FrameReader | None = None
        self._write_fd = -1

    # ---- start-up (the pool's supervisor thread) ----
    def spawn(self, command: list[str] | None = None) -> None:
        """Start the process (`command` replaces the worker program, e.g. a stand-in in tests). Called on
        the pool's long-lived supervisor thread: on Linux the worker dies with the thread that started it."""
        config = {
            "path": [entry for entry in sys.path if entry and os.path.isabs(entry)],
            "package": _PACKAGE_DIR,
            "parent": os.getpid(),
            "max_worker_memory": self.max_worker_memory,
        }
        self.proc = subprocess.Popen(
            command or [sys.executable, "-I", "-c", _BOOTSTRAP, json.dumps(config)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            env={},  # nothing of the host's environment reaches a worker
            cwd="/",
            close_fds=True,
            bufsize=0,
        )
        assert self.proc.stdin is not None and self.proc.stdout is not None
        self.pid = self.proc.pid
        self._write_fd = self.proc.stdin.fileno()
        self._reader = FrameReader(self.proc.stdout.fileno())

    @property
    def answer_fd(self) -> int:
        return self._reader.fd if self._reader is not None else -1

    def read_ready(self) -> bool:
        """Read the worker's first frame (the fd is readable). False when it failed to start."""
        assert self._reader is not None
        try:
            message = self._reader.read(_READY_FRAME_BYTES)
        except (FrameError, OSError):
            return False
        if not (isinstance(message, list) and len(message) == 3 and message[0] == "ready"):
            return False
        if self._reader.buffered():  # nothing may follow the ready frame unasked
            return False
        warm = message[2]
        if isinstance(warm, (int, float)) and not isinstance(warm, bool):
            self.warm_s = min(max(float(warm), 0.0), _MAX_WARM_S)
        self.ready.set()
        return True

    # ---- one run's requests (its driver thread; a start may come from the caller's thread) ----
    def send(self, frame: bytes, *, first: bool) -> None:
        """Send one request. `first` marks a run's start: a worker that is already gone then raises
        WorkerUnavailable, so the run can be given to another worker."""
        with self._write_lock:
            if self.dead:
                if first:
                    raise WorkerUnavailable()
                raise self.failure()
            self.computing_since = run_clock()
            try:
                write_all(self._write_fd, frame)
            except OSError:
                self.computing_since = None
                dead_already = self.dead
                self.die("crash")
                if first and not dead_already:
                    raise WorkerUnavailable() from None
                raise self.failure() from None

    def read(self, run: int, max_frame: int, max_tokens: int) -> list[Any]:
        """The answer to the request in flight (see framing.check_structure for `max_tokens`)."""
        reader = self._reader
        assert reader is not None
        try:
            message = reader.read(max_frame, max_tokens)
            if answer_run(message) != run or reader.buffered():  # one answer per request, for this run
                raise WireError("not the answer to the request in flight")
        except (PeerClosed, OSError):
            self.die("crash")
            raise self.failure() from None
        except (FrameError, WireError):  # it answered, but not with one well-formed frame
            self.die("protocol")
            raise self.failure() from None
        self.computing_since = None
        return message  # type: ignore[no-any-return]

    def send_close(self, frame: bytes) -> None:
        """Tell the worker to drop a run it still holds (no answer comes back)."""
        with self._write_lock:
            if self.dead:
                return
            try:
                write_all(self._write_fd, frame)
            except OSError:
                self.die("crash")

    # ---- death ----
    def die(self, cause: str) -> bool:
        """Mark the worker dead and SIGKILL it (its pipe then reaches end-of-file, waking a reader).
        False if it was dead already."""
        with self._death_lock:
            if self.dead:
                return False
            self.cause = cause
            self.dead = True
        self.kill()
        self.ready.set()
        self._on_death(self)
        return True

    def kill(self) -> None:
        if self.proc is not None:
            with contextlib.suppress(OSError):
                self.proc.kill()

    def stop(self) -> None:
        """Ask an idle worker to exit: end-of-file on its stdin."""
        with self._death_lock:
            if self.dead:
                return
            self.cause = "stopped"
            self.dead = True
        if self.proc is not None and self.proc.stdin is not None:
            with contextlib.suppress(OSError):
                self.proc.stdin.close()

    def failure(self) -> RunEnded:
        """What the run on this dead worker ends with (drive() applies the deadline rule on top)."""
        if self.cause == "timeout":
            return RunEnded(ErrorCode.TIMEOUT, "Execution timed out")
        if self.cause == "memory":
            return RunEnded(
                ErrorCode.MEMORY_LIMIT_EXCEEDED,
                f"The worker process passed its memory cap ({self.max_worker_memory} bytes) and was stopped",
            )
        if self.cause == "disposed":
            return crashed("The worker pool was disposed during the run")
        if self.cause == "protocol":
            return crashed("The worker process broke the message protocol and was stopped")
        return crashed(f"The worker process died unexpectedly ({self.exit_description()})")

    def exit_description(self) -> str:
        code = None
        if self.proc is not None:
            _wait_for_exit(self.pid, _EXIT_STATUS_WAIT_S)
            try:
                code = self.proc.wait(timeout=_EXIT_STATUS_WAIT_S)
            except subprocess.TimeoutExpired:
                code = None
        if code is None:
            return "its pipe closed"
        if code < 0:
            return f"killed by signal {-code}"
        return f"exit status {code}"

    def rss(self) -> int | None:
        """Resident bytes of the process now (Linux /proc), None when unknown."""
        try:
            with open(f"/proc/{self.pid}/statm", "rb") as statm:
                return int(statm.read().split()[1]) * _PAGE_SIZE
        except (OSError, ValueError, IndexError):
            return None

    def reap(self) -> bool:
        """True once the process has exited and been waited for."""
        return self.proc is None or self.proc.poll() is not None

    def close_pipes(self) -> None:
        if self.proc is None:
            return
        for pipe in (self.proc.stdin, self.proc.stdout):
            if pipe is not None:
                with contextlib.suppress(OSError):
                    pipe.close()


def _wait_for_exit(pid: int, timeout: float) -> None:
    """Block until `pid` exits or `timeout` passes, woken by the exit itself where the platform has
    process file descriptors (Popen.wait with a timeout polls with growing sleeps, adding milliseconds)."""
    if not hasattr(os, "pidfd_open"):
        return
    try:
        fd = os.pidfd_open(pid)
    except OSError:  # exited and reaped already, or no pidfd support
        return
    try:
        poller = select.poll()
        poller.register(fd, select.POLLIN)
        poller.poll(timeout * 1000)
    finally:
        os.close(fd)


_PAGE_SIZE = os.sysconf("SC_PAGE_SIZE") if hasattr(os, "sysconf") else 4096
