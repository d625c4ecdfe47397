"""The worker-pool adapter: scripts run in a pool of OS worker processes.

The run protocol is the in-process one: each run's state machine (`drive`) and its tools run in the host,
on a driver thread of this process; only the engine lives in a worker, behind a `WorkerChannel` that
sends each step to the worker as a frame and waits for the answering Step.

Scheduling. Workers start lazily (a fresh interpreter per worker), up to `pool_size`. A run goes to a
worker with nothing open, else to a new worker while there is room, else to the least loaded worker
(a worker runs one script step at a time; a run waiting for its tools leaves the engine to the others),
else it waits in a bounded queue; a full queue is a clean error. Start-up time of a worker is not charged
to the run that waits for it.

Hard limits, enforced by one manager thread per pool: a worker still busy with a run's step past the
run's deadline plus a grace period is SIGKILLed and the run ends TIMEOUT; a worker whose resident memory
passes `max_worker_memory` is SIGKILLed and its runs end MEMORY_LIMIT_EXCEEDED; any other death ends the
runs on it with RUNTIME_ERROR (WorkerCrashedError) at once. A worker is retired after
`max_executions_per_worker` runs and stops after `idle_timeout` ms without runs. Workers die with the
host (parent-death signal, end-of-file on their stdin, and an exit hook).
"""

from __future__ import annotations

import asyncio
import atexit
import collections
import contextlib
import dataclasses
import itertools
import json
import os
import select
import threading
import time
import weakref
from typing import Any

from ..bridge.dispatch import ToolDispatcher
from ..bridge.driver import drive
from ..bridge.framing import pack
from ..bridge.protocol import LimitTripped, RunOutcome, Settled, StartRequest, Step, ToolResult
from ..bridge.wire import read_fail, read_slice, settle_message, start_message
from ..config import WorkerPoolOptions
from ..outcome import now as run_clock
from .worker_process import Mailbox, RunFailure, WorkerProcess, WorkerUnavailable, crashed

#: How long past a run's deadline a worker may keep computing before it is killed.
DEADLINE_GRACE_S = 0.2
#: After the grace, how much longer the caller waits for the driver thread before giving up on it.
BACKSTOP_S = 0.1
#: The manager's tick while runs are open (deadline and memory checks).
TICK_S = 0.02
#: The manager's tick while the pool is idle (reaping, idle timeouts, liveness).
IDLE_TICK_S = 1.0
SPAWN_TIMEOUT_S = 30.0
STOP_TIMEOUT_S = 2.0
DEFAULT_MAX_RUNS_PER_WORKER = 16
DEFAULT_MAX_QUEUE = 1024
_MAX_IDLE_DRIVERS = 16
_MAX_START_ATTEMPTS = 3
#: Start messages up to this size may be sent from the caller's thread (far below a pipe's buffer).
_EARLY_START_CHARS = 8192


@dataclasses.dataclass(frozen=True)
class WorkerPoolStats:
    pool_size: int
    workers: dict[str, int]
    """Live workers by state: "starting", "idle" (no run open), "busy", "stopping"."""
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


class _Run:
    __slots__ = (
        "abandoned",
        "channel",
        "deadline",
        "exclusive",
        "id",
        "loop",
        "phase",
        "request",
        "tools",
        "waiter",
        "worker",
    )

    def __init__(
        self,
        run_id: int,
        request: StartRequest,
        tools: ToolDispatcher,
        loop: asyncio.AbstractEventLoop,
        waiter: asyncio.Future[RunOutcome],
    ) -> None:
        self.id = run_id
        self.request = request
        self.tools = tools
        self.loop = loop
        self.waiter = waiter
        self.deadline = request.deadline
        self.worker: WorkerProcess | None = None
        self.phase = "queued"  # → "assigned" → "running" → "done"
        self.abandoned = False
        self.exclusive = False
        """Admitted to a worker that had no other run open (nothing else is queued in its pipe)."""
        self.channel: WorkerChannel | None = None
        """Set when the start message went out before a driver thread took the run."""


def _outcome(code: str, message: str, name: str = "") -> RunOutcome:
    return RunOutcome(ok=False, code=code, message=message, name=name)


