"""The sidecar of one Enclave (`Sidecar`: options, namespace, store) and of one run (`SidecarRun`:
offloads large tool results, resolves references in tool arguments and in the returned value, and
enforces the per-run limits)."""

from __future__ import annotations

import asyncio
import collections
import json
import threading
import time
from typing import Any

from ..config import (
    DEFAULT_SIDECAR_REDIS_TIMEOUT,
    DEFAULT_SIDECAR_THRESHOLD,
    DEFAULT_SIDECAR_TTL,
    SIDECAR_LEVEL_DEFAULTS,
    SecurityLevel,
    SidecarOptions,
)
from ..outcome import now as run_clock
from ..results import ErrorCode, ExecutionResult, make_error
from .memory_store import shared_memory_store
from .redis_store import RedisStore
from .references import REFERENCE_KEY, Reference, SidecarError, new_reference_id, replace_references
from .store import SidecarStore

# The same encoding as the bridge codec, so a result's size here is the size it would have in the engine.
_ENCODER = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"), allow_nan=False)
_CLEANUP_TIMEOUT_S = 1.0


def _utf8(text: str) -> bytes:
    return text.encode("utf-8", "surrogatepass")


class Sidecar:
    """Per Enclave: resolved options, the namespace and the store. Opened from `SidecarOptions`."""

    @classmethod
    def open(cls, options: SidecarOptions | None, level: SecurityLevel) -> Sidecar | None:
        return None if options is None or not options.enabled else cls(options, level)

    def __init__(self, options: SidecarOptions, level: SecurityLevel) -> None:
        limits = SIDECAR_LEVEL_DEFAULTS[level]
        self.threshold = DEFAULT_SIDECAR_THRESHOLD if options.threshold is None else options.threshold
        self.ttl = DEFAULT_SIDECAR_TTL if options.ttl is None else options.ttl
        self.max_stored_bytes = options.max_stored_bytes or limits.max_stored_bytes
        self.max_references = options.max_references or limits.max_references
        self.resolve_value = options.resolve_value
        self.timeout = (options.redis_timeout or DEFAULT_SIDECAR_REDIS_TIMEOUT) / 1000.0
        # A random namespace makes this Enclave's references private to it.
        self._private = options.namespace is None
        self.namespace = options.namespace or new_reference_id()
        self.store: SidecarStore
        if options.storage == "redis":
            assert options.redis_url is not None  # checked by SidecarOptions
            self.store = RedisStore(options.redis_url, int(self.timeout * 1000))
        else:
            self.store = shared_memory_store()
        self._created: collections.deque[tuple[float, str]] = collections.deque()  # (expiry, id), in expiry order
        self._lock = threading.Lock()

    def begin_run(self, deadline: float) -> SidecarRun:
        return SidecarRun(self, deadline)

    def remember(self, ref_id: str) -> None:
        if self._private:  # nobody else can resolve these, so they are deleted when the Enclave is disposed
            now = time.monotonic()
            with self._lock:
                while self._created and self._created[0][0] <= now:  # expired already: nothing to delete
                    self._created.popleft()
                self._created.append((now + self.ttl / 1000.0, ref_id))

    def close(self) -> None:
        with self._lock:
            created = [ref_id for _, ref_id in self._created]
            self._created.clear()
        try:
            if created:
                self.store.delete(self.namespace, created, _CLEANUP_TIMEOUT_S)
        except SidecarError:
            pass  # the TTL removes them anyway
        finally:
            self.store.close()


