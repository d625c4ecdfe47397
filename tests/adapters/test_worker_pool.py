"""The worker pool with real processes: lazy start, hard kills, crashes, recycling, idle exit, the memory cap,
queueing, hardening and clean-up. (The run contract itself runs on the pool through the parametrised
suites in tests/test_run.py, tests/test_limits.py and tests/security.)"""

from __future__ import annotations

import asyncio
import os
import signal
import time
from collections.abc import Callable, Iterator
from typing import Any

import psutil
import pytest

from enclave_vm import Enclave, EnclaveAdapter, ErrorCode, WorkerPoolOptions, create_worker_pool_adapter
from enclave_vm.adapters.worker_pool import WorkerPoolAdapter, WorkerPoolStats

MakePool = Callable[..., WorkerPoolAdapter]

#: A native operation that ignores the engine's interrupt for about a second: only a kill stops it early.
STUCK = "const n = [6000000][0]; const s = 'ab'.repeat(n); return s.split('').join('-').length"
#: Busy for about `ms` milliseconds of wall clock.
BUSY = "const t = Date.now(); for (let i = 0; i < 1e12; i++) { if (Date.now() - t > {ms}) break } return {v}"
#: For Enclaves that run BUSY.
LOOPS = 10**12


def busy(ms: int, value: int = 1) -> str:
    return BUSY.replace("{ms}", str(ms)).replace("{v}", str(value))


@pytest.fixture
def make_pool() -> Iterator[MakePool]:
    pools: list[WorkerPoolAdapter] = []

    def make(pool_size: int = 1, **options: Any) -> WorkerPoolAdapter:
        extra = {key: options.pop(key) for key in ("max_queue",) if key in options}
        pool = WorkerPoolAdapter(WorkerPoolOptions(pool_size=pool_size, **options), **extra)
        pools.append(pool)
        return pool

    yield make
    for pool in pools:
        pool.dispose()


def alive(pid: int) -> bool:
    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


