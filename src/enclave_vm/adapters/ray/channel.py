"""The engine side of one run in a Ray actor: an `EngineChannel` for drive().

The actor answers with the frames a pool worker writes to its pipe, and they get the same checks: the
frame's size and structure are bounded before it is parsed, it must answer this run, and the answer goes
through `HonestAnswers`. Anything else kills the actor and the run ends RUNTIME_ERROR
(WorkerCrashedError). Each request waits at most to the run's deadline plus `DEADLINE_GRACE_S`: past
that the actor is killed and the run ends TIMEOUT.
"""

from __future__ import annotations

from typing import Any

from ...bridge.framing import FrameError, unpack
from ...bridge.protocol import LimitTripped, Settled, StartRequest, Step, ToolResult, ToolsRequested
from ...bridge.wire import WireError, answer_run, settle_message, start_message
from ...outcome import RunEnded
from ...outcome import now as run_clock
from ..worker_pool.adapter import DEADLINE_GRACE_S
from ..worker_pool.channel import DetachableChannel
from ..worker_pool.honest import HonestAnswers
from ..worker_pool.process import crashed
from .slot import ActorSlot


class RayChannel(DetachableChannel):
    def __init__(self, slot: ActorSlot, run: int, request: StartRequest) -> None:
        super().__init__(run)
        self.slot = slot
        self.request = request
        self._answers = HonestAnswers(request.limits, self._violation, "The Ray actor")

    def start(self) -> Step:
        message = start_message(self._run, self.request)
        message[5] = self.request.deadline - run_clock()  # seconds left: the actor's clock is its own
        with self._lock:
            self._check_attached()
            self._open = True
        return self._request(message, first=True)

    def settle(self, results: list[ToolResult]) -> Step:
        message = settle_message(self._run, results)
        with self._lock:
            self._check_attached()
            self.waiting_for_host = False
        return self._request(message, first=False)

    def _send_close(self, message: list[Any]) -> None:
        self.slot.send_close(message)

    def _request(self, message: list[Any], *, first: bool) -> Step:
        timeout = max(self.request.deadline - run_clock(), 0.0) + DEADLINE_GRACE_S
        try:
            frame = self.slot.request(message, timeout, first=first)
        except RunEnded:
            self._open = False
            raise
        try:
            answer = unpack(frame, self._answers.max_frame, self._answers.max_tokens)
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
