"""The reference sidecar through a real redis-server (started by the `redis_server` fixture)."""

from __future__ import annotations

import asyncio
import json
import os
import socket
import subprocess
import sys
import textwrap
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import redis
from sidecar_helpers import (
    REF_KEY,
    SECRET,
    Recorder,
    canonical,
    check_thirty_megabytes_through_a_sixteen_megabyte_heap,
    payload,
)

from enclave_vm import Enclave, ErrorCode, is_sidecar_reference
from enclave_vm.sidecar.redis_store import KEY_PREFIX
from redis_server import RedisServer

SRC = str(Path(__file__).resolve().parents[2] / "src")


def redis_sidecar(server: RedisServer, **extra: Any) -> dict[str, Any]:
    return {"enabled": True, "threshold": 1024, "storage": "redis", "redis_url": server.url, **extra}


@pytest.fixture
def client(redis_server: RedisServer) -> Iterator[redis.Redis]:
    connection = redis.Redis.from_url(redis_server.url, socket_timeout=5)
    yield connection
    connection.close()


async def test_pass_through_is_byte_identical(redis_server: RedisServer) -> None:
    tools = Recorder()
    with Enclave(tool_handler=tools, sidecar=redis_sidecar(redis_server)) as enclave:
        result = await enclave.run(
            "const ref = await callTool('make', {}); console.log(JSON.stringify(ref));"
            "await callTool('consume', { list: [ref] }); return ref"
        )
    assert result.success, result.error
    assert SECRET not in result.stdout
    assert canonical(tools.calls[0][1]["list"][0]) == canonical(tools.made)
    assert canonical(result.value) == canonical(tools.made)  # resolved in the value


async def test_value_is_stored_under_a_namespaced_key_with_px(redis_server: RedisServer, client: redis.Redis) -> None:
    tools = Recorder()
    options = redis_sidecar(redis_server, ttl=30_000, namespace="ns-px", resolve_value=False)
    with Enclave(tool_handler=tools, sidecar=options) as enclave:
        ref = (await enclave.run("return await callTool('make', {})")).value
    key = f"{KEY_PREFIX}ns-px:{ref[REF_KEY]}"
    assert client.get(key) == canonical(tools.made).encode()
    assert 25_000 < client.pttl(key) <= 30_000


async def test_ttl_expiry_is_observed(redis_server: RedisServer, client: redis.Redis) -> None:
    tools = Recorder()
    options = redis_sidecar(redis_server, ttl=200, namespace="ns-ttl", resolve_value=False)
    with Enclave(tool_handler=tools, sidecar=options) as enclave:
        ref = (await enclave.run("return await callTool('make', {})")).value
        key = f"{KEY_PREFIX}ns-ttl:{ref[REF_KEY]}"
        assert 0 < client.pttl(key) <= 200
        await asyncio.sleep(0.4)
        assert client.exists(key) == 0
        result = await enclave.run(f"return await callTool('consume', {{ d: {json.dumps(ref)} }})")
    assert result.error is not None and result.error.code is ErrorCode.TOOL_ERROR
    assert ref[REF_KEY] in result.error.message
    assert tools.calls == []


async def test_one_namespace_is_shared_across_enclaves(redis_server: RedisServer) -> None:
    tools = Recorder()
    options = redis_sidecar(redis_server, namespace="agent-session-1", resolve_value=False)
    with Enclave(tool_handler=tools, sidecar=options) as one, Enclave(tool_handler=tools, sidecar=options) as two:
        ref = (await one.run("return await callTool('make', {})")).value
        result = await two.run(f"return await callTool('consume', {{ d: {json.dumps(ref)} }})")
    assert result.success, result.error
    assert canonical(tools.calls[0][1]["d"]) == canonical(tools.made)


