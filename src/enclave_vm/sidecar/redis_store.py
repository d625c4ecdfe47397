"""The Redis store: values live in a Redis server under a namespaced key with `PX` = the TTL, so several
host processes can resolve each other's references.

The async client (`redis.asyncio`) is bound to the event loop it was first used on, while the sidecar is
called from engine threads and from callers' loops that come and go (`run_sync` keeps a private loop per
thread; `asyncio.run()` makes a new one each time). So the store owns one event loop on a small daemon
thread and runs every Redis call there: one client, one connection pool, closed in one place. Every
call is bounded: socket timeouts on the client, `wait_for` on the loop, and a bounded wait by the caller.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import functools
import threading
from collections.abc import Awaitable, Callable, Iterable
from typing import Any, TypeVar

from .references import SidecarError

KEY_PREFIX = "enclave-vm:sidecar:"
_DELETE_BATCH = 500
_T = TypeVar("_T")


async def _delete(client: Any, keys: list[str]) -> int:
    return int(await client.delete(*keys))


def redis_key(namespace: str, ref_id: str) -> str:
    """The Redis key of a stored result (the id is fixed-length hex, so keys never collide across namespaces)."""
    return f"{KEY_PREFIX}{namespace}:{ref_id}"


class RedisStore:
    def __init__(self, url: str, timeout_ms: int) -> None:
        try:
            import redis.asyncio  # noqa: F401  (fail at construction, not mid-run)
        except ImportError as exc:
            raise ImportError(
                "sidecar.storage='redis' needs the redis package: pip install 'enclave-vm[redis]'"
            ) from exc
        self._url = url
        self._timeout = timeout_ms / 1000.0
        self._lock = threading.Lock()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._client: Any = None
        self._closed = False

    # ---- the store protocol ----
    def put(self, namespace: str, ref_id: str, data: bytes, ttl_ms: int, timeout: float) -> None:
        key = redis_key(namespace, ref_id)
        self._call(lambda client: client.set(key, data, px=ttl_ms), timeout)

    def get(self, namespace: str, ref_id: str, timeout: float) -> bytes | None:
        key = redis_key(namespace, ref_id)
        value = self._call(lambda client: client.get(key), timeout)
        return None if value is None else bytes(value)

    def delete(self, namespace: str, ref_ids: Iterable[str], timeout: float) -> None:
        keys = [redis_key(namespace, ref_id) for ref_id in ref_ids]
        for start in range(0, len(keys), _DELETE_BATCH):
            self._call(functools.partial(_delete, keys=keys[start : start + _DELETE_BATCH]), timeout)

    def pttl(self, namespace: str, ref_id: str) -> int:
        """Milliseconds the entry has left (-2: no such key), as Redis reports it."""
        key = redis_key(namespace, ref_id)
        return int(self._call(lambda client: client.pttl(key), self._timeout))

    def close(self) -> None:
        with self._lock:
            if self._closed:
                return
            self._closed = True
            loop, thread = self._loop, self._thread
        if loop is None or thread is None:
            return
        if self._client is not None:
            future = asyncio.run_coroutine_threadsafe(self._close_client(), loop)
            try:
                future.result(self._timeout)
            except Exception:  # closing is best effort; the loop goes away below anyway
                future.cancel()
        loop.call_soon_threadsafe(loop.stop)
        thread.join(self._timeout)
        if not thread.is_alive():
            loop.close()

    # ---- plumbing ----
    def _io_loop(self) -> asyncio.AbstractEventLoop:
        with self._lock:
            if self._closed:
                raise SidecarError("the sidecar's Redis store is closed")
            if self._loop is None:
                loop = asyncio.new_event_loop()
                thread = threading.Thread(target=loop.run_forever, name="enclave-sidecar-redis", daemon=True)
                thread.start()
                self._loop, self._thread = loop, thread
            return self._loop

    def _client_on_loop(self) -> Any:
        """The client, created on the I/O loop at first use (only ever touched from that loop)."""
        if self._client is None:
            from redis.asyncio import Redis
            from redis.asyncio.retry import Retry
            from redis.backoff import NoBackoff

            self._client = Redis.from_url(
                self._url,
                socket_timeout=self._timeout,
                socket_connect_timeout=self._timeout,
                retry=Retry(NoBackoff(), 1),  # one retry covers a pooled connection the server dropped
            )
        return self._client

    async def _close_client(self) -> None:
        client, self._client = self._client, None
        if client is not None:
            await client.aclose()

    def _call(self, operation: Callable[[Any], Awaitable[_T]], timeout: float) -> _T:
        from redis.exceptions import RedisError

        timeout = max(min(timeout, self._timeout), 0.001)

        async def bounded() -> _T:
            return await asyncio.wait_for(operation(self._client_on_loop()), timeout)

        future = asyncio.run_coroutine_threadsafe(bounded(), self._io_loop())
        try:
            return future.result(timeout + 0.5)
        except (TimeoutError, concurrent.futures.TimeoutError):
            future.cancel()
            raise SidecarError(f"sidecar storage (Redis) did not answer within {timeout * 1000:.0f} ms") from None
        except (RedisError, OSError) as exc:
            raise SidecarError(f"sidecar storage (Redis) failed: {type(exc).__name__}: {exc}") from None
