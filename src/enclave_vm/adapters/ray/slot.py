"""The caller's handle on one engine actor: its start-up, its requests, its death.

An actor serves one run at a time, so at most one request is in flight, waited for by the run's driver
thread. Whoever finds the actor dead first (that thread, the adapter's death watch, a kill at the
deadline, dispose) marks it with the cause, and the adapter replaces it.

Every Ray call goes through the adapter's `RayGate`: Ray starts a new local cluster of its own (with
none of the loopback settings) when one of its calls comes after `ray.shutdown()`, so once the adapter
is disposed no call may reach Ray any more.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable, Iterator
from typing import Any

import ray
from ray.exceptions import GetTimeoutError, RayActorError, RayError

from ...outcome import ErrorCode, RunEnded
from ..worker_pool.process import crashed

#: The longest an actor may take to start (placed by Ray, its process started, its first context warm).
ACTOR_START_TIMEOUT_S = 60.0


class RayGate:
    """Lets Ray calls through until `close()`, which waits (bounded) for the calls in flight."""

    def __init__(self) -> None:
        self._condition = threading.Condition()
        self._calls = 0
        self._closed = False

    @contextlib.contextmanager
    def call(self) -> Iterator[bool]:
        """Yields whether the call may go to Ray (False once closed, or when Ray was shut down)."""
        with self._condition:
            allowed = not self._closed and ray.is_initialized()
            if allowed:
                self._calls += 1
        try:
            yield allowed
        finally:
            if allowed:
                with self._condition:
                    self._calls -= 1
                    self._condition.notify_all()

    def close(self, timeout: float) -> None:
        with self._condition:
            self._closed = True
            self._condition.wait_for(lambda: self._calls == 0, timeout)


class _RayGone(Exception):
    """The adapter was disposed, or Ray shut down under it: no call may reach Ray."""


class ActorUnavailable(Exception):
    """The actor was gone before the run's first message went out: the run may go elsewhere."""


class ActorSlot:
    def __init__(self, index: int, handle: Any, gate: RayGate, on_death: Callable[[ActorSlot, str], None]) -> None:
        self.index = index
        self.handle = handle
        self._gate = gate
        self._on_death = on_death
        self.ready_ref = handle.ready.remote()
        self.watch_ref = handle.watch.remote()
        self.ready = False
        self.pid = 0
        # Adapter bookkeeping (guarded by the adapter's lock).
        self.run: Any = None
        """The run this actor serves (the adapter's record), None while idle."""
        self.runs_served = 0
        self.retiring = False
        # Death.
        self.dead = False
        self.cause = ""
        """Why it died: "timeout", "protocol", "crash", "recycled", "start", "disposed" or
        "gone" (Ray was shut down under the adapter)."""
        self._death_lock = threading.Lock()

    def wait_ready(self) -> bool:
        """Block until the actor has started; False when it died or did not start in time (then it is dead)."""
        if self.ready:
            return True
        try:
            with self._gate.call() as allowed:
                if not allowed:
                    raise _RayGone()
                answer = ray.get(self.ready_ref, timeout=ACTOR_START_TIMEOUT_S)
        except GetTimeoutError:
            self.die("start")
            return False
        except _RayGone:
            self.die("gone")
            return False
        except RayError:
            self.die("crash")
            return False
        if isinstance(answer, list) and answer and isinstance(answer[0], int) and not isinstance(answer[0], bool):
            self.pid = answer[0]
        self.ready = True
        return True

    def request(self, message: list[Any], timeout: float, *, first: bool) -> Any:
        """Send one run message and wait for its answer at most `timeout` seconds: past that the actor is
        killed and the run ends TIMEOUT. `first` marks a run's start: an actor already gone then raises
        ActorUnavailable, so the run can go to another actor."""
        if self.dead:
            if first:
                raise ActorUnavailable()
            raise self.failure()
        try:
            with self._gate.call() as allowed:
                if not allowed:
                    raise _RayGone()
                ref = self.handle.handle.remote(message)
                return ray.get(ref, timeout=timeout)
        except GetTimeoutError:
            self.die("timeout")
            raise self.failure() from None
        except _RayGone:
            self.die("gone")
            raise self.failure() from None
        except RayActorError:
            self.die("crash")
            raise self.failure() from None
        except RayError:  # the call failed inside the actor, or its answer could not be read back
            self.die("protocol")
            raise self.failure() from None

    def send_close(self, message: list[Any]) -> None:
        """Tell the actor to drop a run it still holds (no answer is waited for)."""
        if self.dead:
            return
        with self._gate.call() as allowed, contextlib.suppress(Exception):
            if allowed:
                self.handle.handle.remote(message)

    def die(self, cause: str) -> bool:
        """Mark the actor dead, kill it and tell the adapter. False if it was dead already."""
        with self._death_lock:
            if self.dead:
                return False
            self.cause = cause
            self.dead = True
        self.kill()
        self._on_death(self, cause)
        return True

    def kill(self) -> None:
        with self._gate.call() as allowed, contextlib.suppress(Exception):  # dead already, or Ray is gone
            if allowed:
                ray.kill(self.handle, no_restart=True)

    def failure(self) -> RunEnded:
        """What the run on this dead actor ends with (drive() applies the deadline rule on top)."""
        if self.cause == "timeout":
            return RunEnded(ErrorCode.TIMEOUT, "Execution timed out")
        if self.cause == "disposed":
            return crashed("The Ray adapter was disposed during the run")
        if self.cause == "protocol":
            return crashed("The Ray actor broke the message protocol and was stopped")
        if self.cause == "gone":
            return crashed("Ray was shut down under the Ray adapter")
        if self.cause == "start":
            return crashed(f"The Ray actor did not start within {ACTOR_START_TIMEOUT_S:g}s")
        return crashed("The Ray actor died unexpectedly")
