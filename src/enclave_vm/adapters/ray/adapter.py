"""The Ray adapter: scheduling runs on engine actors, giving up on runs, replacing actors, its bookkeeping.

An actor serves one run at a time, so a kill only ever ends the run that caused it. A run goes to an idle
actor (a started one first), else it waits in the adapter's queue (FIFO, bounded: a full queue is a clean
error) and its deadline keeps running there. The time a run waits for its actor to start is not charged
to it. Every actor that dies or is retired is replaced at once, so the adapter keeps `num_actors`.
"""

from __future__ import annotations

import asyncio
import atexit
import collections
import contextlib
import itertools
import threading
import weakref
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import ray

from ...bridge.dispatch import ToolDispatcher
from ...bridge.driver import drive
from ...bridge.protocol import RunOutcome, StartRequest
from ...outcome import ErrorCode, RunEnded, timeout_message
from ...outcome import now as run_clock
from ..worker_pool.adapter import BACKSTOP_S, DEADLINE_GRACE_S, DEFAULT_MAX_QUEUE, SYNC_TOOL_GRACE_S, TICK_S
from ..worker_pool.process import CRASHED
from ..worker_pool.run import deliver, failed
from . import local
from .actor import CONCURRENCY_GROUPS, EngineActor
from .drivers import DriverThread
from .run import RayRun
from .slot import ActorSlot, ActorUnavailable, RayGate

#: How often the death watch looks for actors started since it last waited.
WATCH_TICK_S = 0.5
#: How long dispose() waits for Ray to report its actors dead.
STOP_TIMEOUT_S = 5.0
_MAX_IDLE_DRIVERS = 16
_MAX_START_ATTEMPTS = 3
_DISPOSED = "RayAdapterDisposedError"
#: Actor options the adapter sets itself: an actor restarted by Ray would have lost its runs' sessions,
#: one that runs messages out of order breaks the protocol, and one that outlives its caller (detached,
#: or shared by name) would never be killed.
RESERVED_ACTOR_OPTIONS = frozenset(
    {
        "max_restarts",
        "max_task_retries",
        "max_concurrency",
        "concurrency_groups",
        "allow_out_of_order_execution",
        "lifetime",
        "name",
        "get_if_exists",
    }
)
_COUNTED = {"timeout": "timeout_kills", "protocol": "crashes", "crash": "crashes", "start": "crashes"}


@dataclass(frozen=True)
class RayAdapterStats:
    num_actors: int
    actors: dict[str, int]
    """Live actors by state: "starting", "idle", "busy" (serving a run)."""
    queue_length: int
    """Runs waiting for an actor."""
    runs_in_flight: int
    runs: int
    """Runs finished (any outcome)."""
    started: int
    """Actors created (the first ones and their replacements)."""
    replacements: int
    """Actors created in place of one that died or was retired."""
    kills: int
    """Actors the adapter killed for overrunning a deadline (timeout_kills)."""
    timeout_kills: int
    crashes: int
    """Actors that died on their own or from outside, broke the protocol or did not start."""
    recycles: int
    """Actors retired after max_executions_per_actor runs."""
    rejected: int
    """Runs refused because the queue was full."""


