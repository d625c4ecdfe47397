"""The Ray adapter's actors on a real local Ray: kills at the deadline, deaths from outside, replacement,
recycling, the queue, dispose, and the options it refuses."""

from __future__ import annotations

import asyncio
import os
import signal
import threading
import time
from typing import Any

import pytest
import ray
from ray.exceptions import RayActorError
from ray_helpers import STUCK, MakeAdapter, wait_until

from enclave_vm import Enclave, ErrorCode, create_ray_adapter
from enclave_vm.adapters.ray import RayAdapter
from enclave_vm.adapters.ray import slot as slot_module

#: A death from outside is noticed at once; asserted with a bound far looser than that.
NOTICE_BOUND_S = 5.0


def actor_is_dead(handle: Any) -> bool:
    try:
        ray.get(handle.ready.remote(), timeout=30)
    except RayActorError:
        return True
    return False


async def test_an_actor_killed_from_outside_while_its_run_waits_in_a_tool(make_adapter: MakeAdapter) -> None:
    adapter = make_adapter(1)
    in_tool = asyncio.Event()
    cancelled = asyncio.Event()

    async def waits_forever(name: str, args: dict[str, Any], context: Any) -> Any:
        in_tool.set()
        try:
            await asyncio.Event().wait()
        except asyncio.CancelledError:
            cancelled.set()
            raise

    with Enclave(adapter=adapter, tool_handler=waits_forever, timeout=60_000) as enclave:
        assert (await enclave.run("return 'warm'")).value == "warm"
        [handle] = adapter.actor_handles()
        task = asyncio.create_task(enclave.run("return await callTool('wait', {})"))
        await asyncio.wait_for(in_tool.wait(), 30)
        killed_at = time.monotonic()
        ray.kill(handle)
        result = await asyncio.wait_for(task, 30)
        assert time.monotonic() - killed_at < NOTICE_BOUND_S  # not at the run's 60 s deadline
        assert result.error is not None and result.error.code is ErrorCode.RUNTIME_ERROR
        assert result.error.name == "WorkerCrashedError"
        await asyncio.wait_for(cancelled.wait(), NOTICE_BOUND_S)  # the run's tool ended with it
        assert (await enclave.run("return 'replacement'")).value == "replacement"
    stats = adapter.stats()
    assert stats.crashes == 1 and stats.replacements == 1 and stats.kills == 0 and stats.started == 2


async def test_an_actor_killed_from_outside_while_computing(make_adapter: MakeAdapter) -> None:
    adapter = make_adapter(1)
    with Enclave(adapter=adapter, timeout=60_000, max_iterations=10**12) as enclave:
        assert (await enclave.run("return 0")).value == 0
        [handle] = adapter.actor_handles()
        task = asyncio.create_task(enclave.run("let n = 0; for (let i = 0; i < 1e12; i++) { n++ } return n"))
        assert await wait_until(lambda: adapter.stats().actors["busy"] == 1)
        ray.kill(handle)
        result = await asyncio.wait_for(task, 30)
        assert result.error is not None and result.error.code is ErrorCode.RUNTIME_ERROR
        assert result.error.name == "WorkerCrashedError"
        assert (await enclave.run("return 'next'")).value == "next"
    assert adapter.stats().crashes == 1


async def test_an_idle_actor_killed_from_outside_is_replaced(make_adapter: MakeAdapter) -> None:
    adapter = make_adapter(1)
    with Enclave(adapter=adapter) as enclave:
        assert (await enclave.run("return 1")).value == 1
        [handle] = adapter.actor_handles()
        ray.kill(handle)
        assert await wait_until(lambda: adapter.stats().replacements == 1)
        assert (await enclave.run("return 2")).value == 2
    assert adapter.stats().crashes == 1 and adapter.stats().runs == 2


async def test_a_frozen_actor_is_killed_at_the_deadline(make_adapter: MakeAdapter) -> None:
    adapter = make_adapter(1)

    def freeze(name: str, args: dict[str, Any], context: Any) -> Any:
        for pid in adapter.actor_pids():
            os.kill(pid, signal.SIGSTOP)  # it will never answer the tool's result
        return 1

    with Enclave(adapter=adapter, tool_handler=freeze, timeout=400) as enclave:
        assert (await enclave.run("return 0")).value == 0
        started = time.monotonic()
        result = await enclave.run("await callTool('freeze', {}); return 'unreachable'")
        assert time.monotonic() - started < 5 * 0.4
        assert result.error is not None and result.error.code is ErrorCode.TIMEOUT, result.error
        assert adapter.stats().timeout_kills == 1
        assert (await enclave.run("return 'thawed'")).value == "thawed"


