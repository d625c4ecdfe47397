"""Shared checks for the security suite: sentinels, the containment checker and the engine-only path."""

from __future__ import annotations

import json
import os
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psutil

from enclave_vm import Enclave, ErrorCode, ExecutionResult
from enclave_vm.bridge.codec import ValueLimits
from enclave_vm.bridge.dispatch import ToolDispatcher
from enclave_vm.bridge.driver import drive
from enclave_vm.bridge.protocol import EngineLimits, RunOutcome, StartRequest
from enclave_vm.engine.session import QuickJsSession
from enclave_vm.guard.instrument import WRAP_PREFIX, WRAP_SUFFIX, instrument
from enclave_vm.guard.parse import parse_script
from engine_fixtures import engine_limits

#: A secret held by the host process. It must never be echoed into a result, stdout or an error.
HOST_SECRET = "h0st-s3cr3t-7f3a9c1e-do-not-leak"
ENV_NAME = "ENCLAVE_SENTINEL"
ENV_SECRET = "s3cr3t-env-51d0e6b2-do-not-leak"
FILE_SECRET = "s3cr3t-file-a8c24f90-do-not-leak"
FILE_NAME = "enclave-sentinel-9e1b.txt"
RSS_BOUND = 200 * 1024 * 1024

VE = ErrorCode.VALIDATION_ERROR
RE = ErrorCode.RUNTIME_ERROR
TE = ErrorCode.TOOL_ERROR
TO = ErrorCode.TIMEOUT
MI = ErrorCode.MAX_ITERATIONS
MT = ErrorCode.MAX_TOOL_CALLS
ML = ErrorCode.MEMORY_LIMIT_EXCEEDED

_MISSING: Any = object()


@dataclass(frozen=True)
class Expect:
    """What a case may end with: one of `codes`, or success with exactly `value` (when given)."""

    codes: frozenset[ErrorCode] = frozenset()
    value: Any = field(default=_MISSING)

    def describe(self) -> str:
        parts = sorted(code.value for code in self.codes)
        if self.value is not _MISSING:
            parts.append(f"value={self.value!r}")
        return " | ".join(parts)


def fails(*codes: ErrorCode) -> Expect:
    return Expect(codes=frozenset(codes))


def returns(value: Any, *codes: ErrorCode) -> Expect:
    """Success with `value`; `codes` are the other layers that may legitimately stop it first."""
    return Expect(codes=frozenset(codes), value=value)


def rss() -> int:
    return int(psutil.Process().memory_info().rss)


def sentinel_path() -> Path:
    return Path(os.environ["ENCLAVE_SENTINEL_FILE"])


def leaked(text: str) -> list[str]:
    """The sentinels (and the sentinel file's path) found in `text`."""
    needles = [HOST_SECRET, ENV_SECRET, FILE_SECRET, FILE_NAME]
    path = os.environ.get("ENCLAVE_SENTINEL_FILE")
    if path:
        needles.append(path)
    return [needle for needle in needles if needle in text]


def check_host_untouched() -> None:
    assert os.environ.get(ENV_NAME) == ENV_SECRET, "the host environment changed"
    assert sentinel_path().read_text(encoding="utf-8") == FILE_SECRET, "the sentinel file changed"


def sentinel_tools(name: str, args: dict[str, Any], context: dict[str, Any] | None) -> Any:
    """Tools granted to attack scripts. The handler can see host secrets but never returns them."""
    secret = HOST_SECRET  # in scope, as a real handler's state would be
    if name == "echo":
        return args
    if name == "fail":
        raise ValueError(str(args.get("message", "tool failed")))
    if name == "big":
        return "x" * int(args["size"])
    if name == "deep":
        value: Any = 0
        for _ in range(int(args["depth"])):
            value = [value]
        return value
    if name == "nonjson":
        return {1, 2, 3}
    if name == "nan":
        return float("nan")
    if name == "cyclic":
        cyc: list[Any] = []
        cyc.append(cyc)
        return cyc
    if name == "count":
        return len(json.dumps(args))
    assert secret
    raise KeyError(f"Unknown tool: {name}")


def check_result(result: ExecutionResult, expect: Expect) -> None:
    """The expected code or value, and no sentinel anywhere in what the script produced."""
    text = repr(result)
    found = leaked(text)
    assert not found, f"host sentinel leaked: {found}"
    if result.success:
        assert expect.value is not _MISSING, (
            f"expected {expect.describe()}, got success value {repr(result.value)[:200]}"
        )
        assert result.value == expect.value, f"expected {expect.describe()}, got value {repr(result.value)[:200]}"
    else:
        assert result.error is not None
        assert result.error.code in expect.codes, (
            f"expected {expect.describe()}, got {result.error.code}: {result.error.message[:300]}"
        )
        assert isinstance(result.error.message, str)
    check_host_untouched()


async def attack(enclave: Enclave, code: str, expect: Expect, **run_options: Any) -> ExecutionResult:
    """Run one attack and assert containment: code/value, sentinels, bounded RSS, the Enclave still works."""
    before = rss()
    result = await enclave.run(code, **run_options)
    check_result(result, expect)
    after = await enclave.run("return 1")
    assert after.success and after.value == 1, f"the next run failed: {after.error}"
    growth = rss() - before
    assert growth < RSS_BOUND, f"host RSS grew by {growth / 2**20:.0f} MiB"
    return result


