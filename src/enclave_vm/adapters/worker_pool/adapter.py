"""The worker-pool adapter: scheduling runs on workers, giving up on runs, and the pool's bookkeeping.

A worker serves one run at a time, so a kill can only ever end the run that caused it. A run goes to an
idle worker (the longest idle one whose next context is warm first), else to a worker started for it
while the pool has room (its start-up time is not charged to the run), else it waits in the pool's
queue (FIFO, bounded: a full queue is a clean error) and its deadline keeps running there.
"""

from __future__ import annotations

import asyncio
import atexit
import collections
import contextlib
import itertools
import select
import threading
import time
import weakref
from dataclasses import dataclass

from ...bridge.dispatch import ToolDispatcher
from ...bridge.driver import drive
from ...bridge.protocol import RunOutcome, StartRequest
from ...config import WorkerPoolOptions
from ...outcome import ErrorCode, RunEnded, timeout_message
from ...outcome import now as run_clock
from .drivers import DriverThread
from .process import CRASHED, WorkerProcess, WorkerUnavailable
from .run import PoolRun, deliver, failed
from .supervisor import Supervisor

#: How long past a run's deadline its worker may keep computing before it is SIGKILLed.
DEADLINE_GRACE_S = 0.2
#: How long past the deadline a run blocked in a sync tool is waited for (the worker is idle meanwhile).
SYNC_TOOL_GRACE_S = 0.01
#: After the kill, how much longer the caller waits for the run's driver thread before giving up on it.
BACKSTOP_S = 0.1
#: The supervisor's tick while runs are open (deadline and memory checks).
TICK_S = 0.02
#: The supervisor's tick while the pool is idle (idle timeouts, liveness).
IDLE_TICK_S = 1.0
SPAWN_TIMEOUT_S = 30.0
STOP_TIMEOUT_S = 2.0
DEFAULT_MAX_QUEUE = 1024
_MAX_IDLE_DRIVERS = 16
_MAX_START_ATTEMPTS = 3
#: Start messages up to this size are sent from the caller's thread (far below a pipe's buffer).
_EARLY_START_CHARS = 8192
_DISPOSED = "WorkerPoolDisposedError"
_KILL_COUNTS = {"timeout": "timeout_kills", "memory": "memory_kills", "disposed": "", "stopped": ""}


@dataclass(frozen=True)
class WorkerPoolStats:
    pool_size: int
    workers: dict[str, int]
    """Live workers by state: "starting", "idle", "busy" (serving a run), "stopping"."""
    queue_length: int
    """Runs waiting for a worker."""
    runs_in_flight: int
    runs: int
    """Runs finished (any outcome)."""
    spawned: int
    kills: int
    """Workers the pool SIGKILLed for a limit: timeout_kills + memory_kills."""
    timeout_kills: int
    memory_kills: int
    crashes: int
    """Workers that died on their own or from outside (or broke the protocol)."""
    recycles: int
    """Workers retired after max_executions_per_worker runs or for memory held while idle."""
    idle_exits: int
    rejected: int
    """Runs refused because the queue was full."""


