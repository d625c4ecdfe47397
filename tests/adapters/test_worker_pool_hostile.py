"""A worker that no longer follows the protocol (as a compromised engine might) ends its run with a clean
RUNTIME_ERROR and is killed; the host never trusts, allocates for or waits on what it claims.

The stand-in workers are real processes that answer the first message with something hostile."""

from __future__ import annotations

import asyncio
import sys
import time
import tracemalloc
from typing import Any

import pytest

from enclave_vm import Enclave, ErrorCode, WorkerPoolOptions
from enclave_vm.adapters.worker_pool import WorkerChannel, WorkerPoolAdapter, WorkerProcess
from enclave_vm.bridge.codec import ValueLimits
from enclave_vm.bridge.dispatch import ToolDispatcher
from enclave_vm.bridge.driver import drive
from enclave_vm.bridge.protocol import EngineLimits, RunOutcome, StartRequest
from engine_fixtures import engine_limits

STAND_IN = """
import json, os, sys, time

def send_raw(data):
    os.write(1, data)

def send(message):
    body = json.dumps(message).encode()
    send_raw(len(body).to_bytes(4, "big") + body)

def read_exact(n):
    data = b""
    while len(data) < n:
        chunk = os.read(0, n - len(data))
        if not chunk:
            sys.exit(0)
        data += chunk
    return data

FLOOD = b'["slice", %d, [], [], 0, "", "", null, null, [], [], false, ' % 1 + b"{}," * 1000000 + b"0]"
STRINGS = b"[" + b",".join([b'"ab"'] * 500000) + b"]"

OK1 = [True, "1", "", "", "", "", ""]

def slice_(stdout, record, iterations=0, memory=None):
    send(["slice", run, [], stdout, iterations, "", "", record, memory, ["log"] * len(stdout), [], False])

def final(value):
    send(["slice", run, [], [], 0, "", "", [True, value, "", "", "", "", ""], None, [], [], False])

send(["ready", os.getpid(), 0.0])
size = int.from_bytes(read_exact(4), "big")
run = json.loads(read_exact(size))[1]
{answer}
time.sleep(60)
"""

HOSTILE = {
    "huge-header": 'send_raw((2**32 - 1).to_bytes(4, "big") + b"[")',
    "not-json": 'send_raw((7).to_bytes(4, "big") + b"{oops!}")',
    "nested-bomb": 'body = b"[" * 200000 + b"]" * 200000; send_raw(len(body).to_bytes(4, "big") + body)',
    "wrong-run": 'send(["slice", run + 1, [], [], 0, "", "", [True, "1", "", "", "", "", ""], None, [], [], False])',
    "bad-slice": 'send(["slice", run, "calls", [], 0, "", "", None, None, [], [], False])',
    "bad-kind": 'send(["hello", run])',
    "console-flood": 'slice_(["x"] * 500, OK1)',
    "console-bytes": 'slice_(["x" * 70000], OK1)',
    "container-flood": 'send_raw(len(FLOOD).to_bytes(4, "big") + FLOOD)',
    "string-flood": 'send_raw(len(STRINGS).to_bytes(4, "big") + STRINGS)',
    "value-not-json": 'final("{not json")',
    "value-nested-bomb": 'final("[" * 100000 + "]" * 100000)',
    "value-too-large": 'final("1" * (2 << 20))',
    "truncated": 'send_raw((100).to_bytes(4, "big") + b"[1, 2"); sys.exit(0)',
    "exit": "sys.exit(3)",
    "silence-then-close": "os.close(1); time.sleep(60)",
}


def limits() -> EngineLimits:
    return engine_limits(timeout_ms=5000, max_tool_calls=10, max_iterations=1000, memory_limit=16 << 20)


def run_against(answer: str) -> tuple[RunOutcome, WorkerProcess, float]:
    deaths: list[WorkerProcess] = []
    worker = WorkerProcess(1, None, deaths.append)
    worker.spawn([sys.executable, "-I", "-c", STAND_IN.replace("{answer}", answer)])
    assert worker.read_ready()
    request = StartRequest(program="(async () => 1)", globals_json="{}", limits=limits(), deadline=time.monotonic() + 5)
    tools = ToolDispatcher(None, None, None, ValueLimits(1 << 20, 32))
    channel = WorkerChannel(worker, 1, request)
    started = time.perf_counter()
    try:
        outcome = drive(channel, request, tools)
    finally:
        channel.close()
    elapsed = time.perf_counter() - started
    worker.kill()
    assert worker.proc is not None
    worker.proc.wait(timeout=5)
    worker.close_pipes()
    return outcome, worker, elapsed


@pytest.mark.parametrize("case", sorted(HOSTILE))
def test_hostile_answers_end_the_run_cleanly(case: str) -> None:
    outcome, worker, elapsed = run_against(HOSTILE[case])
    assert not outcome.ok
    assert outcome.code == "RUNTIME_ERROR" and outcome.name == "WorkerCrashedError", outcome
    assert worker.dead and elapsed < 2.0


def test_an_exit_status_is_reported() -> None:
    outcome, _, _ = run_against(HOSTILE["exit"])
    assert "exit status 3" in outcome.message