async def test_two_namespaces_are_isolated(redis_server: RedisServer) -> None:
    tools = Recorder()
    with (
        Enclave(
            tool_handler=tools, sidecar=redis_sidecar(redis_server, namespace="tenant-a", resolve_value=False)
        ) as a,
        Enclave(tool_handler=tools, sidecar=redis_sidecar(redis_server, namespace="tenant-b")) as b,
        Enclave(tool_handler=tools, sidecar=redis_sidecar(redis_server)) as default_namespace,
    ):
        ref = (await a.run("return await callTool('make', {})")).value
        for other in (b, default_namespace):
            result = await other.run(f"return await callTool('consume', {{ d: {json.dumps(ref)} }})")
            assert result.error is not None and result.error.code is ErrorCode.TOOL_ERROR
            assert ref[REF_KEY] in result.error.message
            assert SECRET not in result.error.message
            returned = await other.run(f"return {json.dumps(ref)}")
            assert returned.error is not None and returned.error.code is ErrorCode.TOOL_ERROR
    assert tools.calls == []


async def test_forged_reference(redis_server: RedisServer) -> None:
    tools = Recorder()
    with Enclave(tool_handler=tools, sidecar=redis_sidecar(redis_server)) as enclave:
        result = await enclave.run("return await callTool('consume', { d: { $sidecarRef: '9'.repeat(32), size: 4 } })")
    assert result.error is not None and result.error.code is ErrorCode.TOOL_ERROR
    assert "9" * 32 in result.error.message
    assert tools.calls == []


async def test_run_limits_hold_with_redis(redis_server: RedisServer) -> None:
    with Enclave(tool_handler=Recorder(), sidecar=redis_sidecar(redis_server, max_references=1)) as enclave:
        result = await enclave.run("await callTool('make', {}); return await callTool('make', {})")
    assert result.error is not None and result.error.code is ErrorCode.TOOL_ERROR
    assert "sidecar.max_references" in result.error.message


async def test_thirty_megabytes_with_a_sixteen_megabyte_heap(redis_server: RedisServer) -> None:
    options = {"enabled": True, "storage": "redis", "redis_url": redis_server.url}
    await check_thirty_megabytes_through_a_sixteen_megabyte_heap(sidecar=options)


def test_run_sync_with_redis(redis_server: RedisServer) -> None:
    tools = Recorder()
    with Enclave(tool_handler=tools, sidecar=redis_sidecar(redis_server)) as enclave:
        for _ in range(2):  # the private loop of run_sync is reused; the store keeps working
            result = enclave.run_sync("const r = await callTool('make', {}); await callTool('use', { r }); return r")
            assert result.success, result.error
    assert canonical(result.value) == canonical(tools.made)
    assert all(canonical(args["r"]) == canonical(tools.made) for _, args in tools.calls)


def test_fresh_event_loops_each_run(redis_server: RedisServer) -> None:
    tools = Recorder()
    with Enclave(tool_handler=tools, sidecar=redis_sidecar(redis_server)) as enclave:
        for _ in range(3):
            result = asyncio.run(enclave.run("const r = await callTool('make', {}); return r.size"))
            assert result.success, result.error


async def test_async_handler_with_redis(redis_server: RedisServer) -> None:
    made = payload(4096)
    seen: list[Any] = []

    async def tool(name: str, args: dict[str, Any], context: Any) -> Any:
        await asyncio.sleep(0.001)
        if name == "make":
            return made
        seen.append(args["d"])
        return "ok"

    with Enclave(tool_handler=tool, sidecar=redis_sidecar(redis_server)) as enclave:
        result = await enclave.run("const d = await callTool('make', {}); return await callTool('use', { d })")
    assert result.value == "ok"
    assert canonical(seen[0]) == canonical(made)


async def test_redis_down_is_a_clean_and_quick_error() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]  # nothing listens here once closed
    options = {"enabled": True, "threshold": 1024, "storage": "redis", "redis_url": f"redis://127.0.0.1:{port}/0"}
    with Enclave(tool_handler=Recorder(), sidecar=options) as enclave:
        started = time.perf_counter()
        result = await enclave.run("return await callTool('make', {})")
        elapsed = time.perf_counter() - started
    assert result.error is not None and result.error.code is ErrorCode.TOOL_ERROR
    assert "Redis" in result.error.message
    assert elapsed < 3