class SidecarRun:
    """The sidecar during one run. Called from the thread driving the run, so calls may block."""

    def __init__(self, sidecar: Sidecar, deadline: float) -> None:
        self._sidecar = sidecar
        self._deadline = deadline
        self.stored_bytes = 0
        self.references = 0

    def _timeout(self) -> float:
        return min(self._sidecar.timeout, max(self._deadline - run_clock(), 0.05))

    # ---- tool results ----
    def offload(self, value: Any, what: str) -> str | None:
        """The reference (as JSON) for a result over the threshold, stored host-side; None keeps it inline."""
        sidecar = self._sidecar
        try:
            text = _ENCODER.encode(value)
        except (TypeError, ValueError, RecursionError):
            return None  # not JSON data: the codec reports it as usual
        if len(text) * 4 <= sidecar.threshold:  # at most 4 UTF-8 bytes per character
            return None
        data = _utf8(text)
        if len(data) <= sidecar.threshold:
            return None
        if self.references + 1 > sidecar.max_references:
            raise SidecarError(
                f"{what}: this run already stored {self.references} results host-side "
                f"(sidecar.max_references = {sidecar.max_references})"
            )
        if self.stored_bytes + len(data) > sidecar.max_stored_bytes:
            raise SidecarError(
                f"{what} is {len(data)} bytes; storing it would take this run over "
                f"sidecar.max_stored_bytes ({sidecar.max_stored_bytes} bytes, {self.stored_bytes} already stored)"
            )
        ref_id = new_reference_id()
        sidecar.store.put(sidecar.namespace, ref_id, data, sidecar.ttl, self._timeout())
        sidecar.remember(ref_id)
        self.references += 1
        self.stored_bytes += len(data)
        return _ENCODER.encode(Reference(ref_id, len(data)).to_json())

    # ---- references coming back ----
    def resolve(self, value: Any, text: str, what: str) -> Any:
        """`value` (decoded from the JSON `text`) with every reference replaced by its stored value."""
        if REFERENCE_KEY not in text:  # JSON.stringify never escapes these characters
            return value
        limit = self._sidecar.max_stored_bytes
        loaded: dict[Reference, Any] = {}
        total = 0

        def load(reference: Reference) -> Any:
            # A script could repeat one reference many times: each distinct reference is decoded once,
            # and all occurrences together may stand for at most max_stored_bytes of data.
            nonlocal total
            total += reference.size
            if total > limit:
                raise SidecarError(
                    f"the references in it stand for more than sidecar.max_stored_bytes ({limit} bytes)",
                    reference=reference.id,
                )
            if reference not in loaded:
                loaded[reference] = self._load(reference)
            return loaded[reference]

        try:
            return replace_references(value, load)
        except SidecarError as exc:
            raise SidecarError(f"{what}: {exc.message}", reference=exc.reference) from None

    def _load(self, reference: Reference) -> Any:
        sidecar = self._sidecar
        data = sidecar.store.get(sidecar.namespace, reference.id, self._timeout())
        if data is None or len(data) != reference.size:
            # One message for unknown, expired and foreign ids: nothing about other namespaces leaks.
            raise SidecarError(
                f"unknown or expired sidecar reference {reference.id!r} "
                "(references resolve only in their namespace, until their ttl)",
                reference=reference.id,
            )
        return json.loads(data.decode("utf-8", "surrogatepass"))

    # ---- the returned value ----
    async def finish(self, result: ExecutionResult, value_json: str) -> None:
        """Resolve references in `result.value` (unless `resolve_value=False`); a bad one fails the run."""
        if not result.success or not self._sidecar.resolve_value or REFERENCE_KEY not in value_json:
            return
        # Still within the run's deadline: `timeout` is wall clock for the whole run, this step included.
        try:
            # Off the caller's loop: a Redis round trip and decoding a large value must not block it.
            result.value = await asyncio.to_thread(self.resolve, result.value, value_json, "the returned value")
        except SidecarError as exc:
            result.success = False
            result.value = None
            if run_clock() >= self._deadline:
                message = f"Execution timed out while resolving the returned value ({exc.message})"
                result.error = make_error(ErrorCode.TIMEOUT, message)
            else:
                result.error = make_error(ErrorCode.TOOL_ERROR, exc.message, data={"reference": exc.reference})
