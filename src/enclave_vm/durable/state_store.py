"""State that lives between runs (`Enclave.session(store=...)`): load before a run, save after it, with
optimistic concurrency — a save names the version it started from and fails if another writer got there
first."""

from __future__ import annotations

import json
import threading
from typing import Any, Protocol


class StateConflict(Exception):
    """Another writer saved the key since this run loaded it: nothing was saved."""


class StateStore(Protocol):
    def load(self, key: str) -> tuple[Any, int]:
        """(state, version); (None, 0) when the key was never saved."""
        ...

    def save(self, key: str, state: Any, expected_version: int) -> int:
        """Store `state` if the key is still at `expected_version`; return the new version, or raise
        StateConflict."""
        ...


class MemoryStateStore:
    """States in this process, shared by every session given the same store."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._states: dict[str, tuple[str, int]] = {}

    def load(self, key: str) -> tuple[Any, int]:
        with self._lock:
            found = self._states.get(key)
        return (None, 0) if found is None else (json.loads(found[0]), found[1])

    def save(self, key: str, state: Any, expected_version: int) -> int:
        text = json.dumps(state, ensure_ascii=False, allow_nan=False)
        with self._lock:
            current = self._states.get(key, ("", 0))[1]
            if current != expected_version:
                raise StateConflict(f"the state of {key!r} was saved by another writer (version {current})")
            self._states[key] = (text, current + 1)
            return current + 1


# Compare-and-set in one step: the hash holds the JSON (`s`) and its version (`v`).
_SAVE = """
local current = tonumber(redis.call('HGET', KEYS[1], 'v') or '0')
if current ~= tonumber(ARGV[1]) then return {0, current} end
redis.call('HSET', KEYS[1], 's', ARGV[2], 'v', current + 1)
if tonumber(ARGV[3]) > 0 then redis.call('PEXPIRE', KEYS[1], ARGV[3]) end
return {1, current + 1}
"""


class RedisStateStore:
    """States in Redis under `{namespace}:state:{key}`, saved with a compare-and-set on their version."""

    def __init__(self, url: str, *, namespace: str = "enclave-vm", ttl: int | None = None, timeout: int = 5000) -> None:
        try:
            import redis
        except ImportError as exc:
            raise ImportError("RedisStateStore needs the redis package: pip install 'enclave-vm[redis]'") from exc
        if not isinstance(url, str) or not url.startswith(("redis://", "rediss://", "unix://")):
            raise ValueError(f"RedisStateStore url must start with redis://, rediss:// or unix://; got {url!r}")
        if ttl is not None and (not isinstance(ttl, int) or ttl < 1):
            raise ValueError("RedisStateStore ttl must be a positive number of milliseconds or None")
        seconds = timeout / 1000
        self._client: Any = redis.Redis.from_url(url, socket_timeout=seconds, socket_connect_timeout=seconds)
        self._namespace = namespace
        self._ttl = ttl or 0
        self._save = self._client.register_script(_SAVE)

    def _key(self, key: str) -> str:
        return f"{self._namespace}:state:{key}"

    def load(self, key: str) -> tuple[Any, int]:
        found = self._client.hmget(self._key(key), "s", "v")
        if found[0] is None:
            return None, 0
        try:
            return json.loads(found[0]), int(found[1] or 0)
        except (ValueError, RecursionError):
            raise ValueError(f"the stored state of {key!r} is not JSON") from None

    def save(self, key: str, state: Any, expected_version: int) -> int:
        text = json.dumps(state, ensure_ascii=False, allow_nan=False)
        saved, version = self._save(keys=[self._key(key)], args=[expected_version, text, self._ttl])
        if not saved:
            raise StateConflict(f"the state of {key!r} was saved by another writer (version {int(version)})")
        return int(version)

    def close(self) -> None:
        self._client.close()
