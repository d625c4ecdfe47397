"""Pausing a run: a tool raises `Suspend`; the run ends with a `Suspension` the host can resume later."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


class Suspend(Exception):
    """Raised by a tool to pause the run (for a human's approval, say). The run ends with
    `result.suspended` set; `Enclave.resume(token, value)` goes on, answering this call with `value`."""

    def __init__(self, reason: str, data: dict[str, Any] | None = None) -> None:
        if not isinstance(reason, str):
            raise TypeError(f"Suspend reason must be a str; got {type(reason).__name__}")
        if data is not None and not isinstance(data, dict):
            raise TypeError(f"Suspend data must be a dict or None; got {type(data).__name__}")
        super().__init__(reason)
        self.reason = reason
        self.data = data


@dataclass(frozen=True)
class Suspension:
    """A paused run: resume it with `Enclave.resume(token, value)` (once, before its TTL passes)."""

    token: str
    tool: str
    """The tool whose call paused the run."""
    args: dict[str, Any]
    reason: str
    data: dict[str, Any] | None = field(default=None)

    def to_dict(self) -> dict[str, Any]:
        return {"token": self.token, "tool": self.tool, "args": self.args, "reason": self.reason, "data": self.data}