class RayAdapter:
    """Runs each script's engine in a Ray actor; its tools run here. `stats()` says what it is doing."""

    def __init__(
        self,
        num_actors: int = 2,
        *,
        address: str | None = None,
        actor_options: Mapping[str, Any] | None = None,
        max_executions_per_actor: int | None = None,
        max_queue: int = DEFAULT_MAX_QUEUE,
    ) -> None:
        if isinstance(num_actors, bool) or not isinstance(num_actors, int) or num_actors < 1:
            raise ValueError(f"num_actors must be a positive int, got {num_actors!r}")
        if max_executions_per_actor is not None and (
            isinstance(max_executions_per_actor, bool)
            or not isinstance(max_executions_per_actor, int)
            or max_executions_per_actor < 1
        ):
            raise ValueError(
                f"max_executions_per_actor must be a positive int or None, got {max_executions_per_actor!r}"
            )
        if address is not None and (not isinstance(address, str) or not address):
            raise ValueError(f"address must be a Ray address such as 'ray://host:10001' or None, got {address!r}")
        if max_queue < 0:
            raise ValueError("max_queue must be >= 0")
        options = dict(actor_options or {})
        reserved = sorted(set(options) & RESERVED_ACTOR_OPTIONS)
        if reserved:
            raise ValueError(f"actor_options: {', '.join(reserved)} cannot be set (the Ray adapter sets them)")
        self.num_actors = num_actors
        self.max_executions_per_actor = max_executions_per_actor
        self.max_queue = max_queue
        self._lock = threading.Lock()
        self._slots: list[ActorSlot] = []
        self._queue: collections.deque[RayRun] = collections.deque()
        self._idle_drivers: list[DriverThread] = []
        self._run_ids = itertools.count(1)
        self._actor_ids = itertools.count(1)
        self._driver_ids = itertools.count(1)
        self._in_flight = 0
        self._counts = dict.fromkeys(
            ("runs", "started", "replacements", "timeout_kills", "crashes", "recycles", "rejected"), 0
        )
        self._disposed = False
        self._all_slots: list[ActorSlot] = []
        """The actors started and not yet reported dead by Ray (the death watch waits on each)."""
        self._gate = RayGate()
        self._wake = threading.Event()
        self._watcher: threading.Thread | None = None
        local.acquire(address)
        try:
            # Ray takes concurrency groups only here, not in .options(); its type hints do not list them.
            actor_class = ray.remote(concurrency_groups=CONCURRENCY_GROUPS)(EngineActor)  # type: ignore[call-overload]
            self._actor_class = actor_class.options(max_restarts=0, max_task_retries=0, **options)
            with self._lock:
                for _ in range(num_actors):
                    self._new_slot(replacing=False)
        except BaseException:
            self._disposed = True
            self._kill_all()
            local.release()
            raise
        self._watcher = threading.Thread(target=self._watch, name="enclave-ray-watch", daemon=True)
        self._watcher.start()
        _LIVE_ADAPTERS.add(self)

    # ---- the adapter protocol ----
    async def execute(self, request: StartRequest, tools: ToolDispatcher) -> RunOutcome:
        loop = asyncio.get_running_loop()
        waiter: asyncio.Future[RunOutcome] = loop.create_future()
        run = RayRun(next(self._run_ids), request, tools, loop, waiter)
        with self._lock:
            if self._disposed:
                return failed("RUNTIME_ERROR", "The Ray adapter has been disposed", _DISPOSED)
            admitted = self._assign(run)
            if not admitted and len(self._queue) >= self.max_queue:
                self._counts["rejected"] += 1
                return failed(
                    "RUNTIME_ERROR",
                    f"The Ray adapter is saturated: {len(self._queue)} runs are already waiting",
                    "QueueFullError",
                )
            if not admitted:
                self._queue.append(run)
            self._in_flight += 1
        if admitted:
            self._dispatch(run)
        timer = loop.call_later(max(run.deadline + SYNC_TOOL_GRACE_S - run_clock(), 0), self._expire, run)
        try:
            return await waiter
        finally:
            timer.cancel()
            if waiter.cancelled():  # the caller gave up: a queued run never starts, a run in its tools lets go
                self._cancelled(run)

    def stats(self) -> RayAdapterStats:
        with self._lock:
            states = dict.fromkeys(("starting", "idle", "busy"), 0)
            for slot in self._slots:
                if slot.run is not None:
                    states["busy"] += 1
                elif not slot.ready:
                    states["starting"] += 1
                else:
                    states["idle"] += 1
            counts = dict(self._counts)
        return RayAdapterStats(
            num_actors=self.num_actors,
            actors=states,
            queue_length=len(self._queue),
            runs_in_flight=self._in_flight,
            kills=counts["timeout_kills"],
            **counts,
        )

    def actor_handles(self) -> list[Any]:
        """Handles of the live actors (for monitoring)."""
        with self._lock:
            return [slot.handle for slot in self._slots if not slot.dead]

    def actor_pids(self) -> list[int]:
        """Process ids of the live actors that have started (on their nodes)."""
        with self._lock:
            return [slot.pid for slot in self._slots if slot.ready and not slot.dead]

    def dispose(self) -> None:
        with self._lock:
            if self._disposed:
                return
            self._disposed = True
            slots, self._slots = self._slots, []
            queued, self._queue = list(self._queue), collections.deque()
            drivers, self._idle_drivers = self._idle_drivers, []
        _LIVE_ADAPTERS.discard(self)
        for run in queued:
            self._finish(run, failed("RUNTIME_ERROR", "The Ray adapter was disposed", _DISPOSED))
        for slot in slots:
            slot.die("disposed")
        for driver in drivers:
            driver.submit(None)
        self._kill_all()
        self._wake.set()
        if self._watcher is not None and self._watcher is not threading.current_thread():
            self._watcher.join(timeout=STOP_TIMEOUT_S)
        self._gate.close(STOP_TIMEOUT_S)  # runs in flight see their actor dead at once
        local.release()

    def _kill_all(self) -> None:
        """Kill every actor not known dead yet and wait (bounded) until Ray reports each one dead."""
        with self._lock:
            every = list(self._all_slots)
        for slot in every:
            slot.kill()
        watches = [slot.watch_ref for slot in every]
        with self._gate.call() as allowed, contextlib.suppress(Exception):  # Ray is gone: so are its actors
            if allowed and watches:
                ray.wait(watches, num_returns=len(watches), timeout=STOP_TIMEOUT_S)

    # ---- actors ----
    def _new_slot(self, *, replacing: bool) -> ActorSlot:
        """Start an actor (under self._lock)."""
        slot = ActorSlot(next(self._actor_ids), self._actor_class.remote(), self._gate, self._on_death)
        self._slots.append(slot)
        self._all_slots.append(slot)
        self._counts["started"] += 1
        if replacing:
            self._counts["replacements"] += 1
        return slot

    def _on_death(self, slot: ActorSlot, cause: str) -> None:
        """An actor died (it is killed already): its place is filled at once; a run waiting for its tools
        on it ends now (its driver thread may be in a sync tool). A run whose driver thread found the
        death itself ends there."""
        with self._lock:
            if slot in self._slots:
                self._slots.remove(slot)
            key = _COUNTED.get(cause, "")
            if key:
                self._counts[key] += 1
            # At once, unless it never started (Ray cannot start actors here: a new one starts for the
            # next run that needs it, rather than in a loop).
            if not self._disposed and cause not in ("disposed", "gone") and (slot.ready or slot.run is not None):
                self._new_slot(replacing=True)
            run = slot.run
            ready = self._take_queued()
        if run is not None and run.phase == "running" and run.waits_for_tools():
            self._give_up(run, slot.failure())
        for other in ready:
            self._dispatch(other)

    def _watch(self) -> None:
        """The death watch: each actor keeps one `watch()` call pending, which Ray fails once the actor is
        dead. An actor stays watched until then, even after the adapter killed it."""
        while True:
            with self._lock:
                if self._disposed:
                    return
                watched = {slot.watch_ref: slot for slot in self._all_slots}
            if not watched:
                self._wake.wait(WATCH_TICK_S)
                continue
            with self._gate.call() as allowed:
                if not allowed:
                    return
                try:
                    done, _ = ray.wait(list(watched), num_returns=1, timeout=WATCH_TICK_S)
                except Exception:  # Ray was shut down under the adapter
                    return
            for ref in done:
                slot = watched[ref]
                with self._lock:
                    if slot in self._all_slots:
                        self._all_slots.remove(slot)
                slot.die("crash")  # no-op when it was killed here

    # ---- scheduling (under self._lock) ----
    def _assign(self, run: RayRun) -> bool:
        """Give `run` an idle actor, a started one first (starting one if there is room); False when it
        has to wait."""
        best: ActorSlot | None = None
        for slot in self._slots:
            if slot.dead or slot.retiring or slot.run is not None:
                continue
            if slot.ready:
                best = slot
                break
            best = best or slot
        if best is None:
            if len(self._slots) >= self.num_actors:
                return False
            best = self._new_slot(replacing=True)  # in place of one that never started
        best.run = run
        best.runs_served += 1
        limit = self.max_executions_per_actor
        if limit is not None and best.runs_served >= limit:
            best.retiring = True  # no further runs; it is replaced once this one is done
        run.slot = best
        run.phase = "assigned"
        return True

    def _take_queued(self) -> list[RayRun]:
        """Assign waiting runs while there are idle actors; the caller dispatches them."""
        assigned: list[RayRun] = []
        while self._queue and not self._disposed:
            run = self._queue[0]
            if run.waiter.done():
                self._queue.popleft()
                self._drop(run)
                continue
            if not self._assign(run):
                break
            self._queue.popleft()
            assigned.append(run)
        return assigned

    def _drop(self, run: RayRun) -> None:
        """A run taken out of the queue without ever starting is over (its caller is not waiting)."""
        if run.phase != "done":
            run.phase = "done"
            self._in_flight -= 1
            self._counts["runs"] += 1

    def _release(self, slot: ActorSlot, run: RayRun) -> tuple[list[RayRun], ActorSlot | None]:
        """`run` let go of `slot`: returns the waiting runs that can go now and an actor to retire."""
        retired = None
        if slot.run is run:
            slot.run = None
            if slot.retiring and not slot.dead:
                self._counts["recycles"] += 1
                retired = slot
        return self._take_queued(), retired

    # ---- driver threads ----
    def _dispatch(self, run: RayRun) -> None:
        with self._lock:
            driver = self._idle_drivers.pop() if self._idle_drivers else None
        if driver is None:
            driver = DriverThread(self, next(self._driver_ids))
            driver.submit(run)
            driver.launch()
        elif not driver.submit(run):  # never expected: an idle driver is waiting for a job
            self._dispatch(run)

    def check_in(self, driver: DriverThread) -> bool:
        """A driver thread is free; False tells it to exit."""
        with self._lock:
            if self._disposed or len(self._idle_drivers) >= _MAX_IDLE_DRIVERS:
                return False
            self._idle_drivers.append(driver)
            return True

    def drive(self, run: RayRun) -> RayRun | None:
        """Run one script to its end on its actor (a driver thread); returns a queued run to drive next."""
        slot = run.slot
        assert slot is not None
        outcome: RunOutcome | BaseException | None = None
        attempts = 0
        while True:
            attempts += 1
            if not slot.ready:
                waited_from = run_clock()
                started = slot.wait_ready()
                run.deadline += run_clock() - waited_from  # start-up is not the script's time
                if not started and slot.cause != "start":
                    moved = self._reassign(run, slot, attempts)
                    if isinstance(moved, ActorSlot):
                        slot = moved
                        continue
                    if moved is None:  # back in the queue: a driver takes it when an actor is free
                        return None
                    outcome = moved
                    break
                if not started:
                    outcome = run.ended(slot.failure())
                    break
            if run.waiter.done():  # the caller gave up before the run began
                break
            run.phase = "running"
            if run_clock() >= run.deadline:
                outcome = run.ended(RunEnded(ErrorCode.TIMEOUT, "Execution timed out"))
                break
            channel = run.open_channel(slot)
            assert run.progress is not None
            try:
                outcome = drive(channel, channel.request, run.tools, run.progress)
            except ActorUnavailable:
                run.channel = None
                moved = self._reassign(run, slot, attempts)
                if isinstance(moved, ActorSlot):
                    slot = moved
                    continue
                if moved is None:
                    return None
                outcome = moved
            except BaseException as exc:
                outcome = exc
            break
        return self._after_run(run, slot, outcome)

    def _after_run(self, run: RayRun, slot: ActorSlot, outcome: RunOutcome | BaseException | None) -> RayRun | None:
        if run.channel is not None:
            run.channel.close()  # a no-op once the run was given up on and let go of its actor
        with self._lock:
            ready, retired = self._release(slot, run)  # before the caller hears back: its next run finds it idle
        if retired is not None:
            retired.die("recycled")
        if outcome is None:
            with self._lock:
                self._drop(run)
        else:
            self._finish(run, outcome)
        for other in ready[1:]:
            self._dispatch(other)
        return ready[0] if ready else None

    def _reassign(self, run: RayRun, old: ActorSlot, attempts: int) -> ActorSlot | RunOutcome | None:
        """The run's actor was gone before the run began: assign it again elsewhere."""
        with self._lock:
            if old.run is run:
                old.run = None
            if self._disposed:
                return failed("RUNTIME_ERROR", "The Ray adapter was disposed", _DISPOSED)
            if attempts >= _MAX_START_ATTEMPTS:
                return failed("RUNTIME_ERROR", "No Ray actor could take the run", CRASHED)
            if self._assign(run):
                assert run.slot is not None
                return run.slot
            run.phase = "queued"
            self._queue.appendleft(run)
            return None

    def _finish(self, run: RayRun, outcome: RunOutcome | BaseException) -> bool:
        """Hand `outcome` to the caller; False when the run had an outcome already."""
        with self._lock:
            if run.phase == "done":
                return False
            run.phase = "done"
            self._in_flight -= 1
            self._counts["runs"] += 1
        with contextlib.suppress(RuntimeError):  # the caller's loop is closed: nobody is waiting
            run.loop.call_soon_threadsafe(deliver, run.waiter, outcome)
        return True

    # ---- giving up on a run ----
    def _give_up(self, run: RayRun, reason: RunEnded) -> None:
        """End `run` now, whatever its driver thread is doing: its tools end (async ones are cancelled; a
        sync one cannot be stopped and its result is dropped). If it was waiting for its tools, its actor
        serves the next run at once; if its actor is computing, the deadline kill takes care of it."""
        run.tools.end(reason)
        channel, slot = run.channel, run.slot
        ready: list[RayRun] = []
        retired = None
        if channel is not None and slot is not None and not slot.dead and channel.detach():
            with self._lock:
                ready, retired = self._release(slot, run)
        if retired is not None:
            retired.die("recycled")
        self._finish(run, run.ended(reason))
        for other in ready:
            self._dispatch(other)

    def _expire(self, run: RayRun) -> None:
        """The run's deadline passed (on the caller's loop): it never outlives it by much."""
        if run.waiter.done():
            return
        with self._lock:
            phase = run.phase
            queued = phase == "queued" and run in self._queue
            if queued:
                self._queue.remove(run)
            starting = phase == "assigned" and run.slot is not None and not run.slot.ready
        late = run_clock() - run.deadline
        timed_out = RunEnded(ErrorCode.TIMEOUT, timeout_message(run.request.limits.timeout_ms))
        if queued or phase == "queued":
            self._finish(run, run.ended(timed_out))
        elif starting:  # its deadline moves by the actor's start-up time
            run.loop.call_later(TICK_S, self._expire, run)
        elif late < SYNC_TOOL_GRACE_S / 2:  # the deadline moved
            run.loop.call_later(SYNC_TOOL_GRACE_S - late, self._expire, run)
        elif run.tools.in_sync_tool or late >= DEADLINE_GRACE_S + BACKSTOP_S:
            self._give_up(run, timed_out)
        else:  # its actor is computing (killed at the grace) or its async tools are timing out
            run.loop.call_later(DEADLINE_GRACE_S + BACKSTOP_S - late, self._expire, run)

    def _cancelled(self, run: RayRun) -> None:
        with self._lock:
            if run.phase == "queued" and run in self._queue:
                self._queue.remove(run)
                self._drop(run)
                return
        if run.phase != "done" and run.waits_for_tools():
            self._give_up(run, RunEnded(ErrorCode.RUNTIME_ERROR, "The run was cancelled by the host"))


_LIVE_ADAPTERS: weakref.WeakSet[RayAdapter] = weakref.WeakSet()


@atexit.register
def _dispose_live_adapters() -> None:
    # Registered after Ray's own exit hook (Ray is imported first), so it runs before Ray shuts down.
    for adapter in list(_LIVE_ADAPTERS):
        with contextlib.suppress(Exception):
            adapter.dispose()
