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
from ...bridge.wire import close_message, read_fail, read_slice, settle_message, start_message
from ...outcome import RunEnded
from .honest import ConsoleBudget, frame_cap, is_json_value, token_cap
from .process import WorkerProcess, crashed


class WorkerChannel:
    def __init__(self, worker: WorkerProcess, run: int, request: StartRequest) -> None:
        limits = request.limits
        self.worker = worker
        self.request = request
        self._run = run
        self._max_frame = frame_cap(limits)
        self._max_tokens = token_cap(limits)
        self._max_value_bytes = limits.max_value_bytes
        self._max_stack_bytes = limits.max_stack_bytes
        self._console = ConsoleBudget(limits)
        self._open = False
        """The worker holds a session for the run (closed by its last answer or by close())."""
        self._started = False
        self.waiting_for_host = False
        """The last answer asked for tools: the worker waits for the host and nobody reads its pipe."""
        self._detached = False
        self._lock = threading.Lock()
        """Orders a request against detach(): once detached, the channel never touches the worker again."""

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
            if self._detached:
                raise RunEnded("RUNTIME_ERROR", "The run has ended")
            self.waiting_for_host = False
            self.worker.send(frame, first=False)
        return self._read()

    def detach(self) -> bool:
        """Let go of the worker while the run waits for its tools (the run was given up on), so the worker
        can serve the next run. False when a request is already out: the worker is computing it."""
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
            self.worker.send_close(pack(close_message(self._run)))

    def _read(self) -> Step:
        answer = self.worker.read(self._run, self._max_frame, self._max_tokens)
        if answer[0] == "fail":
            self._open = False
            try:
                code, message, name, stdout = read_fail(answer)
            except Exception:
                raise self._violation("The worker process broke the message protocol and was stopped") from None
            self._check_console(stdout)
            failure = RunEnded(code, message, name)
            failure.stdout = stdout
            raise failure
        try:
            step = read_slice(answer)
        except Exception:  # malformed answer: the worker cannot be trusted any more
            raise self._violation("The worker process broke the message protocol and was stopped") from None
        if isinstance(step, Settled | LimitTripped):
            self._open = False
        self._check_console(step.stdout)
        if isinstance(step, Settled) and step.final.ok and step.final.value_json:
            self._check_value(step.final.value_json)
        self.waiting_for_host = isinstance(step, ToolsRequested)
        return step

    def _violation(self, message: str) -> RunEnded:
        self._open = False
        self.worker.die("protocol")
        return crashed(message)

    def _check_value(self, value_json: str) -> None:
        """The engine returns JSON text within max_value_bytes (depth is not capped: the in-process engine
        returns deep values as they are)."""
        honest = len(value_json) <= self._max_value_bytes
        honest = honest and len(value_json.encode("utf-8", "surrogatepass")) <= self._max_value_bytes
        if not (honest and is_json_value(value_json, self._max_stack_bytes)):
            raise self._violation(
                "The worker process returned a value that is not JSON data within the limits and was stopped"
            )

    def _check_console(self, lines: list[Any]) -> None:
        """The engine caps console output itself; a worker that sends more is not honest."""
        if lines and not self._console.spend(lines):
            raise self._violation("The worker process sent more console output than the limits allow and was stopped")