async def test_a_deadline_kill_ends_only_the_run_that_overran(make_adapter: MakeAdapter) -> None:
    adapter = make_adapter(2)
    release = asyncio.Event()
    entered = asyncio.Event()

    async def gated(name: str, args: dict[str, Any], context: Any) -> Any:
        entered.set()
        await release.wait()
        return "waited"

    options: dict[str, Any] = {"tool_handler": gated, "memory_limit": 1 << 30, "security_level": "PERMISSIVE"}
    with Enclave(adapter=adapter, **options) as enclave:
        waiting = asyncio.create_task(enclave.run("return await callTool('slow', {})", timeout=60_000))
        await asyncio.wait_for(entered.wait(), 30)
        stuck = await enclave.run(STUCK, timeout=200)
        assert stuck.error is not None and stuck.error.code is ErrorCode.TIMEOUT
        assert adapter.stats().timeout_kills == 1
        release.set()
        other = await asyncio.wait_for(waiting, 30)
    assert other.value == "waited", other.error
    assert adapter.stats().crashes == 0


async def test_a_hung_sync_tool_does_not_hold_the_caller_nor_the_actor(make_adapter: MakeAdapter) -> None:
    adapter = make_adapter(1)
    hold = threading.Event()

    def hang(name: str, args: dict[str, Any], context: Any) -> Any:
        hold.wait(30)
        return 1

    try:
        with Enclave(adapter=adapter, tool_handler=hang, timeout=300) as enclave:
            assert (await enclave.run("return 0")).value == 0  # the actor has started
            started = time.monotonic()
            result = await enclave.run("return await callTool('hang', {})")
            assert time.monotonic() - started < 5 * 0.3
            assert result.error is not None and result.error.code is ErrorCode.TIMEOUT
            assert (await enclave.run("return 3")).value == 3  # the actor let go of the hung run
    finally:
        hold.set()
    assert adapter.stats().kills == 0


async def test_actors_are_recycled_after_max_executions(make_adapter: MakeAdapter) -> None:
    adapter = make_adapter(1, max_executions_per_actor=2)
    handles: list[Any] = []
    with Enclave(adapter=adapter) as enclave:
        for i in range(5):
            assert await wait_until(lambda: len(adapter.actor_handles()) == 1)
            handles.append(adapter.actor_handles()[0])
            assert (await enclave.run(f"return {i}")).value == i
    assert handles[0] == handles[1] and handles[2] == handles[3] and handles[1] != handles[2] != handles[4]
    stats = adapter.stats()
    assert stats.recycles == 2 and stats.started == 3 and stats.replacements == 2
    assert stats.kills == stats.crashes == 0
    assert actor_is_dead(handles[0]) and actor_is_dead(handles[2])


async def test_dispose_leaves_no_actor(local_ray: None) -> None:
    adapter = create_ray_adapter(3)
    with Enclave(adapter=adapter) as enclave:
        results = await asyncio.gather(*(enclave.run(f"return {i}") for i in range(6)))
        assert [r.value for r in results] == list(range(6))
        handles = adapter.actor_handles()
        assert len(handles) == 3
    # The Enclave disposed its adapter; again is a no-op.
    adapter.dispose()
    assert all(actor_is_dead(handle) for handle in handles)
    assert adapter.actor_handles() == [] and adapter.stats().actors == {"starting": 0, "idle": 0, "busy": 0}
    outcome = await Enclave(adapter=adapter).run("return 1")
    assert outcome.error is not None and outcome.error.code is ErrorCode.RUNTIME_ERROR
    assert outcome.error.name == "RayAdapterDisposedError"


async def test_dispose_ends_the_runs_in_flight(local_ray: None) -> None:
    adapter = create_ray_adapter(1)
    in_tool = asyncio.Event()

    async def waits(name: str, args: dict[str, Any], context: Any) -> Any:
        in_tool.set()
        await asyncio.Event().wait()

    enclave = Enclave(adapter=adapter, tool_handler=waits, timeout=60_000)
    running = asyncio.create_task(enclave.run("return await callTool('w', {})"))
    queued = asyncio.create_task(enclave.run("return 'never'"))
    await asyncio.wait_for(in_tool.wait(), 30)
    assert await wait_until(lambda: adapter.stats().queue_length == 1)
    adapter.dispose()
    for task in (running, queued):
        result = await asyncio.wait_for(task, 30)
        assert result.error is not None and result.error.code is ErrorCode.RUNTIME_ERROR, result.error
    enclave.dispose()


