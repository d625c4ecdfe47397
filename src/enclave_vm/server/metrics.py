"""Prometheus metrics of one app, in a registry of its own (several apps in one process never mix):
runs by outcome, run durations, tool calls, runs in flight and requests by status."""

from __future__ import annotations

from collections.abc import Callable

from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Gauge, Histogram, generate_latest

from ..outcome import ErrorCode
from ..results import ExecutionResult
from ..streaming import RunEvent, ToolCallEvent, ToolResultEvent
from ..telemetry import outcome_label

CONTENT_TYPE = CONTENT_TYPE_LATEST
#: A run the client left before its result (its run was cancelled).
CANCELLED = "cancelled"
#: Every outcome a run can have, shown from the start (at 0) so that dashboards and alerts see them all.
OUTCOMES = ("ok", "suspended", *(code.value for code in ErrorCode), CANCELLED)
_DURATION_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0)


class ServiceMetrics:
    def __init__(self, in_flight: Callable[[], float]) -> None:
        self.registry = CollectorRegistry()
        self.runs = Counter(
            "enclave_runs",
            "Runs by outcome: ok, suspended (a paused durable run), the error code, or cancelled (the client left)",
            ["outcome"],
            registry=self.registry,
        )
        for outcome in OUTCOMES:
            self.runs.labels(outcome)
        self.run_duration = Histogram(
            "enclave_run_duration_seconds",
            "Wall-clock duration of finished runs, tool calls included",
            buckets=_DURATION_BUCKETS,
            registry=self.registry,
        )
        self.tool_calls = Counter("enclave_tool_calls", "Tool calls the host started", registry=self.registry)
        self.tool_call_failures = Counter(
            "enclave_tool_call_failures", "Tool calls that failed (raised, unknown tool, bad arguments)",
            registry=self.registry,
        )  # fmt: skip
        self.in_flight = Gauge("enclave_runs_in_flight", "Runs in flight", registry=self.registry)
        self.in_flight.set_function(in_flight)
        self.requests = Counter(
            "enclave_http_requests", "HTTP requests by status code", ["status"], registry=self.registry
        )

    def observe_event(self, event: RunEvent) -> None:
        if isinstance(event, ToolCallEvent):
            self.tool_calls.inc()
        elif isinstance(event, ToolResultEvent) and not event.ok:
            self.tool_call_failures.inc()

    def observe_result(self, result: ExecutionResult) -> str:
        """Count a finished run; returns its outcome label."""
        outcome = outcome_label(result)
        self.runs.labels(outcome).inc()
        self.run_duration.observe(result.stats.duration / 1000.0)
        return outcome

    def observe_cancelled(self) -> None:
        self.runs.labels(CANCELLED).inc()

    def observe_request(self, status: int) -> None:
        self.requests.labels(str(status)).inc()

    def render(self) -> bytes:
        return generate_latest(self.registry)
