"""The in-process store: one per process, bounded in bytes and entries, entries expire after their TTL.

One store per process (not per Enclave) so that Enclaves given the same namespace share references,
exactly as they would through Redis; the default namespace is random per Enclave, so by default
nothing is shared. When full, expired entries go first; then room is made in the namespace holding the
most (bytes, or entries when the entry count is the limit), oldest entries first. So one tenant filling
the store evicts its own references, not those of a tenant holding less. A dropped reference resolves
like an expired one.
"""

from __future__ import annotations

import collections
import threading
import time
from collections.abc import Iterable

from .references import SidecarError

MEMORY_STORE_MAX_BYTES = 1 << 30
MEMORY_STORE_MAX_ENTRIES = 100_000


class _Namespace:
    """One namespace's entries, oldest first: ref id -> (expiry on the monotonic clock, data)."""

    __slots__ = ("bytes", "entries")

    def __init__(self) -> None:
        self.entries: collections.OrderedDict[str, tuple[float, bytes]] = collections.OrderedDict()
        self.bytes = 0


class MemoryStore:
    def __init__(self, max_bytes: int = MEMORY_STORE_MAX_BYTES, max_entries: int = MEMORY_STORE_MAX_ENTRIES) -> None:
        self.max_bytes = max_bytes
        self.max_entries = max_entries
        self._spaces: dict[str, _Namespace] = {}
        self._bytes = 0
        self._count = 0
        self._lock = threading.Lock()

    @property
    def stored_bytes(self) -> int:
        return self._bytes

    def __len__(self) -> int:
        return self._count

    def put(self, namespace: str, ref_id: str, data: bytes, ttl_ms: int, timeout: float) -> None:
        if len(data) > self.max_bytes:
            raise SidecarError(f"a result of {len(data)} bytes does not fit the in-memory sidecar store")
        now = time.monotonic()
        with self._lock:
            space = self._spaces.get(namespace)
            if space is not None:
                self._drop_expired_front(namespace, space, now)
                self._remove(namespace, space, ref_id)
            if self._full(len(data)):
                self._drop_all_expired(now)
            while self._full(len(data)):
                self._evict_one(by_bytes=self._bytes + len(data) > self.max_bytes)
            space = self._spaces.get(namespace)
            if space is None:
                space = self._spaces[namespace] = _Namespace()
            space.entries[ref_id] = (now + ttl_ms / 1000.0, data)
            space.bytes += len(data)
            self._bytes += len(data)
            self._count += 1

    def get(self, namespace: str, ref_id: str, timeout: float) -> bytes | None:
        with self._lock:
            space = self._spaces.get(namespace)
            entry = space.entries.get(ref_id) if space is not None else None
            if space is None or entry is None:
                return None
            if entry[0] <= time.monotonic():
                self._remove(namespace, space, ref_id)
                return None
            return entry[1]

    def delete(self, namespace: str, ref_ids: Iterable[str], timeout: float) -> None:
        with self._lock:
            space = self._spaces.get(namespace)
            if space is None:
                return
            for ref_id in ref_ids:
                self._remove(namespace, space, ref_id)

    def close(self) -> None:
        """The shared store outlives any one Enclave; nothing to release."""

    # ---- internals (under the lock) ----
    def _full(self, incoming: int) -> bool:
        return self._count > 0 and (self._bytes + incoming > self.max_bytes or self._count >= self.max_entries)

    def _remove(self, namespace: str, space: _Namespace, ref_id: str) -> None:
        entry = space.entries.pop(ref_id, None)
        if entry is not None:
            self._forget(namespace, space, len(entry[1]))

    def _forget(self, namespace: str, space: _Namespace, size: int) -> None:
        space.bytes -= size
        self._bytes -= size
        self._count -= 1
        if not space.entries:
            del self._spaces[namespace]

    def _evict_one(self, *, by_bytes: bool) -> None:
        """Drop the oldest entry of the namespace holding the most bytes (or entries)."""
        if by_bytes:
            namespace = max(self._spaces, key=lambda name: self._spaces[name].bytes)
        else:
            namespace = max(self._spaces, key=lambda name: len(self._spaces[name].entries))
        space = self._spaces[namespace]
        _, (_, data) = space.entries.popitem(last=False)
        self._forget(namespace, space, len(data))

    def _drop_expired_front(self, namespace: str, space: _Namespace, now: float) -> None:
        # Cheap, amortised: a namespace's entries are mostly inserted in expiry order.
        while space.entries:
            ref_id, (expires, data) = next(iter(space.entries.items()))
            if expires > now:
                return
            del space.entries[ref_id]
            self._forget(namespace, space, len(data))

    def _drop_all_expired(self, now: float) -> None:
        for namespace, space in list(self._spaces.items()):
            for ref_id in [ref_id for ref_id, (expires, _) in space.entries.items() if expires <= now]:
                self._remove(namespace, space, ref_id)


_shared: MemoryStore | None = None
_shared_lock = threading.Lock()


def shared_memory_store() -> MemoryStore:
    """The process's in-memory sidecar store."""
    global _shared
    with _shared_lock:
        if _shared is None:
            _shared = MemoryStore()
        return _shared
