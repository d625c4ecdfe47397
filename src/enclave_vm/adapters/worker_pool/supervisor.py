"""The pool's supervisor thread: its clock and the owner of its processes.

It spawns workers (on Linux a worker dies with the thread that started it, so this long-lived thread is
their parent), reads their ready frames, and watches the pipes nobody else reads: an idle worker's (it
must stay silent) and a busy worker's while its run's tools run (the driver thread is in the tool
dispatcher then), so a death is noticed at once. On every tick it kills workers that overran a deadline
or their memory cap, retires idle ones and reaps the dead.
"""

from __future__ import annotations

import contextlib
import os
import select
import threading
from typing import TYPE_CHECKING

from .process import WorkerProcess

if TYPE_CHECKING:
    from .adapter import WorkerPoolAdapter

_HANG_UP = select.POLLHUP | select.POLLERR | select.POLLNVAL


class Supervisor(threading.Thread):
    def __init__(self, pool: WorkerPoolAdapter) -> None:
        super().__init__(name="enclave-pool-supervisor", daemon=True)
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
                self._watch_once()
                if self.stopping:
                    break
                pool.spawn_requested()
                pool.tick()
        finally:
            os.close(self._wake_r)
            os.close(self._wake_w)

    def _watch_once(self) -> None:
        pool = self._pool
        starting, idle, waiting = pool.watched_workers()
        poller = select.poll()
        poller.register(self._wake_r, select.POLLIN)
        watched: dict[int, tuple[str, WorkerProcess]] = {}
        for kind, workers, events in (
            ("starting", starting, select.POLLIN),
            ("idle", idle, select.POLLIN),
            ("waiting", waiting, 0),  # only hang-ups: its next answer is its driver thread's to read
        ):
            for worker in workers:
                fd = worker.answer_fd
                if fd >= 0 and fd not in watched:
                    watched[fd] = (kind, worker)
                    poller.register(fd, events)
        interval = pool.tick_interval()
        for fd, events in poller.poll(None if interval is None else interval * 1000):
            if fd == self._wake_r:
                with contextlib.suppress(BlockingIOError):
                    os.read(self._wake_r, 4096)
                continue
            kind, worker = watched[fd]
            if kind == "starting":
                if not worker.read_ready():
                    worker.die("crash")
            elif kind == "idle":
                pool.on_idle_event(worker)
            elif events & _HANG_UP:
                worker.die("crash")  # ends its run at once (the pool's on_death)