def test_an_honest_stand_in_is_accepted() -> None:
    outcome, worker, _ = run_against('slice_(["hi"], [True, "42", "", "", "", "", ""], 2, 10)')
    assert outcome.ok and outcome.value_json == "42" and outcome.stdout == ["hi"] and outcome.iteration_count == 2
    assert not worker.dead or worker.cause != "protocol"


def test_a_container_flood_is_refused_before_it_is_parsed() -> None:
    # Parsed, the 3 MB frame would build a million dicts (over 60 MB); refused, the host holds its bytes.
    tracemalloc.start()
    try:
        outcome, worker, _ = run_against(HOSTILE["container-flood"])
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert outcome.name == "WorkerCrashedError" and worker.cause == "protocol"
    assert peak < 16 << 20, peak


@pytest.mark.parametrize("case", ["value-not-json", "value-nested-bomb", "value-too-large"])
def test_a_final_value_outside_the_limits_is_a_protocol_violation(case: str) -> None:
    outcome, worker, _ = run_against(HOSTILE[case])
    assert outcome.name == "WorkerCrashedError" and worker.cause == "protocol"
    assert "value" in outcome.message


HONEST = {
    "raw-json-number": 'final("9" * 5000)',
    "deep-value": 'final("[" * 3000 + "]" * 3000)',
    # 65536 console bytes (the limits above): each line's UTF-8 bytes and its newline.
    "console-at-the-cap": 'slice_(["€" * 21845], OK1)',
    "console-lines-at-the-cap": 'slice_(["x" * 654] * 100, OK1)',
}


@pytest.mark.parametrize("case", sorted(HONEST))
def test_what_an_honest_engine_can_send_is_accepted(case: str) -> None:
    outcome, worker, _ = run_against(HONEST[case])
    assert outcome.ok, outcome
    assert worker.cause != "protocol"


def test_one_byte_over_the_console_cap_is_a_violation() -> None:
    outcome, worker, _ = run_against(HONEST["console-at-the-cap"].replace("21845", "21845 + 'x'"))
    assert outcome.name == "WorkerCrashedError" and worker.cause == "protocol"


def test_a_second_answer_nobody_asked_for_is_a_violation() -> None:
    # One write, so that the host finds both frames in its first read.
    answer = (
        'frames = [json.dumps(["slice", run, [], [], 0, "", "", [True, v, "", "", "", "", ""], None, [], [], False])'
        '.encode() for v in ("1", "2")]; send_raw(b"".join(len(f).to_bytes(4, "big") + f for f in frames))'
    )
    outcome, worker, _ = run_against(answer)
    assert outcome.name == "WorkerCrashedError" and worker.cause == "protocol"


def test_a_deep_value_within_the_size_limit_is_passed_on() -> None:
    # The engine caps a returned value's size, not its depth (the in-process adapter returns it as is).
    value = "[" * 40 + "]" * 40
    outcome, _, _ = run_against(f'slice_([], [True, "{value}", "", "", "", "", ""])')
    assert outcome.ok and outcome.value_json == value


# ---- through the pool ----

UNASKED_WHILE_IDLE = """
import fcntl, struct, termios
final("1")
while struct.unpack("i", fcntl.ioctl(1, termios.FIONREAD, b"\\0\\0\\0\\0"))[0]:  # until the host read it
    time.sleep(0.001)
send_raw(b"\\0\\0\\0\\2[]")
"""


async def run_in_pool_against(monkeypatch: pytest.MonkeyPatch, answer: str) -> tuple[Any, WorkerPoolAdapter]:
    command = [sys.executable, "-I", "-c", STAND_IN.replace("{answer}", answer)]
    original = WorkerProcess.spawn
    monkeypatch.setattr(WorkerProcess, "spawn", lambda self, _command=None: original(self, command))
    pool = WorkerPoolAdapter(WorkerPoolOptions(pool_size=1))
    enclave = Enclave(adapter=pool)
    return await enclave.run("return 1"), pool


async def test_a_violation_through_the_pool_kills_the_worker(monkeypatch: pytest.MonkeyPatch) -> None:
    result, pool = await run_in_pool_against(monkeypatch, HOSTILE["value-not-json"])
    try:
        assert result.error is not None and result.error.code is ErrorCode.RUNTIME_ERROR
        assert result.error.name == "WorkerCrashedError"
        stats = pool.stats()
        assert stats.crashes == 1 and stats.runs == 1
    finally:
        pool.dispose()


async def test_an_idle_worker_that_sends_unasked_is_killed(monkeypatch: pytest.MonkeyPatch) -> None:
    result, pool = await run_in_pool_against(monkeypatch, UNASKED_WHILE_IDLE)
    try:
        assert result.value == 1  # its run was answered honestly; what came after costs no run
        deadline = time.monotonic() + 10
        while pool.stats().crashes == 0 and time.monotonic() < deadline:
            await asyncio.sleep(0.01)
        assert pool.stats().crashes == 1 and pool.stats().runs == 1
    finally:
        pool.dispose()
