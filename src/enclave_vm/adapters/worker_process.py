"""The host's handle on one worker process: start-up, requests and their answers, death.

Several runs may be open on one worker. Each run's driver thread writes its request and waits for the
answer; answers come back strictly in request order, so the host keeps the requests in flight in a FIFO
and the first of them is the one the worker's engine is busy with. Whichever waiting thread gets the read
lock reads answers and hands each to its owner (leader/followers): a lone run reads its own answers, with
no extra thread hop on the latency path.

A worker that dies (killed by the pool, crashed, killed from outside, or sent something malformed) wakes
every waiting run at once; each gets the failure that matches why the worker died.
"""

from __future__ import annotations

import collections
import contextlib
import json
import os
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from ..bridge.framing import FrameError, FrameReader, PeerClosed, pack, write_all
from ..bridge.wire import WireError, answer_run
from ..engine.session import EngineTerminated
from ..outcome import now as run_clock

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
_PACKAGE_DIR = str(Path(__file__).resolve().parents[1])
#: A waiting follower re-checks its state this often even without a wake-up (a safety net only).
_FOLLOWER_RECHECK_S = 0.25
_READY_FRAME_BYTES = 1024
_MAX_WARM_S = 0.05


class WorkerUnavailable(Exception):
    """The worker was gone before it received the run's first message: the run may go elsewhere."""


class RunFailure(EngineTerminated):
    """The run ends with `code` (drive() turns it into the outcome), as decided on the host's side."""


def crashed(message: str) -> RunFailure:
    return RunFailure("RUNTIME_ERROR", message, "WorkerCrashedError")