async def test_a_full_queue_is_a_clean_error(local_ray: None) -> None:
    adapter = RayAdapter(1, max_queue=0)
    entered = asyncio.Event()
    release = asyncio.Event()

    async def gate(name: str, args: dict[str, Any], context: Any) -> Any:
        entered.set()
        await release.wait()
        return "first"

    with Enclave(adapter=adapter, tool_handler=gate, timeout=60_000) as enclave:
        first = asyncio.create_task(enclave.run("return await callTool('g', {})"))
        await asyncio.wait_for(entered.wait(), 30)
        refused = await enclave.run("return 'second'")
        assert refused.error is not None and refused.error.code is ErrorCode.RUNTIME_ERROR
        assert refused.error.name == "QueueFullError"
        assert adapter.stats().rejected == 1
        release.set()
        assert (await first).value == "first"


async def test_a_queued_run_times_out_in_the_queue(make_adapter: MakeAdapter) -> None:
    adapter = make_adapter(1)
    entered = asyncio.Event()
    release = asyncio.Event()

    async def gate(name: str, args: dict[str, Any], context: Any) -> Any:
        entered.set()
        await release.wait()
        return "first"

    with Enclave(adapter=adapter, tool_handler=gate, timeout=60_000) as enclave:
        first = asyncio.create_task(enclave.run("return await callTool('g', {})"))
        await asyncio.wait_for(entered.wait(), 30)
        started = time.monotonic()
        late = await enclave.run("return 'second'", timeout=300)
        assert time.monotonic() - started < 5 * 0.3
        assert late.error is not None and late.error.code is ErrorCode.TIMEOUT
        release.set()
        assert (await first).value == "first"


async def test_a_cancelled_run_lets_go_of_its_actor(make_adapter: MakeAdapter) -> None:
    adapter = make_adapter(1)
    hold = threading.Event()
    entered = threading.Event()

    def blocks(name: str, args: dict[str, Any], context: Any) -> Any:
        entered.set()
        hold.wait(30)
        return 1

    try:
        with Enclave(adapter=adapter, tool_handler=blocks, timeout=60_000) as enclave:
            task = asyncio.create_task(enclave.run("return await callTool('b', {})"))
            assert await wait_until(entered.is_set)
            task.cancel()
            with pytest.raises(asyncio.CancelledError):
                await task
            # The sync tool still runs, but the actor serves the next run at once.
            assert (await asyncio.wait_for(enclave.run("return 'next'"), 30)).value == "next"
    finally:
        hold.set()


@pytest.mark.parametrize(
    ("kwargs", "needle"),
    [
        ({"num_actors": 0}, "num_actors"),
        ({"num_actors": True}, "num_actors"),
        ({"max_executions_per_actor": 0}, "max_executions_per_actor"),
        ({"address": ""}, "address"),
        ({"actor_options": {"max_restarts": 3}}, "max_restarts"),
        ({"actor_options": {"lifetime": "detached"}}, "lifetime"),
        ({"actor_options": {"concurrency_groups": {}}}, "concurrency_groups"),
    ],
)
def test_bad_options_are_refused_by_name(local_ray: None, kwargs: dict[str, Any], needle: str) -> None:
    with pytest.raises(ValueError, match=needle):
        create_ray_adapter(**kwargs)


def test_an_unknown_actor_option_is_refused_by_ray(local_ray: None) -> None:
    with pytest.raises(ValueError, match="not_an_option"):
        create_ray_adapter(1, actor_options={"not_an_option": 1})


async def test_actor_options_reach_the_actors(make_adapter: MakeAdapter) -> None:
    adapter = make_adapter(1, actor_options={"num_cpus": 1, "runtime_env": {"env_vars": {"ENCLAVE_ACTOR": "1"}}})
    with Enclave(adapter=adapter) as enclave:
        assert (await enclave.run("return 'placed'")).value == "placed"
    assert adapter.stats().started == 1


async def test_an_actor_that_cannot_start_fails_its_run_cleanly(
    make_adapter: MakeAdapter, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(slot_module, "ACTOR_START_TIMEOUT_S", 1.0)
    adapter = make_adapter(1, actor_options={"resources": {"no-such-resource": 1}})  # never placed
    with Enclave(adapter=adapter, timeout=1000) as enclave:
        result = await enclave.run("return 1")
    assert result.error is not None and result.error.code is ErrorCode.RUNTIME_ERROR
    assert result.error.name == "WorkerCrashedError" and "did not start" in result.error.message
    stats = adapter.stats()
    assert stats.crashes == 1 and stats.started == 2  # one replacement for the run, not a loop
