"""What the sidecar needs from a storage backend. Calls block (they run on the thread driving a run)
and must give up after `timeout` seconds with a SidecarError, never hang."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Protocol


class SidecarStore(Protocol):
    def put(self, namespace: str, ref_id: str, data: bytes, ttl_ms: int, timeout: float) -> None:
        """Store `data` under (namespace, ref_id) for `ttl_ms` milliseconds."""
        ...

    def get(self, namespace: str, ref_id: str, timeout: float) -> bytes | None:
        """The stored bytes, or None if unknown or expired."""
        ...

    def delete(self, namespace: str, ref_ids: Iterable[str], timeout: float) -> None:
        """Forget these entries (best effort)."""
        ...

    def close(self) -> None:
        """Release connections and threads. Idempotent."""
        ...