class Mailbox:
    """Where one run's next answer lands, and how its driver thread is woken."""

    __slots__ = ("answer", "deadline", "max_frame", "max_tokens", "run", "signal")

    def __init__(self, run: int, deadline: float, max_frame: int, max_tokens: int | None = None) -> None:
        self.run = run
        self.deadline = deadline
        self.max_frame = max_frame
        self.max_tokens = max_tokens
        """Bound on an answer's structure outside strings (see framing.check_structure)."""
        self.answer: list[Any] | None = None
        self.signal = threading.Lock()  # held = nothing to wake up for; released = look again
        self.signal.acquire()

    def wake(self) -> None:
        try:  # noqa: SIM105 - on the hot path; contextlib.suppress costs more
            self.signal.release()
        except RuntimeError:  # already released: the owner has a wake-up pending
            pass


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
        self.open_runs = 0
        self.admitted = 0
        self.retiring = False
        self.idle_since = time.monotonic()
        self.warm_s = 0.0
        """How long the worker takes to prepare a fresh context (it does so whenever it has no run open)."""
        # Watchdog bookkeeping (manager thread only).
        self.watched_run = -1
        self.watched_since = 0.0
        # Death.
        self.dead = False
        self.cause = ""
        """Why it died: "timeout", "memory", "disposed", "protocol", "stopped" or "crash"."""
        self.culprit = -1
        """The run whose deadline made the pool kill the worker."""
        self._head_at_death: Mailbox | None = None
        self._death_lock = threading.Lock()
        self._write_lock = threading.Lock()
        self._read_lock = threading.Lock()
        self._inflight: collections.deque[Mailbox] = collections.deque()
        self._waiting: set[Mailbox] = set()
        self._reader: FrameReader | None = None
        self._write_fd = -1

    # ---- start-up (the pool's manager thread) ----
    def spawn(self, command: list[str] | None = None) -> None:
        """Start the process (`command` replaces the worker program, e.g. a stand-in in tests). Called on
        the pool's long-lived manager thread: on Linux the worker dies with the thread that started it."""
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
        warm = message[2]
        if isinstance(warm, (int, float)) and not isinstance(warm, bool):
            self.warm_s = min(max(float(warm), 0.0), _MAX_WARM_S)
        self.ready.set()
        return True

    # ---- requests (a run's driver thread) ----
    def request(self, box: Mailbox, frame: bytes, *, first: bool) -> list[Any]:
        """Send one request and wait for its answer. `first` marks a run's start: a worker that is already
        gone then raises WorkerUnavailable, so the run can be given to another worker."""
        self.send(box, frame, first=first)
        return self.wait(box, first=first)

    def send(self, box: Mailbox, frame: bytes, *, first: bool) -> None:
        with self._write_lock:
            if self.dead:
                if first:
                    raise WorkerUnavailable()
                raise self.failure(box)
            self._inflight.append(box)
            try:
                write_all(self._write_fd, frame)
            except OSError:
                self._inflight.remove(box)
                dead_already = self.dead
                self.die("crash")
                if first and not dead_already:
                    raise WorkerUnavailable() from None
                raise self.failure(box) from None

    def wait(self, box: Mailbox, *, first: bool) -> list[Any]:
        """The answer to the request `box` sent last."""
        if not first:
            return self._await(box)
        try:
            return self._await(box)
        except RunFailure:
            if box is not self._head_at_death:  # the engine never began this run: nothing of it ran
                raise WorkerUnavailable() from None
            raise

    def send_close(self, run: int) -> None:
        """Tell the worker to drop a run it still holds (no answer comes back)."""
        with self._write_lock:
            if self.dead:
                return
            try:
                write_all(self._write_fd, pack(["close", run]))
            except OSError:
                self.die("crash")

    def _await(self, box: Mailbox) -> list[Any]:
        while True:
            answer = box.answer
            if answer is not None:
                box.answer = None
                return answer
            if self.dead:
                raise self.failure(box)
            if self._read_lock.acquire(blocking=False):
                try:
                    self._lead(box)
                finally:
                    self._read_lock.release()
                    self._hand_over()
                continue
            self._waiting.add(box)
            try:
                box.signal.acquire(timeout=_FOLLOWER_RECHECK_S)
            finally:
                self._waiting.discard(box)

    def _lead(self, box: Mailbox) -> None:
        """Read answers, handing each to its owner, until `box` has one (or the worker is dead)."""
        reader = self._reader
        assert reader is not None
        while box.answer is None and not self.dead:
            try:
                head = self._inflight[0]
            except IndexError:
                return
            try:
                message = reader.read(head.max_frame, head.max_tokens)
                run = answer_run(message)
            except (PeerClosed, OSError):
                self.die("crash")
                return
            except (FrameError, WireError):  # it answered, but not with a well-formed frame
                self.die("protocol")
                return
            if run != head.run:
                self.die("protocol")
                return
            self._inflight.popleft()
            head.answer = message
            if head is not box:
                head.wake()

    def _hand_over(self) -> None:
        """After leaving the read lock: wake the owner of the next expected answer so someone reads it."""
        inflight = self._inflight
        if inflight:
            try:  # noqa: SIM105 - on the hot path
                inflight[0].wake()
            except IndexError:  # answered in between
                pass

    def head(self) -> Mailbox | None:
        """The request the worker's engine is busy with, if any."""
        try:
            return self._inflight[0]
        except IndexError:
            return None

    # ---- death ----
    def die(self, cause: str, culprit: int = -1) -> bool:
        """Mark the worker dead and SIGKILL it; wakes every waiting run. False if it was dead already."""
        with self._death_lock:
            if self.dead:
                return False
            self.cause = cause
            self.culprit = culprit
            self._head_at_death = self.head()
            self.dead = True
        self.kill()
        self.ready.set()
        for box in list(self._inflight) + list(self._waiting):
            box.wake()
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

    def failure(self, box: Mailbox) -> RunFailure:
        """What a run on this dead worker ends with."""
        if self.cause == "timeout" and (box.run == self.culprit or run_clock() >= box.deadline):
            return RunFailure("TIMEOUT", "Execution timed out")
        if run_clock() >= box.deadline:
            return RunFailure("TIMEOUT", "Execution timed out")
        if self.cause == "memory":
            return RunFailure(
                "MEMORY_LIMIT_EXCEEDED",
                f"The worker process passed its memory cap ({self.max_worker_memory} bytes) and was stopped",
            )
        if self.cause == "disposed":
            return crashed("The worker pool was disposed during the run")
        if self.cause == "timeout":
            return crashed("The worker process was stopped because another script on it overran its deadline")
        if self.cause == "protocol":
            return crashed("The worker process broke the message protocol and was stopped")
        return crashed(f"The worker process died unexpectedly ({self.exit_description()})")

    def exit_description(self) -> str:
        code = None
        if self.proc is not None:
            try:
                code = self.proc.wait(timeout=0.5)
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


_PAGE_SIZE = os.sysconf("SC_PAGE_SIZE") if hasattr(os, "sysconf") else 4096
