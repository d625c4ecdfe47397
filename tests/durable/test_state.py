"""`run(code, state=...)` and sessions: the state is all or nothing, size-capped, threaded from run to run,
and kept in a memory or Redis store with optimistic concurrency. Contract tests run on every adapter."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from adapter_kinds import MakeEnclave
from enclave_vm import Enclave, ErrorCode, MemoryStateStore, RedisStateStore
from redis_server import RedisServer


async def test_a_successful_run_returns_the_changed_state(make_enclave: MakeEnclave) -> None:
    with make_enclave() as enclave:
        given = {"count": 1, "seen": ["a"]}
        result = await enclave.run("state.count += 1; state.seen.push('b'); return state.count", state=given)
    assert result.value == 2 and result.state == {"count": 2, "seen": ["a", "b"]}
    assert given == {"count": 1, "seen": ["a"]}  # the host's object is never changed


async def test_a_failed_run_leaves_the_state_as_given(make_enclave: MakeEnclave) -> None:
    with make_enclave() as enclave:
        result = await enclave.run("state.count = 99; throw { message: 'no' }", state={"count": 1})
        assert result.error is not None and result.error.code is ErrorCode.RUNTIME_ERROR
        assert result.state == {"count": 1}
        invalid = await enclave.run("state.count = 5; eval('1')", state={"count": 1})
        assert invalid.error is not None and invalid.error.code is ErrorCode.VALIDATION_ERROR
        assert invalid.state == {"count": 1}


async def test_no_state_given_means_no_state(make_enclave: MakeEnclave) -> None:
    with make_enclave() as enclave:
        result = await enclave.run("return typeof state")
    assert result.value == "undefined" and result.state is None


async def test_the_state_may_be_replaced_as_a_whole(make_enclave: MakeEnclave) -> None:
    with make_enclave() as enclave:
        result = await enclave.run("state = [1, 2, 3]; return 0", state={})
    assert result.state == [1, 2, 3]


async def test_a_state_over_its_cap_ends_the_run_memory_limit_exceeded(make_enclave: MakeEnclave) -> None:
    with make_enclave(max_state_bytes=1000) as enclave:
        result = await enclave.run("state.big = 'x'.repeat(2000); return 1", state={})
    assert result.error is not None and result.error.code is ErrorCode.MEMORY_LIMIT_EXCEEDED
    assert result.state == {}


async def test_a_state_that_stops_being_json_fails_the_run(make_enclave: MakeEnclave) -> None:
    with make_enclave() as enclave:
        result = await enclave.run("state = undefined; return 1", state={"a": 1})
    assert result.error is not None and result.error.code is ErrorCode.RUNTIME_ERROR
    assert "JSON" in result.error.message and result.state == {"a": 1}


@pytest.mark.parametrize(
    ("state", "error"),
    [({"f": print}, TypeError), ({"n": float("nan")}, ValueError), ({"s": "x" * 2000}, ValueError)],
    ids=["function", "nan", "too-big"],
)
def test_bad_state_is_refused_before_anything_runs(state: Any, error: type[Exception]) -> None:
    with Enclave(max_state_bytes=1000) as enclave, pytest.raises(error, match="state"):
        enclave.run_sync("return 1", state=state)


async def test_a_session_threads_the_state_from_run_to_run(make_enclave: MakeEnclave) -> None:
    with make_enclave() as enclave:
        session = enclave.session({"n": 0})
        for expected in (1, 2, 3):
            result = await session.run("state.n += 1; return state.n")
            assert result.value == expected
        failed = await session.run("state.n = 100; throw { message: 'x' }")
        assert failed.error is not None and session.state == {"n": 3}


def test_a_session_in_a_memory_store_is_shared_by_key() -> None:
    store = MemoryStateStore()
    with Enclave() as enclave:
        first = enclave.session({"n": 0}, store=store, key="user-1")
        assert first.run_sync("state.n += 1; return state.n").value == 1
        again = enclave.session({"n": 0}, store=store, key="user-1")  # loads what the first one saved
        assert again.run_sync("state.n += 1; return state.n").value == 2
        other = enclave.session({"n": 10}, store=store, key="user-2")
        assert other.run_sync("return state.n").value == 10


def test_session_store_and_key_go_together() -> None:
    with Enclave() as enclave, pytest.raises(ValueError, match="store and key"):
        enclave.session({}, store=MemoryStateStore())


@pytest.fixture
def redis_url(redis_server: RedisServer) -> str:
    return redis_server.url


async def test_a_concurrent_writer_makes_the_later_run_fail(redis_url: str) -> None:
    """Two sessions load version 1; the first to save wins, the other ends RUNTIME_ERROR, nothing saved."""
    store = RedisStateStore(redis_url, namespace="state-conflict")
    both_loaded = asyncio.Event()
    loaded = 0

    async def wait_for_both(name: str, args: dict[str, Any], context: Any) -> Any:
        nonlocal loaded
        loaded += 1
        if loaded == 2:
            both_loaded.set()
        await asyncio.wait_for(both_loaded.wait(), 10)
        return args["who"]

    with Enclave(tool_handler=wait_for_both) as enclave:
        setup = enclave.session({"by": []}, store=store, key="k")
        assert (await setup.run("state.by.push('setup'); return 1")).success
        code = "const who = await callTool('wait', { who: context_who }); state.by.push(who); return who"
        a = enclave.session({}, store=store, key="k")
        b = enclave.session({}, store=store, key="k")
        first, second = await asyncio.gather(
            a.run(code.replace("context_who", "'a'")), b.run(code.replace("context_who", "'b'"))
        )
    results = sorted([first, second], key=lambda r: r.success)
    assert not results[0].success and results[1].success
    assert results[0].error is not None and results[0].error.code is ErrorCode.RUNTIME_ERROR
    assert "conflict" in results[0].error.message.lower()
    stored, version = store.load("k")
    assert stored == {"by": ["setup", results[1].value]} and version == 2
    store.close()


def test_redis_state_store_round_trip(redis_url: str) -> None:
    store = RedisStateStore(redis_url, namespace="state-rt")
    assert store.load("missing") == (None, 0)
    with Enclave() as enclave:
        session = enclave.session({"n": 1}, store=store, key="a")
        assert session.run_sync("state.n *= 5; return state.n").value == 5
    assert store.load("a") == ({"n": 5}, 1)
    store.close()
