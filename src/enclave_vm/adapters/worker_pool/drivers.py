"""Driver threads: each drives one run at a time on its worker (drive() and the run's sync tools run
here), then the next queued run if the pool hands it one."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..job_thread import JobThread
from .run import PoolRun

if TYPE_CHECKING:
    from .adapter import WorkerPoolAdapter


class DriverThread(JobThread[PoolRun]):
    def __init__(self, pool: WorkerPoolAdapter, index: int) -> None:
        super().__init__(f"enclave-pool-driver-{index}")
        self._pool = pool

    def serve(self) -> None:
        pool = self._pool
        while True:
            job = self.next_job()
            if job is None:
                return
            while job is not None:
                job = pool.drive(job)
            if not pool.check_in(self):
                return