async def test_a_silent_redis_times_out_instead_of_hanging() -> None:
    with socket.socket() as silent:  # accepts connections (backlog) but never answers
        silent.bind(("127.0.0.1", 0))
        silent.listen(16)
        url = f"redis://127.0.0.1:{silent.getsockname()[1]}/0"
        options = {"enabled": True, "threshold": 1024, "storage": "redis", "redis_url": url, "redis_timeout": 300}
        enclave = Enclave(tool_handler=Recorder(), sidecar=options)
        started = time.perf_counter()
        result = await enclave.run("try { await callTool('make', {}) } catch (e) { return e.message }")
        elapsed = time.perf_counter() - started
        forged = await enclave.run("return await callTool('use', { d: { $sidecarRef: 'a'.repeat(32), size: 1 } })")
        enclave.dispose()
    assert result.success and "did not answer within 300 ms" in result.value
    assert elapsed < 2
    assert forged.error is not None and forged.error.code is ErrorCode.TOOL_ERROR


async def test_resolving_the_returned_value_stays_within_the_run_timeout() -> None:
    with socket.socket() as silent:  # accepts connections (backlog) but never answers
        silent.bind(("127.0.0.1", 0))
        silent.listen(16)
        url = f"redis://127.0.0.1:{silent.getsockname()[1]}/0"
        options = {"enabled": True, "threshold": 1024, "storage": "redis", "redis_url": url, "redis_timeout": 5000}
        with Enclave(sidecar=options, timeout=800) as enclave:
            started = time.perf_counter()
            result = await enclave.run("return { $sidecarRef: '0123456789abcdef0123456789abcdef', size: 3 };")
            elapsed = time.perf_counter() - started
    assert not result.success and result.error is not None
    assert result.error.code is ErrorCode.TIMEOUT
    assert elapsed < 2.0  # the run's 800 ms, not the store's 5 s


async def test_dispose_deletes_private_references(redis_server: RedisServer, client: redis.Redis) -> None:
    enclave = Enclave(tool_handler=Recorder(), sidecar=redis_sidecar(redis_server, resolve_value=False))
    ref = (await enclave.run("return await callTool('make', {})")).value
    namespace = enclave._sidecar.namespace  # type: ignore[union-attr]
    key = f"{KEY_PREFIX}{namespace}:{ref[REF_KEY]}"
    assert client.exists(key) == 1
    enclave.dispose()
    assert client.exists(key) == 0


PRODUCER = textwrap.dedent(
    """
    import json, sys
    from enclave_vm import Enclave

    url, namespace = sys.argv[1], sys.argv[2]
    data = {"from": "producer", "blob": "p" * 50000, "text": "é✓𝄞"}
    options = {"enabled": True, "threshold": 1024, "storage": "redis", "redis_url": url,
               "namespace": namespace, "resolve_value": False}
    with Enclave(tool_handler=lambda name, args, context: data, sidecar=options) as enclave:
        result = enclave.run_sync("return await callTool('produce', {})")
    assert result.success, result.error
    print(json.dumps({"ref": result.value, "data": data}, ensure_ascii=False))
    """
)


async def test_two_host_processes_share_a_reference(redis_server: RedisServer) -> None:
    env = {**os.environ, "PYTHONPATH": SRC + os.pathsep + os.environ.get("PYTHONPATH", "")}
    done = subprocess.run(
        [sys.executable, "-c", PRODUCER, redis_server.url, "shared-across-processes"],
        capture_output=True,
        timeout=60,
        env=env,
        check=False,
    )
    assert done.returncode == 0, done.stderr.decode()
    produced = json.loads(done.stdout)
    ref = produced["ref"]
    assert is_sidecar_reference(ref)
    tools = Recorder()
    options = redis_sidecar(redis_server, namespace="shared-across-processes")
    with Enclave(tool_handler=tools, sidecar=options) as enclave:
        result = await enclave.run(f"const ref = {json.dumps(ref)}; await callTool('consume', {{ ref }}); return ref")
    assert result.success, result.error
    assert canonical(tools.calls[0][1]["ref"]) == canonical(produced["data"])
    assert canonical(result.value) == canonical(produced["data"])
    with Enclave(tool_handler=tools, sidecar=redis_sidecar(redis_server, namespace="someone-else")) as stranger:
        refused = await stranger.run(f"return {json.dumps(ref)}")
    assert refused.error is not None and refused.error.code is ErrorCode.TOOL_ERROR
