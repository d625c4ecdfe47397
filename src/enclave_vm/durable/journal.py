"""A durable run's journal: what a paused run did, so that a resume can run the script again and answer
every earlier tool call (and every Math.random()/Date value) exactly as the first time.

The journal is plain JSON: `{"format": 1, "body": {...}, "mac": hex | null}`. With a secret the `mac` is
an HMAC-SHA256 of the body, checked before anything of it is used; without one, the body's own checks
(format version, the script's hash, the options' fingerprint) still refuse a journal that does not fit.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from dataclasses import dataclass, field
from typing import Any, Literal

from ..bridge.protocol import ToolCall, ToolResult
from ..outcome import ErrorCode, RunEnded
from .suspend import Suspend

FORMAT_VERSION = 1
EntryKind = Literal["result", "paused", "again"]


class JournalError(Exception):
    """A journal that cannot be used: corrupt, tampered with, or recorded for another script or options."""


@dataclass(frozen=True)
class JournalEntry:
    """One tool call in call order: answered (`result`), the call that paused the run (`paused`), or one
    that also asked to pause and runs again after the resume (`again`)."""

    name: str
    args_json: str
    kind: EntryKind = "result"
    ok: bool = True
    payload: str = ""

    def to_list(self) -> list[Any]:
        return [self.name, self.args_json, self.kind, self.ok, self.payload]

    @classmethod
    def from_list(cls, item: object) -> JournalEntry:
        if not isinstance(item, list) or len(item) != 5:
            raise JournalError("a journal entry is [name, args, kind, ok, payload]")
        name, args_json, kind, ok, payload = item
        if not (isinstance(name, str) and isinstance(args_json, str) and isinstance(payload, str)):
            raise JournalError("a journal entry's name, arguments and payload are strings")
        if kind not in ("result", "paused", "again") or not isinstance(ok, bool):
            raise JournalError("a journal entry has an unknown kind")
        return cls(name, args_json, kind, ok, payload)


@dataclass(frozen=True)
class Journal:
    code: str
    fingerprint: str
    """Of the options the run depends on (`Enclave._durable_fingerprint`): another Enclave must match."""
    timeout: int
    max_tool_calls: int
    state_json: str | None
    calls: tuple[JournalEntry, ...]
    entropy: tuple[float, ...]

    def body(self) -> dict[str, Any]:
        return {
            "code": self.code,
            "code_sha256": hashlib.sha256(self.code.encode("utf-8")).hexdigest(),
            "fingerprint": self.fingerprint,
            "timeout": self.timeout,
            "max_tool_calls": self.max_tool_calls,
            "state": self.state_json,
            "calls": [entry.to_list() for entry in self.calls],
            "entropy": list(self.entropy),
        }

    def to_text(self, secret: bytes | None) -> str:
        body = json.dumps(self.body(), ensure_ascii=False, separators=(",", ":"), sort_keys=True)
        mac = hmac.new(secret, body.encode("utf-8"), hashlib.sha256).hexdigest() if secret else None
        return json.dumps({"format": FORMAT_VERSION, "body": body, "mac": mac}, ensure_ascii=False)

    @classmethod
    def from_text(cls, text: str | bytes, secret: bytes | None) -> Journal:
        try:
            outer = json.loads(text)
        except (ValueError, RecursionError):
            raise JournalError("the journal is corrupt (not JSON)") from None
        if not isinstance(outer, dict) or outer.get("format") != FORMAT_VERSION:
            raise JournalError(f"the journal is not in format {FORMAT_VERSION}")
        body_text = outer.get("body")
        if not isinstance(body_text, str):
            raise JournalError("the journal is corrupt (no body)")
        if secret is not None:
            mac = outer.get("mac")
            expected = hmac.new(secret, body_text.encode("utf-8"), hashlib.sha256).hexdigest()
            if not isinstance(mac, str) or not hmac.compare_digest(mac, expected):
                raise JournalError("the journal failed its integrity check (HMAC)")
        try:
            body = json.loads(body_text)
            code = body["code"]
            if not isinstance(code, str) or hashlib.sha256(code.encode("utf-8")).hexdigest() != body["code_sha256"]:
                raise JournalError("the journal's script does not match its hash")
            state = body["state"]
            entropy = body["entropy"]
            if state is not None and not isinstance(state, str):
                raise JournalError("the journal's state is not JSON text")
            if not isinstance(entropy, list) or not all(isinstance(v, int | float) for v in entropy):
                raise JournalError("the journal's recorded values are not numbers")
            timeout, max_tool_calls, fingerprint = body["timeout"], body["max_tool_calls"], body["fingerprint"]
            if not (isinstance(timeout, int) and isinstance(max_tool_calls, int) and isinstance(fingerprint, str)):
                raise JournalError("the journal's options are malformed")
            return cls(
                code=code,
                fingerprint=fingerprint,
                timeout=timeout,
                max_tool_calls=max_tool_calls,
                state_json=state,
                calls=tuple(JournalEntry.from_list(item) for item in body["calls"]),
                entropy=tuple(float(v) for v in entropy),
            )
        except (ValueError, RecursionError, KeyError, TypeError):
            raise JournalError("the journal is corrupt") from None


def mismatch(index: int, call: ToolCall, entry: JournalEntry | None) -> RunEnded:
    expected = "no further call" if entry is None else f"callTool('{entry.name}', ...)"
    return RunEnded(
        ErrorCode.RUNTIME_ERROR,
        f"The resumed script does not match its journal: call #{index + 1} is callTool('{call.name}', ...), "
        f"the journal has {expected}",
    )


@dataclass
class CallLog:
    """The tool calls of one durable run, in call order: replays a journal first, records everything."""

    max_bytes: int
    replay: tuple[JournalEntry, ...] = ()
    resume_answer: ToolResult | None = None
    """The answer of the journal's paused call (the value given to `resume`)."""
    entries: list[JournalEntry] = field(default_factory=list)
    paused: tuple[ToolCall, Suspend] | None = None
    _bytes: int = 0

    def answer(self, call: ToolCall, position: int) -> ToolResult | None:
        """The recorded answer of a call (`position` in its batch, whose calls are recorded together at its
        end), or None when it must run: past the journal, or a call that asked to pause beside the paused
        one. A call that differs from the journal ends the run."""
        index = len(self.entries) + position
        if index >= len(self.replay):
            return None
        entry = self.replay[index]
        if entry.name != call.name or entry.args_json != call.args_json:
            raise mismatch(index, call, entry)
        if entry.kind == "result":
            return ToolResult(call.id, entry.ok, entry.payload)
        if entry.kind == "paused" and self.resume_answer is not None:
            return ToolResult(call.id, self.resume_answer.ok, self.resume_answer.payload)
        return None

    def record(self, call: ToolCall, outcome: ToolResult | Suspend) -> None:
        """Append a call's outcome; the first `Suspend` is the run's pause, later ones run again."""
        if isinstance(outcome, Suspend):
            if self.paused is None:
                self.paused = (call, outcome)
                entry = JournalEntry(call.name, call.args_json, "paused")
            else:
                entry = JournalEntry(call.name, call.args_json, "again")
        else:
            entry = JournalEntry(call.name, call.args_json, "result", outcome.ok, outcome.payload)
        self._bytes += len(entry.name) + len(entry.args_json) + len(entry.payload) + 16
        if self._bytes > self.max_bytes:
            raise RunEnded(ErrorCode.MEMORY_LIMIT_EXCEEDED, f"The durable run's journal exceeds {self.max_bytes} bytes")
        self.entries.append(entry)

    def unreplayed(self) -> int:
        """Journal entries the script never asked for again (a resumed run must replay them all)."""
        return max(len(self.replay) - len(self.entries), 0)