# ---- the engine-only path: no guard, straight into the engine boundary ----


def wrap(body: str) -> str:
    """The guest body as the engine expects it, without any instrumentation."""
    return WRAP_PREFIX + body + WRAP_SUFFIX


def instrumented(code: str) -> str:
    """`code` instrumented (loop counters, hooks) but never validated."""
    return instrument(parse_script(code)).program


def run_engine(program: str, limits: EngineLimits | None = None, handler: Any = sentinel_tools) -> RunOutcome:
    """Drive one program (an expression evaluating to an async function) through a fresh engine session."""
    limits = limits or engine_limits()
    request = StartRequest(
        program=program,
        globals_json="{}",
        limits=limits,
        deadline=time.monotonic() + limits.timeout_ms / 1000.0,
    )
    session = QuickJsSession(request)
    try:
        tools = ToolDispatcher(handler, None, None, ValueLimits(limits.max_value_bytes, limits.max_value_depth))
        return drive(session, request, tools)
    finally:
        session.close()


def engine_attack(program: str, expect: Expect, limits: EngineLimits | None = None) -> RunOutcome:
    """`attack` for the engine-only path: the code/value, sentinels, RSS, and a next session works."""
    before = rss()
    outcome = run_engine(program, limits)
    found = leaked(repr(outcome))
    assert not found, f"host sentinel leaked: {found}"
    if outcome.ok:
        assert expect.value is not _MISSING, f"expected {expect.describe()}, got value {outcome.value_json[:200]!r}"
        value = json.loads(outcome.value_json) if outcome.value_json else None
        assert value == expect.value, f"expected {expect.describe()}, got value {repr(value)[:200]}"
    else:
        assert ErrorCode(outcome.code) in expect.codes, (
            f"expected {expect.describe()}, got {outcome.code}: {outcome.name}: {outcome.message[:300]}"
        )
    check_host_untouched()
    after = run_engine(wrap("return 1"))
    assert after.ok and after.value_json == "1", f"the next session failed: {after}"
    growth = rss() - before
    assert growth < RSS_BOUND, f"host RSS grew by {growth / 2**20:.0f} MiB"
    return outcome


# ---- the engine-only path through an adapter: any adapter kind, no guard ----


@dataclass
class ToolLog:
    """A tool handler that records every call it ran (the sentinel tools behind it)."""

    calls: list[str] = field(default_factory=list)

    def __call__(self, name: str, args: dict[str, Any], context: dict[str, Any] | None) -> Any:
        self.calls.append(name)
        if name == "mark":
            return "marked"
        if name == "lone":
            return "\udc00"
        if name == "pair-as-two":
            return "\ud83d\ude00"
        if name == "astral":
            return "\U0001f600"
        return sentinel_tools(name, args, context)


async def run_on_adapter(
    adapter: Any, program: str, limits: EngineLimits | None = None, tools: ToolLog | None = None
) -> tuple[RunOutcome, ToolLog, float]:
    """Drive one program through `adapter.execute` (no guard); (outcome, tool log, wall seconds)."""
    limits = limits or engine_limits()
    log = tools or ToolLog()
    started = time.monotonic()
    request = StartRequest(
        program=program, globals_json="{}", limits=limits, deadline=started + limits.timeout_ms / 1000.0
    )
    dispatcher = ToolDispatcher(log, None, None, ValueLimits(limits.max_value_bytes, limits.max_value_depth))
    outcome = await adapter.execute(request, dispatcher)
    return outcome, log, time.monotonic() - started


def outcome_value(outcome: RunOutcome) -> Any:
    return json.loads(outcome.value_json) if outcome.value_json else None


async def adapter_attack(
    adapter: Any, program: str, expect: Expect, limits: EngineLimits | None = None
) -> tuple[RunOutcome, ToolLog]:
    """`engine_attack` through an adapter: the code/value, no sentinel, no `mark` tool call ever ran, and
    the adapter still serves the next run."""
    outcome, log, _ = await run_on_adapter(adapter, program, limits)
    found = leaked(repr(outcome))
    assert not found, f"host sentinel leaked: {found}"
    if outcome.ok:
        assert expect.value is not _MISSING, f"expected {expect.describe()}, got value {outcome.value_json[:200]!r}"
        value = outcome_value(outcome)
        assert value == expect.value, f"expected {expect.describe()}, got value {repr(value)[:200]}"
    else:
        assert ErrorCode(outcome.code) in expect.codes, (
            f"expected {expect.describe()}, got {outcome.code}: {outcome.name}: {outcome.message[:300]}"
        )
    assert "mark" not in log.calls, "a tool call ran after a terminal limit tripped"
    check_host_untouched()
    after, _, _ = await run_on_adapter(adapter, wrap("return 1"))
    assert after.ok and after.value_json == "1", f"the next run failed: {after}"
    return outcome, log
