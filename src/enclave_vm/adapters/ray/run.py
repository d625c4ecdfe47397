"""One run's record in the Ray adapter."""

from __future__ import annotations

import asyncio
import dataclasses

from ...bridge.dispatch import ToolDispatcher
from ...bridge.driver import RunProgress
from ...bridge.protocol import RunOutcome, StartRequest
from ...outcome import ErrorCode, RunEnded, decide, timeout_message
from ...outcome import now as run_clock
from .channel import RayChannel
from .slot import ActorSlot


class RayRun:
    __slots__ = ("channel", "deadline", "id", "loop", "phase", "progress", "request", "slot", "tools", "waiter")

    def __init__(
        self,
        run_id: int,
        request: StartRequest,
        tools: ToolDispatcher,
        loop: asyncio.AbstractEventLoop,
        waiter: asyncio.Future[RunOutcome],
    ) -> None:
        self.id = run_id
        self.request = request
        self.tools = tools
        self.loop = loop
        self.waiter = waiter
        self.deadline = request.deadline
        """The run's deadline, moved later by the time it waited for its actor to start."""
        self.slot: ActorSlot | None = None
        self.phase = "queued"  # → "assigned" → "running" → "done" (guarded by the adapter's lock)
        self.channel: RayChannel | None = None
        self.progress: RunProgress | None = None
        """Set with the channel: what the run did so far, for an outcome built without its driver."""

    def open_channel(self, slot: ActorSlot) -> RayChannel:
        request = self.request
        if request.deadline != self.deadline:
            request = dataclasses.replace(request, deadline=self.deadline)
        self.channel = RayChannel(slot, self.id, request)
        self.progress = RunProgress(request)
        return self.channel

    def waits_for_tools(self) -> bool:
        """Whether the run's tools are running (its actor waits for the caller)."""
        channel = self.channel
        return channel is not None and channel.waiting_for_host

    def ended(self, reason: RunEnded) -> RunOutcome:
        """The outcome of a run that is given up on now, with what it did so far."""
        if self.progress is not None:
            return self.progress.failed(reason.code, reason.message, reason.name)
        code = decide(reason.code, run_clock(), self.deadline)
        message = timeout_message(self.request.limits.timeout_ms) if code is ErrorCode.TIMEOUT else reason.message
        name = "" if code is ErrorCode.TIMEOUT else reason.name
        return RunOutcome(ok=False, code=str(code), message=message, name=name)
