"""The in-process store: one per process, bounded in bytes and entries, entries expire after their TTL.

One store per process (not per Enclave) so that Enclaves given the same namespace share references,
exactly as they would through Redis; the default namespace is random per Enclave, so by default
nothing is shared. When full, expired entries go first, then the oldest ones (a dropped reference
resolves like an expired one).
"""

from __future__ import annotations

import collections
import threading
import time
from collections.abc import Iterable

from .references import SidecarError

MEMORY_STORE_MAX_BYTES = 1 << 30
MEMORY_STORE_MAX_ENTRIES = 100_000

_Key = tuple[str, str]


class MemoryStore:
    def __init__(self, max_bytes: int = MEMORY_STORE_MAX_BYTES, max_entries: int = MEMORY_STORE_MAX_ENTRIES) -> None:
        self.max_bytes = max_bytes
        self.max_entries = max_entries
        self._entries: collections.OrderedDict[_Key, tuple[float, bytes]] = collections.OrderedDict()
        self._bytes = 0
        self._lock = threading.Lock()

    @property
    def stored_bytes(self) -> int:
        return self._bytes

    def __len__(self) -> int:
        return len(self._entries)

    def put(self, namespace: str, ref_id: str, data: bytes, ttl_ms: int, timeout: float) -> None:
        if len(data) > self.max_bytes:
            raise SidecarError(f"a result of {len(data)} bytes does not fit the in-memory sidecar store")
        now = time.monotonic()
        with self._lock:
            self._drop_expired_front(now)
            if self._bytes + len(data) > self.max_bytes or len(self._entries) >= self.max_entries:
                self._drop_all_expired(now)
            while self._entries and (
                self._bytes + len(data) > self.max_bytes or len(self._entries) >= self.max_entries
            ):
                _, (_, old) = self._entries.popitem(last=False)
                self._bytes -= len(old)
            self._entries[(namespace, ref_id)] = (now + ttl_ms / 1000.0, data)
            self._bytes += len(data)

    def get(self, namespace: str, ref_id: str, timeout: float) -> bytes | None:
        key = (namespace, ref_id)
        with self._lock:
            entry = self._entries.get(key)
            if entry is None:
                return None
            if entry[0] <= time.monotonic():
                del self._entries[key]
                self._bytes -= len(entry[1])
                return None
            return entry[1]

    def delete(self, namespace: str, ref_ids: Iterable[str], timeout: float) -> None:
        with self._lock:
            for ref_id in ref_ids:
                entry = self._entries.pop((namespace, ref_id), None)
                if entry is not None:
                    self._bytes -= len(entry[1])

    def close(self) -> None:
        """The shared store outlives any one Enclave; nothing to release."""

    def _drop_expired_front(self, now: float) -> None:
        # Cheap, amortised: entries are mostly inserted in expiry order.
        while self._entries:
            key, (expires, data) = next(iter(self._entries.items()))
            if expires > now:
                return
            del self._entries[key]
            self._bytes -= len(data)

    def _drop_all_expired(self, now: float) -> None:
        for key in [key for key, (expires, _) in self._entries.items() if expires <= now]:
            _, data = self._entries.pop(key)
            self._bytes -= len(data)


_shared: MemoryStore | None = None
_shared_lock = threading.Lock()


def shared_memory_store() -> MemoryStore:
    """The process's in-memory sidecar store."""
    global _shared
    with _shared_lock:
        if _shared is None:
            _shared = MemoryStore()
        return _shared
