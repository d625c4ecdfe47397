"""What a run tells the host's observability: one DEBUG record per run on the `enclave_vm` logger and,
when `opentelemetry-api` is importable (extra `enclave-vm[otel]`), OpenTelemetry spans.

Both carry what a run was and how it ended — security level, adapter, outcome (`ok` or the error
code), duration, counts, the SHA-256 of the code, tool names — and never the code itself, tool
arguments, values, messages or output: a script and its data may be secret, and telemetry is read by
people and systems that must not see them.

Spans: `enclave.run` (a child of the caller's current span) with children `enclave.validate`,
`enclave.score` and one `enclave.tool_call` per tool call. Nothing is done when no tracer provider is
installed (the API's default), so a run pays one check, not a span.
"""

from __future__ import annotations

import contextlib
import hashlib
import importlib.metadata
import inspect
import logging
from collections.abc import Awaitable, Iterator
from typing import TYPE_CHECKING, Any

from .results import ExecutionResult, ScoringResult

if TYPE_CHECKING:
    from .bridge.dispatch import ToolHandler

logger = logging.getLogger("enclave_vm")

try:  # imported once: without the extra, telemetry is a constant `False`
    from opentelemetry import context as _otel_context
    from opentelemetry import trace as _otel_trace
except ImportError:  # pragma: no cover - depends on the environment
    _otel_trace = None  # type: ignore[assignment]
    _otel_context = None  # type: ignore[assignment]

if TYPE_CHECKING:
    from opentelemetry.trace import Span, Tracer

_NO_PROVIDER: tuple[type, ...] = (
    (_otel_trace.ProxyTracerProvider, _otel_trace.NoOpTracerProvider) if _otel_trace is not None else ()
)
_tracer: Tracer | None = None
_tracer_provider: object = None
#: Tool names come from the script; an attribute holds at most this many characters of one.
MAX_TOOL_NAME = 128


def outcome_label(result: ExecutionResult) -> str:
    """`ok`, `suspended` (a paused durable run) or the error code."""
    if result.success:
        return "ok"
    if result.suspended is not None:
        return "suspended"
    return str(result.error.code) if result.error is not None else "failed"


# ---- logging ----
def log_run(result: ExecutionResult, security_level: str, adapter: str) -> None:
    """One DEBUG record per run: outcome, duration, counts. Structured fields are in `extra`."""
    if not logger.isEnabledFor(logging.DEBUG):
        return
    stats = result.stats
    outcome = outcome_label(result)
    logger.debug(
        "run %s in %.1f ms: %d tool call(s), %d loop iteration(s) (%s, %s)",
        outcome,
        stats.duration,
        stats.tool_call_count,
        stats.iteration_count,
        security_level,
        adapter,
        extra={
            "enclave_outcome": outcome,
            "enclave_duration_ms": stats.duration,
            "enclave_tool_calls": stats.tool_call_count,
            "enclave_iterations": stats.iteration_count,
            "enclave_memory_usage": stats.memory_usage,
            "enclave_security_level": security_level,
            "enclave_adapter": adapter,
        },
    )


# ---- tracing ----
def tracing() -> bool:
    """Whether spans are recorded: opentelemetry is importable and a real tracer provider is installed."""
    return _otel_trace is not None and not isinstance(_otel_trace.get_tracer_provider(), _NO_PROVIDER)


def _get_tracer() -> Tracer:
    """The tracer of the installed provider, taken once per provider (a process may replace it)."""
    global _tracer, _tracer_provider
    assert _otel_trace is not None
    provider = _otel_trace.get_tracer_provider()
    if _tracer is None or provider is not _tracer_provider:
        try:
            version: str | None = importlib.metadata.version("enclave-vm")
        except importlib.metadata.PackageNotFoundError:
            version = None
        _tracer, _tracer_provider = provider.get_tracer("enclave_vm", version), provider
    return _tracer


@contextlib.contextmanager
def run_span(code: str, security_level: str, adapter: str) -> Iterator[Span]:
    """The `enclave.run` span, current while the run goes on (its children nest under it)."""
    with _get_tracer().start_as_current_span(
        "enclave.run", record_exception=False, set_status_on_exception=False
    ) as span:
        if span.is_recording():
            span.set_attribute("enclave.security_level", security_level)
            span.set_attribute("enclave.adapter", adapter)
            if isinstance(code, str):  # anything else is refused by the run itself
                digest = hashlib.sha256(code.encode("utf-8", "surrogatepass")).hexdigest()
                span.set_attribute("enclave.code_sha256", digest)
        try:
            yield span
        except BaseException as exc:  # the type only: an exception's message may quote the script
            _failed(span, exc)
            raise


def end_run(span: Span, result: ExecutionResult) -> None:
    """The outcome and counts of the run on its span."""
    if not span.is_recording():
        return
    outcome = outcome_label(result)
    span.set_attribute("enclave.outcome", outcome)
    span.set_attribute("enclave.tool_calls", result.stats.tool_call_count)
    span.set_attribute("enclave.iterations", result.stats.iteration_count)
    if outcome not in ("ok", "suspended"):
        span.set_status(_otel_trace.StatusCode.ERROR)


@contextlib.contextmanager
def child_span(name: str) -> Iterator[Span | None]:
    """A child of the current run span (`enclave.validate`, `enclave.score`); None when not tracing."""
    if not tracing():
        yield None
        return
    with _get_tracer().start_as_current_span(name, record_exception=False, set_status_on_exception=False) as span:
        try:
            yield span
        except BaseException as exc:
            _failed(span, exc)
            raise


def set_score(span: Span | None, scoring: ScoringResult | None) -> None:
    if span is not None and scoring is not None and span.is_recording():
        span.set_attribute("enclave.score", scoring.score)


def traced_handler(handler: ToolHandler | None) -> ToolHandler | None:
    """`handler` with an `enclave.tool_call` span around each call, parented on the current span (the
    run's): sync tools run on an engine thread and async ones in a task of their own, where the
    caller's context is not current."""
    if handler is None or not tracing():
        return handler
    assert _otel_context is not None and _otel_trace is not None
    parent = _otel_context.get_current()
    tracer = _get_tracer()
    trace = _otel_trace

    def call(name: str, args: dict[str, Any], context: dict[str, Any] | None) -> Any:
        attributes = {"enclave.tool.name": name[:MAX_TOOL_NAME]}
        span = tracer.start_span("enclave.tool_call", context=parent, attributes=attributes)
        try:
            with trace.use_span(span, end_on_exit=False, record_exception=False, set_status_on_exception=False):
                value = handler(name, args, context)
        except BaseException as exc:
            _failed(span, exc)
            span.end()
            raise
        if inspect.isawaitable(value):
            return _finish(span, value)
        span.end()
        return value

    async def _finish(span: Span, pending: Awaitable[Any]) -> Any:
        try:
            with trace.use_span(span, end_on_exit=False, record_exception=False, set_status_on_exception=False):
                return await pending
        except BaseException as exc:
            _failed(span, exc)
            raise
        finally:
            span.end()

    return call


def _failed(span: Span, exc: BaseException) -> None:
    """Mark `span` failed with the exception's type; its message is never recorded."""
    if span.is_recording():
        span.set_attribute("error.type", type(exc).__qualname__)
        span.set_status(_otel_trace.StatusCode.ERROR)
