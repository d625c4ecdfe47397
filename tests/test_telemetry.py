"""Telemetry: OpenTelemetry spans (with the SDK's in-memory exporter) and the per-run log record; neither
ever carries the script, its tool arguments, values, messages or output."""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
import subprocess
import sys
from collections.abc import Iterator
from typing import Any

import pytest
from opentelemetry import trace
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.util._once import Once

from adapter_kinds import MakeEnclave
from enclave_vm import Enclave, ErrorCode, Suspend, Toolset, telemetry

SECRETS = ("s3cr3t-arg-7731", "s3cr3t-value-8842", "s3cr3t-log-9953", "s3cr3t-throw-1064", "s3cr3t-tool-2175")
SECRET_SCRIPT = f"""
const row = await callTool('crm:lookup', {{ email: '{SECRETS[0]}' }});
console.log('{SECRETS[2]}', row.note);
try {{ await callTool('crm:fail', {{ token: '{SECRETS[0]}' }}); }} catch (e) {{ console.log(e.message); }}
if (row.note === 'never') throw {{ message: '{SECRETS[3]}' }};
return {{ value: '{SECRETS[1]}', note: row.note }};
"""


def _reset_tracer_provider() -> None:
    # The API lets a process set its tracer provider once; tests put the default (no provider) back.
    trace._TRACER_PROVIDER_SET_ONCE = Once()  # type: ignore[attr-defined]
    trace._TRACER_PROVIDER = None  # type: ignore[attr-defined]


@pytest.fixture
def spans() -> Iterator[InMemorySpanExporter]:
    """A real SDK tracer provider exporting into memory, installed for one test."""
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    _reset_tracer_provider()
    trace.set_tracer_provider(provider)
    try:
        yield exporter
    finally:
        provider.shutdown()
        _reset_tracer_provider()


def by_name(finished: tuple[ReadableSpan, ...], name: str) -> list[ReadableSpan]:
    return [span for span in finished if span.name == name]


def tools(name: str, args: dict[str, Any], context: dict[str, Any] | None) -> Any:
    if name == "crm:fail":
        raise PermissionError(f"denied for {args.get('token')} ({SECRETS[4]})")
    return {"note": f"{SECRETS[4]} for {args.get('email')}"}


# ---- spans ----
async def test_a_run_is_one_span_with_its_children_under_the_callers_span(spans: InMemorySpanExporter) -> None:
    code = "const a = await callTool('a', {});\nconst b = await callTool('b', {});\nreturn [a, b];"
    tracer = trace.get_tracer("tests")
    async with Enclave(tool_handler=lambda name, args, context: name, security_level="SECURE") as enclave:
        with tracer.start_as_current_span("agent.turn") as turn:
            result = await enclave.run(code)
    assert result.value == ["a", "b"]

    finished = spans.get_finished_spans()
    [run] = by_name(finished, "enclave.run")
    assert run.parent is not None and run.parent.span_id == turn.get_span_context().span_id
    assert dict(run.attributes or {}) == {
        "enclave.security_level": "SECURE",
        "enclave.adapter": "inprocess",
        "enclave.code_sha256": hashlib.sha256(code.encode()).hexdigest(),
        "enclave.outcome": "ok",
        "enclave.tool_calls": 2,
        "enclave.iterations": 0,
    }
    run_id = run.get_span_context().span_id
    [validate] = by_name(finished, "enclave.validate")
    calls = by_name(finished, "enclave.tool_call")
    assert validate.parent is not None and validate.parent.span_id == run_id
    assert [span.attributes["enclave.tool.name"] for span in calls] == ["a", "b"]  # type: ignore[index]
    assert all(span.parent is not None and span.parent.span_id == run_id for span in calls)
    assert by_name(finished, "enclave.score") == []  # no gate configured
    assert run.status.status_code is trace.StatusCode.UNSET


