"""`Enclave.session()`: runs that share one `state`, threaded from run to run, optionally kept in a store
(memory or Redis) under a key and saved with optimistic concurrency."""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, Any

from ..results import ErrorCode, ExecutionResult, make_error
from .state_store import StateConflict, StateStore

if TYPE_CHECKING:
    from ..enclave import Enclave


class Session:
    """Each run starts from the state the previous one left (`session.state`); a failed run changes
    nothing. With a store, the state is loaded before each run and saved after a successful one; a
    concurrent writer makes the later run fail with RUNTIME_ERROR and nothing is saved."""

    def __init__(self, enclave: Enclave, state: Any = None, *, store: StateStore | None, key: str | None) -> None:
        if (store is None) != (key is None):
            raise ValueError("session(): store and key go together (give both or neither)")
        if key is not None and (not isinstance(key, str) or not key):
            raise ValueError("session(): key must be a non-empty str")
        self._enclave = enclave
        self._state = state
        self._store = store
        self._key = key

    @property
    def state(self) -> Any:
        """The latest state: what the last successful run left (or what the session started with)."""
        return self._state

    async def run(
        self,
        code: str,
        *,
        timeout: int | None = None,
        context: dict[str, Any] | None = None,
        max_tool_calls: int | None = None,
    ) -> ExecutionResult:
        state, version = self._state, 0
        if self._store is not None and self._key is not None:
            stored, version = await asyncio.to_thread(self._store.load, self._key)
            if version:
                state = stored
        result = await self._enclave.run(
            code, timeout=timeout, context=context, max_tool_calls=max_tool_calls, state=state
        )
        if not result.success:
            return result
        if self._store is not None and self._key is not None:
            try:
                await asyncio.to_thread(self._store.save, self._key, result.state, version)
            except StateConflict as exc:
                result.success, result.value, result.state = False, None, state
                result.error = make_error(
                    ErrorCode.RUNTIME_ERROR, f"State conflict: {exc}; nothing was saved", name="StateConflictError"
                )
                return result
        self._state = result.state
        return result

    def run_sync(
        self,
        code: str,
        *,
        timeout: int | None = None,
        context: dict[str, Any] | None = None,
        max_tool_calls: int | None = None,
    ) -> ExecutionResult:
        return self._enclave._sync_loop().run_until_complete(
            self.run(code, timeout=timeout, context=context, max_tool_calls=max_tool_calls)
        )