async def wait_until(check: Callable[[], bool], timeout: float = 3.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return True
        await asyncio.sleep(0.02)
    return check()


async def first_pid(pool: WorkerPoolAdapter) -> int:
    assert await wait_until(lambda: bool(pool.worker_pids()))
    return pool.worker_pids()[0]


# ---- the factory ----


def test_factory_signatures() -> None:
    for adapter in (
        create_worker_pool_adapter(2),
        create_worker_pool_adapter(
            pool_size=2, max_worker_memory=1 << 28, max_executions_per_worker=5, idle_timeout=10
        ),
        create_worker_pool_adapter(WorkerPoolOptions(pool_size=3)),
        create_worker_pool_adapter({"pool_size": 1, "idle_timeout": 500}),
    ):
        assert isinstance(adapter, EnclaveAdapter) and isinstance(adapter, WorkerPoolAdapter)
        adapter.dispose()
    assert create_worker_pool_adapter(pool_size=4, idle_timeout=250).options == WorkerPoolOptions(4, None, None, 250)


@pytest.mark.parametrize(
    ("kwargs", "error"),
    [
        ({"pool_size": 0}, ValueError),
        ({"pool_size": -1}, ValueError),
        ({"pool_size": "2"}, TypeError),
        ({"pool_size": True}, TypeError),
        ({"pool_size": 2, "idle_timeout": 0}, ValueError),
        ({"pool_size": 2, "max_executions_per_worker": 0}, ValueError),
        ({"pool_size": 2, "max_worker_memory": 1000}, ValueError),
        ({"pool_size": 2, "max_worker_memory": 2.5}, TypeError),
    ],
)
def test_factory_rejects_bad_options(kwargs: dict[str, Any], error: type[Exception]) -> None:
    with pytest.raises(error):
        create_worker_pool_adapter(**kwargs)


def test_factory_refuses_options_twice() -> None:
    with pytest.raises(TypeError):
        create_worker_pool_adapter(WorkerPoolOptions(), idle_timeout=5)
    with pytest.raises(TypeError):
        create_worker_pool_adapter({"pool_size": 2, "bogus": 1})


# ---- start-up and reuse ----


async def test_workers_start_lazily_and_are_reused(make_pool: MakePool) -> None:
    pool = make_pool(2)
    assert pool.stats().workers == {"starting": 0, "idle": 0, "busy": 0, "stopping": 0}
    with Enclave(adapter=pool) as enclave:
        assert (await enclave.run("return 1 + 2")).value == 3
        for _ in range(20):
            assert (await enclave.run("return 'again'")).value == "again"
        stats = pool.stats()
    assert 1 <= stats.spawned <= 2 and stats.runs == 21
    assert stats.kills == stats.crashes == 0 and stats.runs_in_flight == 0


async def test_start_up_time_is_not_charged_to_the_run(make_pool: MakePool) -> None:
    with Enclave(adapter=make_pool(1), timeout=50) as enclave:
        result = await enclave.run("return 'first'")
    assert result.value == "first", result.error


async def test_cpu_bound_runs_use_every_worker(make_pool: MakePool) -> None:
    pool = make_pool(2)
    with Enclave(adapter=pool, timeout=10_000, max_iterations=LOOPS) as enclave:
        await asyncio.gather(enclave.run("return 1"), enclave.run("return 2"))
        started = time.perf_counter()
        results = await asyncio.gather(*(enclave.run(busy(300, i)) for i in range(4)))
        elapsed = time.perf_counter() - started
    assert [r.value for r in results] == [0, 1, 2, 3]
    assert pool.stats().spawned == 2
    assert elapsed < 1.15  # 4 × 0.3 s on one worker would be 1.2 s; two workers take ~0.6 s


async def test_runs_beyond_the_pool_size_wait_in_its_queue(make_pool: MakePool) -> None:
    release = asyncio.Event()
    running: list[int] = []
    most = 0

    async def gated(name: str, args: dict[str, Any], context: Any) -> Any:
        nonlocal most
        running.append(args["i"])
        most = max(most, len(running))
        await release.wait()
        running.remove(args["i"])
        return args["i"]

    pool = make_pool(2)
    with Enclave(adapter=pool, tool_handler=gated, timeout=20_000) as enclave:
        runs = [asyncio.create_task(enclave.run(f"return await callTool('t', {{i: {i}}})")) for i in range(6)]
        assert await wait_until(lambda: len(running) == 2 and pool.stats().queue_length == 4, timeout=10)
        stats = pool.stats()
        assert stats.workers["busy"] == 2 and stats.runs_in_flight == 6
        release.set()
        results = await asyncio.gather(*runs)
    assert [r.value for r in results] == list(range(6))
    assert most == 2  # a worker serves one run at a time, also while that run waits for its tools
    stats = pool.stats()
    assert stats.spawned == 2 and stats.runs == 6 and stats.queue_length == 0 and stats.crashes == 0


# ---- hard limits ----


async def test_stuck_engine_is_killed_at_the_deadline(make_pool: MakePool) -> None:
    pool = make_pool(1)
    with Enclave(adapter=pool, timeout=200, memory_limit=1 << 30, security_level="PERMISSIVE") as enclave:
        await enclave.run("return 0")
        started = time.perf_counter()
        result = await enclave.run(STUCK)
        elapsed = time.perf_counter() - started
        assert result.error is not None and result.error.code is ErrorCode.TIMEOUT, result
        assert elapsed < 0.8
        assert pool.stats().timeout_kills == 1
        assert (await enclave.run("return 'replaced'")).value == "replaced"
    assert pool.stats().spawned == 2


async def test_frozen_worker_is_killed_at_the_deadline(make_pool: MakePool) -> None:
    pool = make_pool(1)

    def freeze(name: str, args: dict[str, Any], context: Any) -> Any:
        for pid in pool.worker_pids():
            os.kill(pid, signal.SIGSTOP)  # the worker will never answer the tool result
        return 1

    with Enclave(adapter=pool, tool_handler=freeze, timeout=400) as enclave:
        started = time.perf_counter()
        result = await enclave.run("await callTool('freeze', {}); return 'unreachable'")
        elapsed = time.perf_counter() - started
        assert result.error is not None and result.error.code is ErrorCode.TIMEOUT
        assert 0.4 <= elapsed < 1.0
        assert pool.stats().timeout_kills == 1
        assert (await enclave.run("return 2")).value == 2


async def test_worker_killed_from_outside_mid_run(make_pool: MakePool) -> None:
    pool = make_pool(1)
    with Enclave(adapter=pool, timeout=20_000, max_iterations=10**12) as enclave:
        task = asyncio.create_task(enclave.run("for (let i = 0; i < 1e12; i++) {} return 1"))
        pid = await first_pid(pool)
        await asyncio.sleep(0.3)
        killed_at = time.perf_counter()
        os.kill(pid, signal.SIGKILL)
        result = await asyncio.wait_for(task, 5)
        assert time.perf_counter() - killed_at < 1.5
        assert result.error is not None and result.error.code is ErrorCode.RUNTIME_ERROR
        assert result.error.name == "WorkerCrashedError" and "signal 9" in result.error.message
        assert pool.stats().crashes == 1
        assert (await enclave.run("return 'next'")).value == "next"
        assert pool.worker_pids() != [pid]


async def test_worker_crashing_mid_run_with_another_signal(make_pool: MakePool) -> None:
    pool = make_pool(1)
    with Enclave(adapter=pool, timeout=20_000, max_iterations=10**12) as enclave:
        task = asyncio.create_task(enclave.run("for (let i = 0; i < 1e12; i++) {} return 1"))
        pid = await first_pid(pool)
        await asyncio.sleep(0.2)
        os.kill(pid, signal.SIGSEGV)
        result = await asyncio.wait_for(task, 5)
    assert result.error is not None and result.error.name == "WorkerCrashedError"
    assert result.error.code is ErrorCode.RUNTIME_ERROR


async def test_idle_worker_killed_from_outside_is_replaced_transparently(make_pool: MakePool) -> None:
    pool = make_pool(1)
    with Enclave(adapter=pool) as enclave:
        assert (await enclave.run("return 1")).value == 1
        pid = pool.worker_pids()[0]
        os.kill(pid, signal.SIGKILL)
        await asyncio.sleep(0.05)
        assert (await enclave.run("return 2")).value == 2
        assert pid not in pool.worker_pids()


async def test_memory_cap_kills_the_worker(make_pool: MakePool) -> None:
    pool = make_pool(1, max_worker_memory=128 << 20)
    options = {"memory_limit": 1 << 30, "max_iterations": 10**9, "timeout": 30_000}
    with Enclave(adapter=pool, **options) as enclave:
        result = await enclave.run("const a = []; for (let i = 0; i < 1e8; i++) { a.push('item ' + i) } return 1")
        assert result.error is not None and result.error.code is ErrorCode.MEMORY_LIMIT_EXCEEDED, result.error
        assert pool.stats().memory_kills == 1
        assert (await enclave.run("return 'fresh'")).value == "fresh"


async def test_a_deadline_kill_ends_only_the_run_that_overran(make_pool: MakePool) -> None:
    release = asyncio.Event()
    entered = asyncio.Event()

    async def gated(name: str, args: dict[str, Any], context: Any) -> Any:
        entered.set()
        await release.wait()
        return "waited"

    pool = make_pool(2)
    options = {"tool_handler": gated, "memory_limit": 1 << 30, "security_level": "PERMISSIVE"}
    with Enclave(adapter=pool, **options) as enclave:
        await asyncio.gather(enclave.run("return 0"), enclave.run("return 0"))  # both workers started
        waiting = asyncio.create_task(enclave.run("return await callTool('slow', {})", timeout=20_000))
        await asyncio.wait_for(entered.wait(), 10)
        stuck = await enclave.run(STUCK, timeout=200)
        assert stuck.error is not None and stuck.error.code is ErrorCode.TIMEOUT
        assert pool.stats().timeout_kills == 1
        release.set()
        other = await asyncio.wait_for(waiting, 10)
    assert other.value == "waited", other.error
    assert pool.stats().crashes == 0


async def test_hung_sync_tool_does_not_hold_the_caller(make_pool: MakePool) -> None:
    def hang(name: str, args: dict[str, Any], context: Any) -> Any:
        time.sleep(1.0)
        return 1

    with Enclave(adapter=make_pool(1), tool_handler=hang, timeout=200) as enclave:
        started = time.perf_counter()
        result = await enclave.run("return await callTool('hang', {})")
        assert time.perf_counter() - started < 0.8
        assert result.error is not None and result.error.code is ErrorCode.TIMEOUT
        assert (await enclave.run("return 3")).value == 3


# ---- lifetime: recycling, idle exit ----


async def test_workers_are_recycled_after_max_executions(make_pool: MakePool) -> None:
    pool = make_pool(1, max_executions_per_worker=2)
    seen: list[int] = []
    with Enclave(adapter=pool) as enclave:
        for i in range(5):
            run = asyncio.create_task(enclave.run(f"return {i}"))
            seen.append(await first_pid(pool))
            assert (await run).value == i
    assert len(set(seen)) == 3 and seen[0] == seen[1] and seen[2] == seen[3] != seen[4]
    stats = pool.stats()
    assert stats.spawned == 3 and stats.recycles == 2
    assert await wait_until(lambda: not alive(seen[0]) and not alive(seen[2]))


async def test_idle_workers_exit_and_come_back(make_pool: MakePool) -> None:
    pool = make_pool(1, idle_timeout=300)
    with Enclave(adapter=pool) as enclave:
        assert (await enclave.run("return 1")).value == 1
        pid = pool.worker_pids()[0]
        await asyncio.sleep(0.1)
        assert pool.worker_pids() == [pid]
        assert await wait_until(lambda: pool.stats().idle_exits == 1, timeout=2.0)
        assert pool.worker_pids() == [] and await wait_until(lambda: not alive(pid))
        assert (await enclave.run("return 2")).value == 2
    assert pool.stats().spawned == 2


# ---- queueing ----


async def test_queue_is_bounded(make_pool: MakePool) -> None:
    pool = make_pool(1, max_queue=2)
    observed: list[WorkerPoolStats] = []

    async def watch() -> None:
        await asyncio.sleep(0.1)
        observed.append(pool.stats())

    with Enclave(adapter=pool, timeout=10_000, max_iterations=LOOPS) as enclave:
        await enclave.run("return 0")
        started = time.perf_counter()
        results = await asyncio.gather(*(enclave.run(busy(150, i)) for i in range(4)), watch())
        elapsed = time.perf_counter() - started
    assert [r.value for r in results[:3]] == [0, 1, 2]
    rejected = results[3]
    assert rejected is not None and rejected.error is not None and rejected.error.code is ErrorCode.RUNTIME_ERROR
    assert rejected.error.name == "QueueFullError"
    assert observed[0].queue_length == 2 and observed[0].workers["busy"] == 1
    assert pool.stats().rejected == 1 and pool.stats().queue_length == 0
    assert elapsed >= 0.45  # one at a time


async def test_a_queued_run_times_out_in_the_queue(make_pool: MakePool) -> None:
    pool = make_pool(1)
    with Enclave(adapter=pool, max_iterations=LOOPS) as enclave:
        await enclave.run("return 0")
        long = asyncio.create_task(enclave.run(busy(700), timeout=5000))
        await asyncio.sleep(0.05)
        started = time.perf_counter()
        queued = await enclave.run("return 1", timeout=200)
        assert time.perf_counter() - started < 0.45
        assert queued.error is not None and queued.error.code is ErrorCode.TIMEOUT
        assert (await long).value == 1


async def test_a_run_cancelled_in_the_queue_leaves_the_pool_idle(make_pool: MakePool) -> None:
    pool = make_pool(1)
    with Enclave(adapter=pool, max_iterations=LOOPS) as enclave:
        await enclave.run("return 0")
        long = asyncio.create_task(enclave.run(busy(400), timeout=5000))
        await asyncio.sleep(0.05)
        queued = asyncio.create_task(enclave.run("return 1", timeout=5000))
        assert await wait_until(lambda: pool.stats().queue_length == 1)
        queued.cancel()
        with pytest.raises(asyncio.CancelledError):
            await queued
        stats = pool.stats()
        assert stats.queue_length == 0 and stats.runs_in_flight == 1  # at once, not when the worker frees up
        assert (await long).value == 1
        assert (await enclave.run("return 2")).value == 2
        stats = pool.stats()
        assert stats.queue_length == 0 and stats.runs_in_flight == 0 and stats.runs == 4
        assert stats.workers["busy"] == 0 and stats.workers["idle"] == 1


# ---- hardening and clean-up ----


async def test_worker_environment_and_limits(make_pool: MakePool, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ENCLAVE_POOL_SECRET", "do-not-leak-1b7e")
    pool = make_pool(1, max_worker_memory=256 << 20)
    with Enclave(adapter=pool) as enclave:
        assert (await enclave.run("return 1")).value == 1
        pid = pool.worker_pids()[0]
        with open(f"/proc/{pid}/environ", "rb") as environ:
            assert environ.read() == b""
        limits = psutil.Process(pid)
        assert limits.rlimit(psutil.RLIMIT_CORE) == (0, 0)
        soft, hard = limits.rlimit(psutil.RLIMIT_AS)
        assert 256 << 20 < soft <= 4 << 30 and soft == hard
        assert limits.cwd() == "/"


async def test_dispose_leaves_no_process(make_pool: MakePool) -> None:
    pool = make_pool(2)
    enclave = Enclave(adapter=pool, timeout=20_000, max_iterations=10**12)
    await asyncio.gather(enclave.run("return 1"), enclave.run("return 2"))
    pids = pool.worker_pids()
    assert len(pids) == 2 and all(alive(pid) for pid in pids)
    running = asyncio.create_task(enclave.run("for (let i = 0; i < 1e12; i++) {}"))
    await asyncio.sleep(0.2)
    started = time.perf_counter()
    enclave.dispose()
    assert not any(alive(pid) for pid in pids)
    result = await asyncio.wait_for(running, 2)
    assert time.perf_counter() - started < 1.0
    assert result.error is not None and result.error.code is ErrorCode.RUNTIME_ERROR
    assert pool.stats().workers == {"starting": 0, "idle": 0, "busy": 0, "stopping": 0}
    pool.dispose()  # idempotent
    with pytest.raises(RuntimeError):
        await enclave.run("return 1")


async def test_a_disposed_pool_refuses_runs(make_pool: MakePool) -> None:
    pool = make_pool(1)
    pool.dispose()
    with Enclave(adapter=pool) as enclave:
        result = await enclave.run("return 1")
    assert result.error is not None and result.error.code is ErrorCode.RUNTIME_ERROR