async def test_outcome_is_the_error_code_and_the_span_is_marked_failed(spans: InMemorySpanExporter) -> None:
    async with Enclave(security_level="STRICT") as enclave:
        looped = await enclave.run("let n = 0;\nfor (let i = 0; i < 1e6; i++) { n++ }\nreturn n;")
        invalid = await enclave.run("eval('1')")
    assert looped.error is not None and looped.error.code is ErrorCode.MAX_ITERATIONS
    assert invalid.error is not None and invalid.error.code is ErrorCode.VALIDATION_ERROR
    runs = by_name(spans.get_finished_spans(), "enclave.run")
    assert [span.attributes["enclave.outcome"] for span in runs] == ["MAX_ITERATIONS", "VALIDATION_ERROR"]  # type: ignore[index]
    assert runs[0].attributes["enclave.iterations"] == 1001  # type: ignore[index]
    assert all(span.status.status_code is trace.StatusCode.ERROR for span in runs)
    assert all(span.status.description is None for span in runs)  # never the message


async def test_the_score_span_carries_the_score(spans: InMemorySpanExporter) -> None:
    gate = {"scorer": "rule-based", "block_threshold": 100, "warn_threshold": 1}
    risky = "const users = await callTool('users:list', { limit: 100000 });\nreturn users.length;"
    async with Enclave(scoring_gate=gate, tool_handler=lambda name, args, context: []) as enclave:
        result = await enclave.run(risky)
    assert result.scoring is not None
    [score] = by_name(spans.get_finished_spans(), "enclave.score")
    assert score.attributes == {"enclave.score": result.scoring.score}
    [run] = by_name(spans.get_finished_spans(), "enclave.run")
    assert score.parent is not None and score.parent.span_id == run.get_span_context().span_id


async def test_async_and_failing_tools_get_their_own_spans(spans: InMemorySpanExporter) -> None:
    toolset = Toolset()

    @toolset.tool
    async def slow(n: int) -> int:
        await asyncio.sleep(0)
        return n + 1

    @toolset.tool
    def broken() -> int:
        raise LookupError("no such row")

    async with Enclave(tool_handler=toolset) as enclave:
        result = await enclave.run(
            "const a = await callTool('slow', { n: 1 });\n"
            "try { await callTool('broken', {}); } catch (e) {}\n"
            "try { await callTool('slow', { n: 'x' }); } catch (e) {}\n"
            "return a;"
        )
    assert result.value == 2
    calls = by_name(spans.get_finished_spans(), "enclave.tool_call")
    assert [(span.attributes or {}).get("enclave.tool.name") for span in calls] == ["slow", "broken", "slow"]
    assert [(span.attributes or {}).get("error.type") for span in calls] == [None, "LookupError", "ToolArgumentError"]
    assert [span.status.status_code for span in calls] == [
        trace.StatusCode.UNSET,
        trace.StatusCode.ERROR,
        trace.StatusCode.ERROR,
    ]


async def test_a_tools_own_spans_nest_under_its_tool_call(spans: InMemorySpanExporter) -> None:
    tracer = trace.get_tracer("tests")

    def sync_tool(name: str, args: dict[str, Any], context: dict[str, Any] | None) -> Any:
        with tracer.start_as_current_span("db.query"):
            return 1

    async with Enclave(tool_handler=sync_tool) as enclave:
        await enclave.run("return await callTool('q', {})")
    finished = spans.get_finished_spans()
    [query] = by_name(finished, "db.query")
    [call] = by_name(finished, "enclave.tool_call")
    assert query.parent is not None and query.parent.span_id == call.get_span_context().span_id


async def test_no_span_or_log_record_holds_the_script_its_arguments_values_or_output(
    spans: InMemorySpanExporter, make_enclave: MakeEnclave, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.DEBUG, logger="enclave_vm"):
        async with make_enclave(tool_handler=tools, verbose_errors=True) as enclave:
            result = await enclave.run(SECRET_SCRIPT, context={"tenant": SECRETS[0]})
            thrown = await enclave.run(f"throw {{ message: '{SECRETS[3]}' }}")
            blocked = await enclave.run(f"eval('{SECRETS[3]}')")
    assert result.success, result.error
    assert SECRETS[1] in json.dumps(result.value) and SECRETS[2] in result.stdout  # the secrets did flow
    assert thrown.error is not None and SECRETS[3] in thrown.error.message
    assert blocked.error is not None and blocked.error.code is ErrorCode.VALIDATION_ERROR

    finished = spans.get_finished_spans()
    assert len(by_name(finished, "enclave.run")) == 3 and len(by_name(finished, "enclave.tool_call")) == 2
    texts: list[str] = []
    for span in finished:
        texts += [span.name, str(span.status.description or "")]
        texts += [f"{key}={value}" for key, value in (span.attributes or {}).items()]
        for event in span.events:
            texts += [event.name, *(f"{key}={value}" for key, value in (event.attributes or {}).items())]
    texts += [record.getMessage() for record in caplog.records]
    texts += [json.dumps({k: str(v) for k, v in vars(record).items()}) for record in caplog.records]
    everything = "\n".join(texts)
    for secret in SECRETS:
        assert secret not in everything
    for line in SECRET_SCRIPT.strip().splitlines():
        assert line.strip() not in everything