class WorkerPoolAdapter:
    """Runs scripts in a pool of OS worker processes. `stats()` reports what the pool is doing."""

    def __init__(self, options: WorkerPoolOptions | None = None, *, max_queue: int = DEFAULT_MAX_QUEUE) -> None:
        self.options = options or WorkerPoolOptions()
        if max_queue < 0:
            raise ValueError("max_queue must be >= 0")
        self.max_queue = max_queue
        self._lock = threading.Lock()
        self._workers: list[WorkerProcess] = []
        self._to_spawn: list[WorkerProcess] = []
        self._exiting: list[tuple[WorkerProcess, float]] = []
        self._queue: collections.deque[PoolRun] = collections.deque()
        self._idle_drivers: list[DriverThread] = []
        self._run_ids = itertools.count(1)
        self._worker_ids = itertools.count(1)
        self._driver_ids = itertools.count(1)
        self._in_flight = 0
        self._counts = dict.fromkeys(
            ("runs", "spawned", "timeout_kills", "memory_kills", "crashes", "recycles", "idle_exits", "rejected"), 0
        )
        self._disposed = False
        self._supervisor: Supervisor | None = None
        self._supervisor_ticking = False
        """Whether the supervisor polls at TICK_S (runs in flight) rather than at the idle tick."""
        _register(self)

    # ---- the adapter protocol ----
    async def execute(self, request: StartRequest, tools: ToolDispatcher) -> RunOutcome:
        loop = asyncio.get_running_loop()
        waiter: asyncio.Future[RunOutcome] = loop.create_future()
        run = PoolRun(next(self._run_ids), request, tools, loop, waiter)
        with self._lock:
            if self._disposed:
                return failed("RUNTIME_ERROR", "The worker pool has been disposed", _DISPOSED)
            admitted = self._assign(run)
            if not admitted and len(self._queue) >= self.max_queue:
                self._counts["rejected"] += 1
                return failed(
                    "RUNTIME_ERROR",
                    f"The worker pool is saturated: {len(self._queue)} runs are already waiting",
                    "QueueFullError",
                )
            if not admitted:
                self._queue.append(run)
            self._in_flight += 1
        if admitted:
            self._send_early(run)
            self._dispatch(run)
        timer = loop.call_later(max(run.deadline + SYNC_TOOL_GRACE_S - run_clock(), 0), self._expire, run)
        try:
            return await waiter
        finally:
            timer.cancel()
            if waiter.cancelled():  # the caller gave up: a queued run never starts, a run in its tools lets go
                self._cancelled(run)

    def stats(self) -> WorkerPoolStats:
        with self._lock:
            states = dict.fromkeys(("starting", "idle", "busy", "stopping"), 0)
            for worker in self._workers:
                if not worker.ready.is_set():
                    states["starting"] += 1
                elif worker.run is not None:
                    states["busy"] += 1
                elif worker.retiring:
                    states["stopping"] += 1
                else:
                    states["idle"] += 1
            states["stopping"] += len(self._exiting)
            counts = dict(self._counts)
            return WorkerPoolStats(
                pool_size=self.options.pool_size,
                workers=states,
                queue_length=len(self._queue),
                runs_in_flight=self._in_flight,
                kills=counts["timeout_kills"] + counts["memory_kills"],
                **counts,
            )

    def worker_pids(self) -> list[int]:
        """Process ids of the live workers (for monitoring)."""
        with self._lock:
            return [w.pid for w in self._workers if w.pid and not w.dead]

    def dispose(self) -> None:
        with self._lock:
            if self._disposed:
                return
            self._disposed = True
            workers, self._workers = self._workers, []
            exiting = [w for w, _ in self._exiting]
            self._exiting = []
            queued, self._queue = list(self._queue), collections.deque()
            drivers, self._idle_drivers = self._idle_drivers, []
            supervisor = self._supervisor
        _LIVE_POOLS.discard(self)
        for worker in workers:
            worker.die("disposed")
        for run in queued:
            self._finish(run, failed("RUNTIME_ERROR", "The worker pool was disposed", _DISPOSED))
        for driver in drivers:
            driver.submit(None)
        if supervisor is not None:
            supervisor.stopping = True
            supervisor.wake()
            if supervisor is not threading.current_thread():
                supervisor.join(timeout=STOP_TIMEOUT_S)
        for worker in workers + exiting:
            worker.kill()
            if worker.proc is not None:
                with contextlib.suppress(Exception):
                    worker.proc.wait(timeout=STOP_TIMEOUT_S)
            worker.close_pipes()

    # ---- scheduling (under self._lock) ----
    def _assign(self, run: PoolRun) -> bool:
        """Give `run` a worker (starting one if there is room); False when it has to wait."""
        now = time.monotonic()
        best: WorkerProcess | None = None
        best_key: tuple[int, float] = (9, 0.0)
        for worker in self._workers:
            if worker.dead or worker.retiring or worker.run is not None:
                continue
            if not worker.ready.is_set():
                key: tuple[int, float] = (2, 0.0)  # started without a run (a replacement)
            elif now - worker.idle_since < worker.warm_s:
                key = (1, worker.idle_since)  # idle, but still preparing its next context
            else:
                key = (0, worker.idle_since)  # idle and warm; the longest idle first
            if key < best_key:
                best, best_key = worker, key
        room = len(self._workers) < self.options.pool_size
        if best is None:
            if not room:
                return False
            best = self._new_worker()
        elif best_key[0] == 1 and room:
            self._new_worker()  # this run waits a moment for the warm-up; the next ones alternate
        best.run = run
        best.runs_served += 1
        limit = self.options.max_executions_per_worker
        if limit is not None and best.runs_served >= limit:
            best.retiring = True  # no further runs; it stops once this one is done
        run.worker = best
        run.phase = "assigned"
        if not self._supervisor_ticking and self._supervisor is not None:
            self._supervisor_ticking = True
            self._supervisor.wake()  # asleep for the idle tick: the run's deadline and pipe need watching now
        return True

    def _new_worker(self) -> WorkerProcess:
        worker = WorkerProcess(next(self._worker_ids), self.options.max_worker_memory, self._on_death)
        self._workers.append(worker)
        self._to_spawn.append(worker)
        if self._supervisor is None:
            self._supervisor = Supervisor(self)
            self._supervisor.start()
        self._supervisor.wake()
        return worker

    def _take_queued(self) -> list[PoolRun]:
        """Assign waiting runs while there is room; the caller dispatches them."""
        assigned: list[PoolRun] = []
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

    def _drop(self, run: PoolRun) -> None:
        """A run taken out of the queue without ever starting is over (its caller is not waiting)."""
        if run.phase != "done":
            run.phase = "done"
            self._in_flight -= 1
            self._counts["runs"] += 1

    def _release(self, worker: WorkerProcess, run: PoolRun) -> list[PoolRun]:
        """`run` let go of `worker`: the worker is free again; returns the waiting runs that can go now."""
        if worker.run is run:
            worker.run = None
            worker.idle_since = time.monotonic()
            if worker.retiring and not worker.dead:
                self._counts["recycles"] += 1
                self._retire(worker)
        return self._take_queued()

    def _retire(self, worker: WorkerProcess) -> None:
        if worker in self._workers:
            self._workers.remove(worker)
        worker.stop()
        self._exiting.append((worker, time.monotonic() + STOP_TIMEOUT_S))

    def _send_early(self, run: PoolRun) -> None:
        """Send a small start message from the caller's thread, so the worker computes while a driver
        thread wakes up. The worker is idle and its pipe empty: the write cannot block."""
        worker = run.worker
        assert worker is not None
        if not worker.ready.is_set() or len(run.request.program) > _EARLY_START_CHARS:
            return
        channel = run.open_channel(worker)
        try:
            channel.send_start()
        except WorkerUnavailable:
            run.channel = None  # the driver thread finds the worker gone and moves the run
            return
        run.phase = "running"

    # ---- driver threads ----
    def _dispatch(self, run: PoolRun) -> None:
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

    def drive(self, run: PoolRun) -> PoolRun | None:
        """Run one script to its end on its worker (a driver thread); returns a queued run to drive next."""
        worker = run.worker
        assert worker is not None
        outcome: RunOutcome | BaseException | None = None
        channel = run.channel  # set when the start went out already
        attempts = 0
        while True:
            attempts += 1
            if channel is None:
                if not worker.ready.is_set():
                    waited_from = run_clock()
                    worker.ready.wait(SPAWN_TIMEOUT_S + 1.0)
                    run.deadline += run_clock() - waited_from  # start-up is not the script's time
                if run.waiter.done():  # the caller gave up before the run began
                    break
                run.phase = "running"
                if run_clock() >= run.deadline:
                    outcome = run.ended(RunEnded(ErrorCode.TIMEOUT, "Execution timed out"))
                    break
                channel = run.open_channel(worker)
            assert run.progress is not None
            try:
                outcome = drive(channel, channel.request, run.tools, run.progress)
            except WorkerUnavailable:
                channel = run.channel = None
                moved = self._reassign(run, attempts)
                if isinstance(moved, WorkerProcess):
                    worker = moved
                    continue
                if moved is None:  # back in the queue: a driver takes it when a worker is free
                    return None
                outcome = moved
            except BaseException as exc:
                outcome = exc
            break
        return self._after_run(run, worker, outcome)

    def _after_run(
        self, run: PoolRun, worker: WorkerProcess, outcome: RunOutcome | BaseException | None
    ) -> PoolRun | None:
        if run.channel is not None:
            run.channel.close()  # a no-op once the run was given up on and let go of its worker
        with self._lock:
            ready = self._release(worker, run)  # before the caller hears back, so its next run finds it idle
        if outcome is None:
            with self._lock:
                self._drop(run)
        else:
            self._finish(run, outcome)
        for other in ready[1:]:
            self._dispatch(other)
        return ready[0] if ready else None

    def _reassign(self, run: PoolRun, attempts: int) -> WorkerProcess | RunOutcome | None:
        """The run's worker was gone before the run began: assign it again elsewhere."""
        with self._lock:
            old = run.worker
            if old is not None and old.run is run:
                old.run = None
            if self._disposed:
                return failed("RUNTIME_ERROR", "The worker pool was disposed", _DISPOSED)
            if attempts >= _MAX_START_ATTEMPTS:
                return failed("RUNTIME_ERROR", "No worker process could take the run", CRASHED)
            if self._assign(run):
                assert run.worker is not None
                return run.worker
            run.phase = "queued"
            self._queue.appendleft(run)
            return None

    def _finish(self, run: PoolRun, outcome: RunOutcome | BaseException) -> bool:
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
    def _give_up(self, run: PoolRun, reason: RunEnded) -> None:
        """End `run` now, whatever its driver thread is doing: its tools end (async ones are cancelled; a
        sync one cannot be stopped and its result is dropped). If it was waiting for its tools, its worker
        serves the next run at once; if its worker is computing, the deadline kill takes care of it."""
        run.tools.end(reason)
        channel, worker = run.channel, run.worker
        ready: list[PoolRun] = []
        if channel is not None and worker is not None and not worker.dead and channel.detach():
            with self._lock:
                ready = self._release(worker, run)
        self._finish(run, run.ended(reason))
        for other in ready:
            self._dispatch(other)

    def _expire(self, run: PoolRun) -> None:
        """The run's deadline passed (on the caller's loop): it never outlives it by much."""
        if run.waiter.done():
            return
        with self._lock:
            phase = run.phase
            queued = phase == "queued" and run in self._queue
            if queued:
                self._queue.remove(run)
            starting = phase == "assigned" and run.worker is not None and not run.worker.ready.is_set()
        late = run_clock() - run.deadline
        timed_out = RunEnded(ErrorCode.TIMEOUT, timeout_message(run.request.limits.timeout_ms))
        if queued or phase == "queued":
            self._finish(run, run.ended(timed_out))
        elif starting:  # its deadline moves by the worker's start-up time
            run.loop.call_later(TICK_S, self._expire, run)
        elif late < SYNC_TOOL_GRACE_S / 2:  # the deadline moved
            run.loop.call_later(SYNC_TOOL_GRACE_S - late, self._expire, run)
        elif run.tools.in_sync_tool or late >= DEADLINE_GRACE_S + BACKSTOP_S:
            self._give_up(run, timed_out)
        else:  # its worker is computing (killed at the grace) or its async tools are timing out
            run.loop.call_later(DEADLINE_GRACE_S + BACKSTOP_S - late, self._expire, run)

    def _cancelled(self, run: PoolRun) -> None:
        with self._lock:
            if run.phase == "queued" and run in self._queue:
                self._queue.remove(run)
                self._drop(run)
                return
        if run.phase != "done" and run.waits_for_tools():
            self._give_up(run, RunEnded(ErrorCode.RUNTIME_ERROR, "The run was cancelled by the host"))

    def _on_death(self, worker: WorkerProcess) -> None:
        """A worker died (it is SIGKILLed already): its run ends now; queued runs may go on."""
        with self._lock:
            if worker in self._workers:
                self._workers.remove(worker)
                self._exiting.append((worker, time.monotonic() + STOP_TIMEOUT_S))
            key = _KILL_COUNTS.get(worker.cause, "crashes")
            if key:
                self._counts[key] += 1
            run = worker.run
            if run is not None and not self._disposed and len(self._workers) < self.options.pool_size:
                self._new_worker()  # the replacement starts at once
            ready = self._take_queued()
        # The run ends now, without waiting for its driver thread: that thread may be in a sync tool, or
        # still reading a pipe that closes only once the dying process has freed its memory. A protocol
        # violation is left to the driver thread, which found it and says what it was.
        if run is not None and run.phase == "running" and (worker.cause != "protocol" or run.waits_for_tools()):
            self._give_up(run, worker.failure())
        for other in ready:
            self._dispatch(other)

    # ---- for the supervisor thread ----
    def watched_workers(self) -> tuple[list[WorkerProcess], list[WorkerProcess], list[WorkerProcess]]:
        """(starting, idle, waiting for their run's tools): the workers whose pipe nobody reads."""
        with self._lock:
            live = [w for w in self._workers if not w.dead and w.proc is not None]
            starting = [w for w in live if not w.ready.is_set()]
            idle = [w for w in live if w.ready.is_set() and w.run is None]
            waiting = [w for w in live if w.run is not None and w.run.waits_for_tools()]
        return starting, idle, waiting

    def on_idle_event(self, worker: WorkerProcess) -> None:
        """An idle worker's pipe woke the supervisor: it closed, or it sent something nobody asked for."""
        with self._lock:  # no run can be assigned meanwhile, so whatever is readable now was never asked for
            still_idle = worker.run is None and worker in self._workers and not worker.dead
            events = _poll_now(worker.answer_fd) if still_idle else 0
        if events & select.POLLIN:
            worker.die("protocol")
        elif events:
            worker.die("crash")

    def tick_interval(self) -> float | None:
        with self._lock:
            busy = (
                self._in_flight or self._to_spawn or self._exiting or any(not w.ready.is_set() for w in self._workers)
            )
            self._supervisor_ticking = bool(busy)
            if busy:
                return TICK_S
            if not self._workers:
                return None
            idle = self.options.idle_timeout
            if idle is None:
                return IDLE_TICK_S
            soonest = min(w.idle_since for w in self._workers) + idle / 1000.0
            return min(IDLE_TICK_S, max(soonest - time.monotonic(), TICK_S))

    def spawn_requested(self) -> None:
        with self._lock:
            pending, self._to_spawn = self._to_spawn, []
        for worker in pending:
            if worker.dead:
                continue
            try:
                worker.spawn()
            except OSError:
                worker.die("crash")
                continue
            worker.spawn_requested = time.monotonic()
            with self._lock:
                self._counts["spawned"] += 1
                disposed = self._disposed
            if disposed:
                worker.die("disposed")
                with contextlib.suppress(Exception):
                    worker.proc.wait(timeout=STOP_TIMEOUT_S)  # type: ignore[union-attr]
                worker.close_pipes()

    def tick(self) -> None:
        now_run = run_clock()
        now = time.monotonic()
        cap = self.options.max_worker_memory
        idle_s = None if self.options.idle_timeout is None else self.options.idle_timeout / 1000.0
        with self._lock:
            workers = list(self._workers)
            exiting = list(self._exiting)
        for worker in workers:
            if worker.dead:
                continue
            if not worker.ready.is_set():
                if worker.proc is not None and now - worker.spawn_requested > SPAWN_TIMEOUT_S:
                    worker.die("crash")
                continue
            if worker.proc is not None and worker.proc.poll() is not None:
                worker.die("crash")  # died while nobody was reading from it
                continue
            run, since = worker.run, worker.computing_since
            if run is not None and since is not None and now_run > max(run.deadline, since) + DEADLINE_GRACE_S:
                worker.die("timeout")
                continue
            if cap is not None:
                rss = worker.rss()
                if rss is not None and rss > cap:
                    with self._lock:
                        quiet = worker.run is None and worker in self._workers
                        if quiet:
                            self._counts["recycles"] += 1
                            self._retire(worker)
                    if not quiet:
                        worker.die("memory")
                    continue
            if idle_s is not None:
                with self._lock:
                    if worker.run is None and worker in self._workers and now - worker.idle_since >= idle_s:
                        self._counts["idle_exits"] += 1
                        self._retire(worker)
        for worker, kill_at in exiting:
            if worker.reap():
                worker.close_pipes()
                with self._lock, contextlib.suppress(ValueError):
                    self._exiting.remove((worker, kill_at))
            elif now >= kill_at:
                worker.kill()


def _poll_now(fd: int) -> int:
    poller = select.poll()
    poller.register(fd, select.POLLIN)
    return sum(events for _fd, events in poller.poll(0))


_LIVE_POOLS: weakref.WeakSet[WorkerPoolAdapter] = weakref.WeakSet()


def _register(pool: WorkerPoolAdapter) -> None:
    _LIVE_POOLS.add(pool)


@atexit.register
def _dispose_live_pools() -> None:
    for pool in list(_LIVE_POOLS):
        with contextlib.suppress(Exception):
            pool.dispose()
