"""The one cut between the facade and where the engine runs.

An adapter receives plain values — the start request (instrumented program, globals as JSON, limits,
deadline) and a tool dispatcher that runs the host's tools for queued calls — and returns a plain
`RunOutcome`. It owns only the engine's lifetime and how messages move (a thread, a process, a VM);
validation, scoring, result models and error mapping stay in the facade.
"""

from __future__ import annotations

from typing import Protocol, runtime_checkable

from ..bridge.dispatch import ToolDispatcher
from ..bridge.protocol import RunOutcome, StartRequest


@runtime_checkable
class EnclaveAdapter(Protocol):
    async def execute(self, request: StartRequest, tools: ToolDispatcher) -> RunOutcome:
        """Run one script to its end. Must not raise for anything the script does, must return by
        `request.deadline` (plus a short grace) even when the engine is stuck, and must never let a
        tool call run after a terminal limit tripped."""
        ...

    def dispose(self) -> None:
        """Free engines and workers. Idempotent."""
        ...