def _deliver(waiter: asyncio.Future[RunOutcome], outcome: RunOutcome | BaseException) -> None:
    if waiter.done():
        return
    if isinstance(outcome, BaseException):
        waiter.set_exception(outcome)
    else:
        waiter.set_result(outcome)


class WorkerChannel:
    """The engine side of one run, in a worker process (an EngineChannel for drive())."""

    def __init__(self, worker: WorkerProcess, run: int, request: StartRequest) -> None:
        limits = request.limits
        self._worker = worker
        self._run = run
        self.request = request
        self._request = request
        # Everything in an answer was built inside the engine's heap, so twice the heap (UTF-8 of
        # two-byte characters) bounds an honest answer.
        # An honest answer's bulk is inside JSON strings (values, tool arguments, console lines); its structure
        # outside strings grows only with the tool calls and console lines the limits allow.
        max_tokens = 4 * (limits.max_tool_calls + limits.console_calls) + 2 * limits.max_recorded_values + 64
        self._box = Mailbox(run, request.deadline, 2 * limits.memory_limit + (1 << 20), max_tokens)
        self._max_value_bytes = limits.max_value_bytes
        self._console_calls = limits.console_calls
        # The engine counts a line's UTF-8 bytes (plus its newline); one byte per line of slack keeps this
        # check independent of how the newline is counted.
        self._console_bytes = limits.console_bytes + limits.console_calls
        self._open = False
        self._started = False

    def send_start(self) -> None:
        """Send the start message now (start() then only waits for the answer)."""
        self._started = True
        self._worker.send(self._box, pack(start_message(self._run, self._request)), first=True)

    def start(self) -> Step:
        if not self._started:
            self.send_start()
        answer = self._worker.wait(self._box, first=True)
        self._open = True
        return self._read(answer)

    def settle(self, results: list[ToolResult]) -> Step:
        return self._read(self._worker.request(self._box, pack(settle_message(self._run, results)), first=False))

    def close(self) -> None:
        if self._open:
            self._open = False
            self._worker.send_close(self._run)

    def _read(self, answer: list[Any]) -> Step:
        try:
            if answer[0] == "fail":
                self._open = False
                code, message, name, stdout = read_fail(answer)
                if stdout:
                    self._check_console(stdout)
                failure = RunFailure(code, message, name)
                failure.stdout = stdout
                raise failure
            step = read_slice(answer)
        except RunFailure:
            raise
        except Exception:  # malformed answer: the worker cannot be trusted any more
            self._worker.die("protocol")
            raise crashed("The worker process broke the message protocol and was stopped") from None
        if isinstance(step, Settled | LimitTripped):
            self._open = False
        if step.stdout:
            self._check_console(step.stdout)
        if isinstance(step, Settled) and step.final.ok and step.final.value_json:
            self._check_value(step.final.value_json)
        return step

    def _check_value(self, value_json: str) -> None:
        """The engine returns JSON text within max_value_bytes; a worker that sends anything else is not
        honest. (Depth is not checked here: the in-process engine returns deep values as they are.)"""
        try:
            honest = len(value_json.encode("utf-8", "surrogatepass")) <= self._max_value_bytes
            if honest:
                json.loads(value_json)
        except (ValueError, RecursionError):
            honest = False
        if not honest:
            self._worker.die("protocol")
            raise crashed("The worker process returned a value that is not JSON data within the limits and was stopped")

    def _check_console(self, lines: list[str]) -> None:
        """The engine caps console output itself; a worker that sends more is not honest."""
        self._console_calls -= len(lines)
        self._console_bytes -= sum(len(line.encode("utf-8", "surrogatepass")) for line in lines)
        if self._console_calls < 0 or self._console_bytes < 0:
            self._worker.die("protocol")
            raise crashed("The worker process sent more console output than the limits allow and was stopped")


