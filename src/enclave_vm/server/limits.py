"""The gate runs pass through: at most `max_concurrency` in flight (429 past that), none once the
service drains for shutdown (503)."""

from __future__ import annotations

from .errors import HttpError


class RunSlot:
    """One admitted run; `release()` (idempotent) gives its place back."""

    def __init__(self, gate: RunGate) -> None:
        self._gate: RunGate | None = gate

    def release(self) -> None:
        gate, self._gate = self._gate, None
        if gate is not None:
            gate.in_flight -= 1


class RunGate:
    """Counts runs in flight. Used from the event loop's thread only (the loop is the lock)."""

    def __init__(self, max_concurrency: int) -> None:
        if isinstance(max_concurrency, bool) or not isinstance(max_concurrency, int) or max_concurrency < 1:
            raise ValueError(f"max_concurrency must be an int >= 1; got {max_concurrency!r}")
        self.max_concurrency = max_concurrency
        self.in_flight = 0
        self.draining = False

    def check_open(self) -> None:
        """HttpError 503 while draining (checked before a run's body is read, and again on entering)."""
        if self.draining:
            raise HttpError(503, "shutting_down", "The service is shutting down and takes no new runs")

    def enter(self) -> RunSlot:
        """A slot for one more run; HttpError 503 while draining, 429 when full."""
        self.check_open()
        if self.in_flight >= self.max_concurrency:
            raise HttpError(
                429,
                "too_many_runs",
                f"{self.in_flight} runs are in flight, the most this service takes at once; retry later",
                headers={"retry-after": "1"},
            )
        self.in_flight += 1
        return RunSlot(self)

    def drain(self) -> None:
        """Take no new runs; those in flight go on."""
        self.draining = True
