"""Driver threads: each drives one run at a time on its actor (drive() and the run's sync tools run
here), then the next queued run if the adapter hands it one."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..job_thread import JobThread
from .run import RayRun

if TYPE_CHECKING:
    from .adapter import RayAdapter


class DriverThread(JobThread[RayRun]):
    def __init__(self, adapter: RayAdapter, index: int) -> None:
        super().__init__(f"enclave-ray-driver-{index}")
        self._adapter = adapter

    def serve(self) -> None:
        adapter = self._adapter
        while True:
            job = self.next_job()
            if job is None:
                return
            while job is not None:
                job = adapter.drive(job)
            if not adapter.check_in(self):
                return