class _DriverThread(threading.Thread):
    """Runs drive() for one run at a time (and its sync tools), then the next queued run if any."""

    def __init__(self, pool: WorkerPoolAdapter, index: int) -> None:
        super().__init__(name=f"enclave-pool-driver-{index}", daemon=True)
        self._pool = pool
        self._jobs: collections.deque[_Run | None] = collections.deque()
        self._wake_r, self._wake_w = os.pipe()

    def submit(self, run: _Run | None) -> None:
        self._jobs.append(run)
        os.write(self._wake_w, b"x")

    def run(self) -> None:
        try:
            while True:
                while not self._jobs:
                    os.read(self._wake_r, 1)
                job = self._jobs.popleft()
                while job is not None:
                    job = self._pool._drive(job)
                if not self._pool._check_in(self):
                    return
        finally:
            os.close(self._wake_r)
            os.close(self._wake_w)


class _Manager(threading.Thread):
    """The pool's clock and process owner: spawns workers (on Linux a worker dies with the thread that
    started it, so this long-lived thread is their parent), and kills, retires and reaps them."""

    def __init__(self, pool: WorkerPoolAdapter) -> None:
        super().__init__(name="enclave-pool-manager", daemon=True)
        self._pool = pool
        self._wake_r, self._wake_w = os.pipe()
        os.set_blocking(self._wake_r, False)
        self.stopping = False

    def wake(self) -> None:
        with contextlib.suppress(OSError):
            os.write(self._wake_w, b"x")

    def run(self) -> None:
        pool = self._pool
        try:
            while not self.stopping:
                poller = select.poll()
                poller.register(self._wake_r, select.POLLIN)
                starting = {w.answer_fd: w for w in pool._starting() if w.answer_fd >= 0}
                for fd in starting:
                    poller.register(fd, select.POLLIN)
                interval = pool._tick_interval()
                for fd, _event in poller.poll(None if interval is None else interval * 1000):
                    if fd == self._wake_r:
                        with contextlib.suppress(BlockingIOError):
                            os.read(self._wake_r, 4096)
                    elif fd in starting:
                        pool._on_ready_readable(starting[fd])
                if self.stopping:
                    break
                pool._spawn_requested()
                pool._tick()
        finally:
            os.close(self._wake_r)
            os.close(self._wake_w)


