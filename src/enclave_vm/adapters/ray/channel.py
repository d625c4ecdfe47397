"""The engine side of one run in a Ray actor: an `EngineChannel` for drive().

The actor answers with the frames a pool worker writes to its pipe, and they get the same checks: the
frame's size and structure are bounded before it is parsed, it must answer this run, and the answer goes
through `HonestAnswers`. Anything else kills the actor and the run ends RUNTIME_ERROR
(WorkerCrashedError). Each request waits at most to the run's deadline plus `DEADLINE_GRACE_S`: past
that the actor is killed and the run ends TIMEOUT.
"""

from __future__ import annotations

import json
import threading
from typing import Any

from ...bridge.framing import HEADER_BYTES, FrameError, check_structure
from ...bridge.protocol import LimitTripped, Settled, StartRequest, Step, ToolResult, ToolsRequested
from ...bridge.wire import WireError, answer_run, close_message, settle_message, start_message
from ...outcome import RunEnded
from ...outcome import now as run_clock
from ..worker_pool.adapter import DEADLINE_GRACE_S
from ..worker_pool.honest import HonestAnswers
from ..worker_pool.process import crashed
from .slot import ActorSlot


def read_frame(frame: object, max_bytes: int, max_tokens: int) -> Any:
    """The message in one answer frame (4-byte length, then JSON); FrameError when it is not one frame
    within the caps (see framing.check_structure)."""
    if not isinstance(frame, bytes) or len(frame) < HEADER_BYTES:
        raise FrameError("an answer is one frame")
    size = int.from_bytes(frame[:HEADER_BYTES], "big")
    if size != len(frame) - HEADER_BYTES:
        raise FrameError("an answer is exactly one frame")
    if size > max_bytes:
        raise FrameError(f"frame of {size} bytes is over the cap of {max_bytes} bytes")
    body = frame[HEADER_BYTES:]
    check_structure(body, max_tokens)
    try:
        return json.loads(body)
    except RecursionError:
        raise FrameError("frame is nested too deeply") from None
    except ValueError as exc:
        raise FrameError(f"frame is not valid JSON: {exc}") from None


class RayChannel:
    def __init__(self, slot: ActorSlot, run: int, request: StartRequest) -> None:
        self.slot = slot
        self.request = request
        self._run = run
        self._answers = HonestAnswers(request.limits, self._violation, "The Ray actor")
        self._open = False
        """The actor holds a session for the run (closed by its last answer or by close())."""
        self.waiting_for_host = False
        """The last answer asked for tools: the actor waits for the caller."""
        self._detached = False
        self._lock = threading.Lock()
        """Orders a request against detach(): once detached, the channel never touches the actor again."""

    def start(self) -> Step:
        message = start_message(self._run, self.request)
        message[5] = self.request.deadline - run_clock()  # seconds left: the actor's clock is its own
        with self._lock:
            if self._detached:
                raise RunEnded("RUNTIME_ERROR", "The run has ended")
            self._open = True
        return self._request(message, first=True)

    def settle(self, results: list[ToolResult]) -> Step:
        message = settle_message(self._run, results)
        with self._lock:
            if self._detached:
                raise RunEnded("RUNTIME_ERROR", "The run has ended")
            self.waiting_for_host = False
        return self._request(message, first=False)

    def detach(self) -> bool:
        """Let go of the actor while the run waits for its tools (the run was given up on), so it can serve
        the next run. False when a request is out: the actor is computing it."""
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
            self.slot.send_close(close_message(self._run))

    def _request(self, message: list[Any], *, first: bool) -> Step:
        timeout = max(self.request.deadline - run_clock(), 0.0) + DEADLINE_GRACE_S
        try:
            frame = self.slot.request(message, timeout, first=first)
        except RunEnded:
            self._open = False
            raise
        try:
            answer = read_frame(frame, self._answers.max_frame, self._answers.max_tokens)
            if answer_run(answer) != self._run:  # one answer per request, for this run
                raise WireError("not the answer to the request in flight")
        except (FrameError, WireError):
            raise self._answers.broken() from None
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
        self.slot.die("protocol")
        return crashed(message)
