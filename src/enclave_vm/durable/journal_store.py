"""Where journals wait for their resume, keyed by a hash of the token (never the token itself).

A token is `<expiry in ms, hex>.<192 random bits>`: unguessable, and it says when it expires, so a missing
journal can be told apart as expired, used (a tombstone is kept until the expiry) or unknown. Taking a
journal is atomic: a token is used once, even by two processes racing for it.
"""

from __future__ import annotations

import hashlib
import secrets
import threading
import time
from typing import Any, Protocol


def new_token(ttl_ms: int) -> str:
    expires = int(time.time() * 1000) + ttl_ms
    return f"{expires:x}.{secrets.token_urlsafe(24)}"


def token_expiry_ms(token: str) -> int | None:
    head, _, tail = token.partition(".")
    if not tail:
        return None
    try:
        return int(head, 16)
    except ValueError:
        return None


def token_key(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def missing(token: str, used: bool) -> LookupError:
    """Why a token has no journal: used, expired or unknown."""
    if used:
        return LookupError("This durable-run token was already used: a paused run resumes once")
    expiry = token_expiry_ms(token)
    if expiry is not None and expiry <= time.time() * 1000:
        return LookupError("This durable-run token has expired")
    return LookupError("Unknown durable-run token")


class JournalStore(Protocol):
    def put(self, token: str, text: str, ttl_ms: int) -> None: ...

    def take(self, token: str) -> str:
        """The journal of `token`, removed atomically; LookupError naming why there is none."""
        ...

    def close(self) -> None: ...


class MemoryJournalStore:
    """Journals in this process: resumable by the same Enclave (or any sharing this store)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._entries: dict[str, tuple[float, str | None]] = {}
        """key → (expiry on time.monotonic, journal text or None once used)."""

    def put(self, token: str, text: str, ttl_ms: int) -> None:
        with self._lock:
            self._drop_expired()
            self._entries[token_key(token)] = (time.monotonic() + ttl_ms / 1000, text)

    def take(self, token: str) -> str:
        key = token_key(token)
        with self._lock:
            self._drop_expired()
            entry = self._entries.get(key)
            if entry is None or entry[1] is None:
                raise missing(token, used=entry is not None)
            self._entries[key] = (entry[0], None)
            return entry[1]

    def _drop_expired(self) -> None:
        now = time.monotonic()
        for key in [k for k, (expiry, _) in self._entries.items() if expiry <= now]:
            del self._entries[key]

    def close(self) -> None:
        with self._lock:
            self._entries.clear()


# Take the journal and leave a tombstone in one step, so a token is used once across processes.
_TAKE = """
local text = redis.call('GET', KEYS[1])
if not text then
  return {0, redis.call('EXISTS', KEYS[2])}
end
local ttl = redis.call('PTTL', KEYS[1])
redis.call('DEL', KEYS[1])
if ttl > 0 then redis.call('SET', KEYS[2], '1', 'PX', ttl) end
return {1, text}
"""


class RedisJournalStore:
    """Journals in Redis under `{namespace}:journal:<sha256 of the token>`, with the TTL as `PX`."""

    def __init__(self, url: str, namespace: str, timeout_s: float = 5.0) -> None:
        try:
            import redis
        except ImportError as exc:
            raise ImportError(
                "durable storage 'redis' needs the redis package: pip install 'enclave-vm[redis]'"
            ) from exc
        self._client: Any = redis.Redis.from_url(url, socket_timeout=timeout_s, socket_connect_timeout=timeout_s)
        self._namespace = namespace
        self._take = self._client.register_script(_TAKE)

    def _keys(self, token: str) -> tuple[str, str]:
        key = token_key(token)
        return f"{self._namespace}:journal:{key}", f"{self._namespace}:journal-used:{key}"

    def put(self, token: str, text: str, ttl_ms: int) -> None:
        self._client.set(self._keys(token)[0], text.encode("utf-8"), px=ttl_ms)

    def take(self, token: str) -> str:
        found, value = self._take(keys=list(self._keys(token)))
        if not found:
            raise missing(token, used=bool(value))
        return bytes(value).decode("utf-8", "replace")

    def close(self) -> None:
        self._client.close()