# ---- logging ----
async def test_one_debug_record_per_run_with_outcome_duration_and_counts(caplog: pytest.LogCaptureFixture) -> None:
    async with Enclave(tool_handler=lambda name, args, context: 1) as enclave:
        with caplog.at_level(logging.DEBUG, logger="enclave_vm"):
            await enclave.run("const a = await callTool('x', {});\nfor (const i of [1, 2]) {}\nreturn a;")
            await enclave.run("return undefinedName;")
    records = [record for record in caplog.records if record.name == "enclave_vm"]
    assert len(records) == 2 and all(record.levelno == logging.DEBUG for record in records)
    ok, failed = records
    assert ok.enclave_outcome == "ok" and failed.enclave_outcome == "VALIDATION_ERROR"  # type: ignore[attr-defined]
    assert (ok.enclave_tool_calls, ok.enclave_iterations) == (1, 2)  # type: ignore[attr-defined]
    assert ok.enclave_duration_ms > 0 and ok.enclave_security_level == "STANDARD"  # type: ignore[attr-defined]
    assert ok.getMessage().startswith("run ok in ") and "1 tool call(s), 2 loop iteration(s)" in ok.getMessage()


async def test_no_record_when_debug_is_off(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.INFO, logger="enclave_vm"):
        async with Enclave() as enclave:
            await enclave.run("return 1")
    assert [record for record in caplog.records if record.name == "enclave_vm"] == []


# ---- without a provider, without the package ----
async def test_without_a_tracer_provider_nothing_is_traced() -> None:
    _reset_tracer_provider()
    assert telemetry.tracing() is False
    handler = Toolset()
    assert telemetry.traced_handler(handler) is handler  # no wrapper, no span per tool call
    async with Enclave() as enclave:
        assert (await enclave.run("return 1")).value == 1


def test_without_opentelemetry_installed_runs_do_not_import_it() -> None:
    script = """
import sys
sys.modules['opentelemetry'] = None
from enclave_vm import Enclave, telemetry
assert telemetry.tracing() is False
with Enclave() as enclave:
    assert enclave.run_sync("return 40 + 2").value == 42
assert sys.modules['opentelemetry'] is None and 'opentelemetry.trace' not in sys.modules
print("ok")
"""
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60, check=False)
    assert (done.returncode, done.stdout) == (0, "ok\n"), done.stderr


async def test_a_paused_run_is_labelled_suspended(
    spans: InMemorySpanExporter, caplog: pytest.LogCaptureFixture
) -> None:
    def tools(name: str, args: dict[str, Any], context: dict[str, Any] | None) -> Any:
        raise Suspend("needs approval")

    with caplog.at_level(logging.DEBUG, logger="enclave_vm"):
        async with Enclave(tool_handler=tools) as enclave:
            paused = await enclave.run("return await callTool('transfer', { amount: 30 })")
            assert paused.suspended is not None
            resumed = await enclave.resume(paused.suspended.token, {"ok": True})
    assert resumed.value == {"ok": True}
    runs = by_name(spans.get_finished_spans(), "enclave.run")
    assert [span.attributes["enclave.outcome"] for span in runs] == ["suspended", "ok"]  # type: ignore[index]
    assert runs[0].status.status_code is trace.StatusCode.UNSET  # a pause is not a failure
    assert [record.enclave_outcome for record in caplog.records if record.name == "enclave_vm"] == [  # type: ignore[attr-defined]
        "suspended",
        "ok",
    ]
