"""An Enclave's durable runs: where their journals go when a tool pauses a run, and how a resume gets its
journal back (checked before anything of it is used)."""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass
from typing import Any

from ..bridge.protocol import PausedCall, ToolResult
from ..config import DurableOptions
from .journal import CallLog, Journal, JournalError
from .journal_store import JournalStore, MemoryJournalStore, RedisJournalStore, new_token
from .suspend import Suspension


@dataclass(frozen=True)
class Replay:
    """What a resumed run replays: its journal, and the answer for the call that paused it."""

    journal: Journal
    answer: ToolResult


class DurableRuns:
    def __init__(self, options: DurableOptions, fingerprint: str) -> None:
        self.options = options
        self.fingerprint = fingerprint
        self._store: JournalStore = (
            RedisJournalStore(options.redis_url, options.namespace)
            if options.storage == "redis" and options.redis_url
            else MemoryJournalStore()
        )

    def call_log(self, replay: Replay | None) -> CallLog:
        if replay is None:
            return CallLog(self.options.max_journal_bytes)
        return CallLog(self.options.max_journal_bytes, replay.journal.calls, replay.answer)

    async def pause(
        self,
        *,
        code: str,
        timeout: int,
        max_tool_calls: int,
        state_json: str | None,
        log: CallLog,
        entropy: list[float],
        paused: PausedCall,
    ) -> Suspension:
        """Store the journal of a paused run and hand out its token."""
        journal = Journal(
            code=code,
            fingerprint=self.fingerprint,
            timeout=timeout,
            max_tool_calls=max_tool_calls,
            state_json=state_json,
            calls=tuple(log.entries),
            entropy=tuple(entropy),
        )
        token = new_token(self.options.ttl)
        text = journal.to_text(self.options.secret_bytes)
        await asyncio.to_thread(self._store.put, token, text, self.options.ttl)
        args: Any = json.loads(paused.args_json)
        return Suspension(token=token, tool=paused.name, args=args, reason=paused.reason, data=paused.data)

    async def take(self, token: str) -> Journal:
        """The journal of `token` (used up by this call). LookupError when there is none (unknown, used,
        expired); JournalError when it cannot be used (corrupt, tampered, other script or options)."""
        if not isinstance(token, str) or not token:
            raise TypeError("token must be a non-empty str")
        text = await asyncio.to_thread(self._store.take, token)
        journal = Journal.from_text(text, self.options.secret_bytes)
        if journal.fingerprint != self.fingerprint:
            raise JournalError("the paused run was recorded with other options (security level, limits or globals)")
        return journal

    def close(self) -> None:
        self._store.close()