class WorkerPoolAdapter:
    """Runs scripts in a pool of OS worker processes. `stats()` reports what the pool is doing."""

    def __init__(
        self,
        options: WorkerPoolOptions | None = None,
        *,
        max_runs_per_worker: int = DEFAULT_MAX_RUNS_PER_WORKER,
        max_queue: int = DEFAULT_MAX_QUEUE,
    ) -> None:
        self.options = options or WorkerPoolOptions()
        if max_runs_per_worker < 1 or max_queue < 0:
            raise ValueError("max_runs_per_worker must be >= 1 and max_queue >= 0")
        self.max_runs_per_worker = max_runs_per_worker
        self.max_queue = max_queue
        self._lock = threading.Lock()
        self._workers: list[WorkerProcess] = []
        self._to_spawn: list[WorkerProcess] = []
        self._exiting: list[tuple[WorkerProcess, float]] = []
        self._queue: collections.deque[_Run] = collections.deque()
        self._idle_drivers: list[_DriverThread] = []
        self._run_ids = itertools.count(1)
        self._worker_ids = itertools.count(1)
        self._driver_ids = itertools.count(1)
        self._in_flight = 0
        self._counts = dict.fromkeys(
            ("runs", "spawned", "timeout_kills", "memory_kills", "crashes", "recycles", "idle_exits", "rejected"), 0
        )
        self._disposed = False
        self._manager: _Manager | None = None
        _LIVE_POOLS.add(self)

    # ---- the adapter protocol ----
    async def execute(self, request: StartRequest, tools: ToolDispatcher) -> RunOutcome:
        loop = asyncio.get_running_loop()
        waiter: asyncio.Future[RunOutcome] = loop.create_future()
        run = _Run(next(self._run_ids), request, tools, loop, waiter)
        with self._lock:
            if self._disposed:
                return _outcome("RUNTIME_ERROR", "The worker pool has been disposed", "WorkerPoolDisposedError")
            admitted = self._admit(run)
            if not admitted and len(self._queue) >= self.max_queue:
                self._counts["rejected"] += 1
                return _outcome(
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
        timer = loop.call_later(max(run.deadline - run_clock(), 0), self._expire, run)
        try:
            return await waiter
        finally:
            timer.cancel()
            if not waiter.done() or waiter.cancelled():  # the caller gave up: a queued run never starts
                with self._lock:
                    if run.phase == "queued" and run in self._queue:
                        self._queue.remove(run)
                        self._drop_queued(run)

    def stats(self) -> WorkerPoolStats:
        with self._lock:
            states = dict.fromkeys(("starting", "idle", "busy", "stopping"), 0)
            for worker in self._workers:
                if not worker.ready.is_set():
                    states["starting"] += 1
                elif worker.retiring:
                    states["stopping"] += 1
                else:
                    states["busy" if worker.open_runs else "idle"] += 1
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
            manager = self._manager
        _LIVE_POOLS.discard(self)
        for worker in workers:
            worker.die("disposed")
        for run in queued:
            self._finish_run(run, _outcome("RUNTIME_ERROR", "The worker pool was disposed", "WorkerPoolDisposedError"))
        for driver in drivers:
            driver.submit(None)
        if manager is not None:
            manager.stopping = True
            manager.wake()
            if manager is not threading.current_thread():
                manager.join(timeout=STOP_TIMEOUT_S)
        for worker in workers + exiting:
            worker.kill()
            if worker.proc is not None:
                with contextlib.suppress(Exception):
                    worker.proc.wait(timeout=STOP_TIMEOUT_S)
            worker.close_pipes()

    # ---- scheduling (under self._lock) ----
    def _admit(self, run: _Run) -> bool:
        """Assign `run` to a worker (starting one if there is room); False when it has to wait."""
        now = time.monotonic()
        best: WorkerProcess | None = None
        best_key: tuple[int, float] = (9, 0.0)
        for worker in self._workers:
            if worker.dead or worker.retiring:
                continue
            if worker.open_runs:
                key: tuple[int, float] = (3, worker.open_runs)
            elif not worker.ready.is_set():
                key = (2, 0.0)
            elif now - worker.idle_since < worker.warm_s:
                key = (1, worker.idle_since)  # idle, but still preparing its next context
            else:
                key = (0, worker.idle_since)  # idle and warm; the longest idle first
            if key < best_key:
                best, best_key = worker, key
        room = len(self._workers) < self.options.pool_size
        if best is None or (best_key[0] >= 2 and room):
            if not room:
                return False
            best = self._new_worker()
        elif best_key[0] == 1 and room:
            self._new_worker()  # this run waits a moment for the warm-up; the next ones alternate
        elif best_key[0] == 3 and best.open_runs >= self.max_runs_per_worker:
            return False
        run.exclusive = best.open_runs == 0
        best.open_runs += 1
        best.admitted += 1
        limit = self.options.max_executions_per_worker
        if limit is not None and best.admitted >= limit:
            best.retiring = True  # no further runs; it stops once its open runs are done
        run.worker = best
        run.phase = "assigned"
        return True

    def _new_worker(self) -> WorkerProcess:
        worker = WorkerProcess(next(self._worker_ids), self.options.max_worker_memory, self._forget)
        self._workers.append(worker)
        self._to_spawn.append(worker)
        if self._manager is None:
            self._manager = _Manager(self)
            self._manager.start()
        self._manager.wake()
        return worker

    def _take_queued(self) -> list[_Run]:
        """Admit waiting runs while there is room; the caller dispatches them."""
        admitted: list[_Run] = []
        while self._queue and not self._disposed:
            run = self._queue[0]
            if run.waiter.done():
                self._queue.popleft()
                self._drop_queued(run)
                continue
            if not self._admit(run):
                break
            self._queue.popleft()
            admitted.append(run)
        return admitted

    def _drop_queued(self, run: _Run) -> None:
        """A run taken out of the queue without ever starting is over (its caller is not waiting)."""
        if run.phase != "done":
            run.phase = "done"
            self._in_flight -= 1
            self._counts["runs"] += 1

    def _release(self, worker: WorkerProcess) -> list[_Run]:
        """A run on `worker` ended: update the worker and return the waiting runs that can go now."""
        worker.open_runs -= 1
        if worker.open_runs == 0:
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

    def _send_early(self, run: _Run) -> None:
        """Send a small start message from the caller's thread, so the worker computes while a driver
        thread wakes up. Only to a ready worker with nothing else open: the write cannot block then."""
        worker = run.worker
        assert worker is not None
        if not run.exclusive or not worker.ready.is_set() or len(run.request.program) > _EARLY_START_CHARS:
            return
        channel = WorkerChannel(worker, run.id, run.request)
        try:
            channel.send_start()
        except (WorkerUnavailable, RunFailure):
            return  # the driver thread finds the worker gone and moves the run
        run.channel = channel
        run.phase = "running"

    # ---- driver threads ----
    def _dispatch(self, run: _Run) -> None:
        with self._lock:
            driver = self._idle_drivers.pop() if self._idle_drivers else None
        if driver is None:
            driver = _DriverThread(self, next(self._driver_ids))
            driver.submit(run)
            driver.start()
        else:
            driver.submit(run)

    def _check_in(self, driver: _DriverThread) -> bool:
        with self._lock:
            if self._disposed or len(self._idle_drivers) >= _MAX_IDLE_DRIVERS:
                return False
            self._idle_drivers.append(driver)
            return True

    def _drive(self, run: _Run) -> _Run | None:
        """Run one script to its end on its worker (driver thread); returns a queued run to drive next."""
        worker = run.worker
        assert worker is not None
        outcome: RunOutcome | BaseException
        holds_room = True  # the run counts against its worker's open runs until released
        channel: WorkerChannel | None = run.channel  # set when the start already went out
        run.channel = None
        attempts = 0
        while True:
            attempts += 1
            if channel is None:
                if not worker.ready.is_set():
                    waited_from = run_clock()
                    worker.ready.wait(SPAWN_TIMEOUT_S + 1.0)
                    run.deadline += run_clock() - waited_from  # start-up is not the script's time
                run.phase = "running"
                if run.waiter.done() or run_clock() >= run.deadline:
                    outcome = _outcome("TIMEOUT", f"Execution timed out after {run.request.limits.timeout_ms}ms")
                    break
                request = run.request
                if request.deadline != run.deadline:
                    request = dataclasses.replace(request, deadline=run.deadline)
                channel = WorkerChannel(worker, run.id, request)
            try:
                outcome = drive(channel, channel.request, run.tools)
            except WorkerUnavailable:
                channel = None
                moved = self._reassign(run, attempts)
                if isinstance(moved, WorkerProcess):
                    worker = moved
                    continue
                if moved is None:  # back in the queue: another driver takes it later
                    return None
                outcome, holds_room = moved, False
            except BaseException as exc:
                outcome = exc
            break
        return self._after_run(run, worker, channel, outcome, holds_room)

    def _after_run(
        self,
        run: _Run,
        worker: WorkerProcess,
        channel: WorkerChannel | None,
        outcome: RunOutcome | BaseException,
        holds_room: bool,
    ) -> _Run | None:
        if channel is not None:
            channel.close()
        ready: list[_Run] = []
        if holds_room:
            with self._lock:
                ready = self._release(worker)  # before the caller hears back, so its next run finds room
        self._finish_run(run, outcome)
        for other in ready[1:]:
            self._dispatch(other)
        return ready[0] if ready else None

    def _reassign(self, run: _Run, attempts: int) -> WorkerProcess | RunOutcome | None:
        """The run's worker was gone before the run began: admit it again elsewhere."""
        with self._lock:
            old = run.worker
            assert old is not None
            old.open_runs -= 1
            if self._disposed:
                return _outcome("RUNTIME_ERROR", "The worker pool was disposed", "WorkerPoolDisposedError")
            if attempts >= _MAX_START_ATTEMPTS:
                return _outcome("RUNTIME_ERROR", "No worker process could take the run", "WorkerCrashedError")
            if self._admit(run):
                assert run.worker is not None
                return run.worker
            run.phase = "queued"
            self._queue.appendleft(run)
            return None

    def _finish_run(self, run: _Run, outcome: RunOutcome | BaseException) -> None:
        with self._lock:
            if run.phase == "done":
                return
            run.phase = "done"
            self._in_flight -= 1
            self._counts["runs"] += 1
        with contextlib.suppress(RuntimeError):  # the caller's loop is closed: nobody is waiting
            run.loop.call_soon_threadsafe(_deliver, run.waiter, outcome)

    def _expire(self, run: _Run) -> None:
        """The caller's backstop (on its event loop): a run never outlives its deadline by much."""
        if run.waiter.done():
            return
        with self._lock:
            phase = run.phase
            if phase == "queued" and run in self._queue:
                self._queue.remove(run)
            waiting_for_start = phase == "assigned" and run.worker is not None and not run.worker.ready.is_set()
        late = run_clock() - run.deadline
        if waiting_for_start or (phase in ("assigned", "running") and late < DEADLINE_GRACE_S + BACKSTOP_S):
            delay = max(DEADLINE_GRACE_S + BACKSTOP_S - late, TICK_S)
            run.loop.call_later(delay, self._expire, run)
            return
        if phase != "done":
            with self._lock:
                if run.phase != "done":
                    run.phase = "done"
                    run.abandoned = True
                    self._in_flight -= 1
                    self._counts["runs"] += 1
        _deliver(run.waiter, _outcome("TIMEOUT", f"Execution timed out after {run.request.limits.timeout_ms}ms"))

    # ---- the manager thread ----
    def _starting(self) -> list[WorkerProcess]:
        with self._lock:
            return [w for w in self._workers if w.proc is not None and not w.ready.is_set() and not w.dead]

    def _tick_interval(self) -> float | None:
        with self._lock:
            if self._in_flight or self._to_spawn or any(not w.ready.is_set() for w in self._workers):
                return TICK_S
            if self._exiting:
                return TICK_S
            if not self._workers:
                return None
            idle = self.options.idle_timeout
            if idle is None:
                return IDLE_TICK_S
            now = time.monotonic()
            soonest = min(w.idle_since for w in self._workers) + idle / 1000.0
            return min(IDLE_TICK_S, max(soonest - now, TICK_S))

    def _spawn_requested(self) -> None:
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

    def _on_ready_readable(self, worker: WorkerProcess) -> None:
        if not worker.read_ready():
            worker.die("crash")

    def _forget(self, worker: WorkerProcess) -> None:
        """A worker died (it is SIGKILLed already): drop it; runs waiting for the room it held may go on."""
        with self._lock:
            if worker in self._workers:
                self._workers.remove(worker)
                self._exiting.append((worker, time.monotonic() + STOP_TIMEOUT_S))
            key = {"timeout": "timeout_kills", "memory": "memory_kills", "disposed": ""}.get(worker.cause, "crashes")
            if key:
                self._counts[key] += 1
            ready = self._take_queued()
        for run in ready:
            self._dispatch(run)

    def _tick(self) -> None:
        now_wall = run_clock()
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
            head = worker.head()
            if head is None:
                worker.watched_run = -1
            else:
                if worker.watched_run != head.run:
                    worker.watched_run, worker.watched_since = head.run, now_wall
                if now_wall > max(head.deadline, worker.watched_since) + DEADLINE_GRACE_S:
                    worker.die("timeout", head.run)
                    continue
            if cap is not None:
                rss = worker.rss()
                if rss is not None and rss > cap:
                    with self._lock:
                        quiet = worker.open_runs == 0 and worker in self._workers
                        if quiet:
                            self._counts["recycles"] += 1
                            self._retire(worker)
                    if not quiet:
                        worker.die("memory")
                    continue
            if idle_s is not None:
                with self._lock:
                    if worker.open_runs == 0 and worker in self._workers and now - worker.idle_since >= idle_s:
                        self._counts["idle_exits"] += 1
                        self._retire(worker)
        for worker, kill_at in exiting:
            if worker.reap():
                worker.close_pipes()
                with self._lock, contextlib.suppress(ValueError):
                    self._exiting.remove((worker, kill_at))
            elif now >= kill_at:
                worker.kill()


_LIVE_POOLS: weakref.WeakSet[WorkerPoolAdapter] = weakref.WeakSet()


@atexit.register
def _dispose_live_pools() -> None:
    for pool in list(_LIVE_POOLS):
        with contextlib.suppress(Exception):
            pool.dispose()
