"""The sidecar lives in the host, so it works the same whichever adapter runs the engine."""

from __future__ import annotations

import json

import pytest
from sidecar_helpers import SECRET, Recorder, canonical, check_thirty_megabytes_through_a_sixteen_megabyte_heap

from adapter_kinds import ADAPTER_FACTORIES
from enclave_vm import Enclave, ErrorCode, create_worker_pool_adapter
from redis_server import RedisServer


@pytest.mark.parametrize("kind", sorted(ADAPTER_FACTORIES))
async def test_pass_through_and_forgery_on_every_adapter(kind: str) -> None:
    tools = Recorder()
    options = {"enabled": True, "threshold": 1024}
    with Enclave(adapter=ADAPTER_FACTORIES[kind](), tool_handler=tools, sidecar=options) as enclave:
        result = await enclave.run(
            "const r = await callTool('make', {}); console.log(JSON.stringify(r));"
            "await callTool('use', { r }); return r"
        )
        forged = await enclave.run("return await callTool('use', { d: { $sidecarRef: 'c'.repeat(32), size: 1 } })")
    assert result.success, result.error
    assert SECRET not in result.stdout
    assert canonical(tools.calls[0][1]["r"]) == canonical(tools.made)
    assert canonical(result.value) == canonical(tools.made)
    assert forged.error is not None and forged.error.code is ErrorCode.TOOL_ERROR and "c" * 32 in forged.error.message


async def test_worker_pool_thirty_megabytes_with_a_sixteen_megabyte_heap() -> None:
    adapter = create_worker_pool_adapter(pool_size=1)
    await check_thirty_megabytes_through_a_sixteen_megabyte_heap(adapter=adapter, sidecar={"enabled": True})


async def test_worker_pool_and_in_process_share_through_redis(redis_server: RedisServer) -> None:
    tools = Recorder()
    options = {"enabled": True, "threshold": 1024, "storage": "redis", "redis_url": redis_server.url,
               "namespace": "pool-and-inprocess", "resolve_value": False}  # fmt: skip
    with (
        Enclave(adapter=create_worker_pool_adapter(pool_size=1), tool_handler=tools, sidecar=options) as pooled,
        Enclave(tool_handler=tools, sidecar=options) as local,
    ):
        ref = (await pooled.run("return await callTool('make', {})")).value
        result = await local.run(f"return await callTool('use', {{ d: {json.dumps(ref)} }})")
        back = await pooled.run(f"return await callTool('use', {{ d: {json.dumps(ref)} }})")
    assert result.success, result.error
    assert back.success, back.error
    assert [canonical(args["d"]) for _, args in tools.calls] == [canonical(tools.made)] * 2
