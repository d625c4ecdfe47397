"""The engine side of one run in a worker process: an `EngineChannel` for drive().

Every answer is untrusted: the frame is capped before it is read, each field is type-checked
(`bridge.wire`), and the console lines and the returned value are checked against what an honest engine
can produce (`honest`). Anything else is a protocol violation: the worker is killed and the run ends
RUNTIME_ERROR (WorkerCrashedError).
"""

from __future__ import annotations

import threading
from typing import Any

from ...bridge.framing import pack
from ...bridge.protocol import LimitTripped, Settled, StartRequest, Step, ToolResult, ToolsRequested
from ...bridge.wire import close_message, settle_message, start_message
from ...outcome import RunEnded
from .honest import HonestAnswers
from .process import WorkerProcess, crashed


class DetachableChannel:
    """What a channel to an engine in another process knows of its run there: whether the engine holds a
    session for it, whether it waits for the host's tools, and whether the host let go of it (`detach`,
    `close`). Subclasses send the close message (`_send_close`)."""

    def __init__(self, run: int) -> None:
        self._run = run
        self._open = False
        """The engine holds a session for the run (closed by its last answer or by close())."""
        self.waiting_for_host = False
        """The last answer asked for tools: the engine waits for the host and nobody reads its answers."""
        self._detached = False
        self._lock = threading.Lock()
        """Orders a request against detach(): once detached, the channel never touches the engine again."""

    def _check_attached(self) -> None:
        """Under `_lock`, before a request goes out."""
        if self._detached:
            raise RunEnded("RUNTIME_ERROR", "The run has ended")

    def detach(self) -> bool:
        """Let go of the engine while the run waits for its tools (the run was given up on), so the engine
        can serve the next run. False when a request is already out: the engine is computing it."""
        with self._lock:
            if self._detached:
                return True
            if not self.waiting_for_host:
                return False
            self._detached = True
        self._close()
        return True

    def close(self) -> None:
        with self._lock:
            if self._detached:
                return
            self._detached = True
        self._close()

    def _close(self) -> None:
        if self._open:
            self._open = False
            self._send_close(close_message(self._run))

    def _send_close(self, message: list[Any]) -> None:
        raise NotImplementedError


class WorkerChannel(DetachableChannel):
    def __init__(self, worker: WorkerProcess, run: int, request: StartRequest) -> None:
        super().__init__(run)
        self.worker = worker
        self.request = request
        self._answers = HonestAnswers(request.limits, self._violation, "The worker process")
        self._started = False

    def send_start(self) -> None:
        """Send the start message now (start() then only waits for the answer)."""
        self._started = True
        self._open = True
        self.worker.send(pack(start_message(self._run, self.request)), first=True)

    def start(self) -> Step:
        if not self._started:
            self.send_start()
        return self._read()

    def settle(self, results: list[ToolResult]) -> Step:
        frame = pack(settle_message(self._run, results))
        with self._lock:
            self._check_attached()
            self.waiting_for_host = False
            self.worker.send(frame, first=False)
        return self._read()

    def _send_close(self, message: list[Any]) -> None:
        self.worker.send_close(pack(message))

    def _read(self) -> Step:
        answer = self.worker.read(self._run, self._answers.max_frame, self._answers.max_tokens)
        try:
            step = self._answers.step(answer)
        except RunEnded:
            self._open = False
            raise
        if isinstance(step, Settled | LimitTripped):
            self._open = False
        self.waiting_for_host = isinstance(step, ToolsRequested)
        return step

    def _violation(self, message: str) -> RunEnded:
        self._open = False
        self.worker.die("protocol")
        return crashed(message)
