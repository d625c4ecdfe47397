"""The reference sidecar end to end with the in-process store (in-process adapter)."""

from __future__ import annotations

import asyncio
import json
import re
import time
from typing import Any

import pytest
from sidecar_helpers import (
    REF_KEY,
    SECRET,
    Recorder,
    canonical,
    check_thirty_megabytes_through_a_sixteen_megabyte_heap,
    is_reference,
    payload,
)

from enclave_vm import Enclave, ErrorCode, SidecarOptions, is_sidecar_reference
from enclave_vm.sidecar import shared_memory_store

THRESHOLD = 1024


def sidecar(**extra: Any) -> dict[str, Any]:
    return {"enabled": True, "threshold": THRESHOLD, **extra}


async def test_large_result_becomes_a_reference_and_passes_through_byte_identical() -> None:
    tools = Recorder()
    with Enclave(tool_handler=tools, sidecar=sidecar()) as enclave:
        result = await enclave.run(
            """
            const ref = await callTool('make', {});
            console.log(JSON.stringify(ref));
            await callTool('consume', { nested: { list: [1, ref, ref] }, ref });
            return Object.keys(ref).sort();
            """
        )
    assert result.success, result.error
    assert result.value == [REF_KEY, "size"]
    shown = json.loads(result.stdout)
    assert is_reference(shown)
    assert re.fullmatch(r"[0-9a-f]{32}", shown[REF_KEY])
    assert shown["size"] == len(canonical(tools.made).encode())
    assert SECRET not in result.stdout
    [(_, args)] = tools.calls
    for received in (args["ref"], args["nested"]["list"][1], args["nested"]["list"][2]):
        assert canonical(received) == canonical(tools.made)
    assert args["nested"]["list"][0] == 1


async def test_small_result_stays_inline() -> None:
    with Enclave(tool_handler=Recorder(), sidecar=sidecar()) as enclave:
        result = await enclave.run("const r = await callTool('small', {}); return r.ok === true")
    assert result.value is True


async def test_threshold_is_exclusive_bytes_of_utf8_json() -> None:
    exact = {"s": "é" * 100}  # 2 bytes per character
    size = len(canonical(exact).encode())

    def tool(name: str, args: dict[str, Any], context: Any) -> Any:
        return exact

    for threshold, stored in ((size, False), (size - 1, True)):
        with Enclave(tool_handler=tool, sidecar={"enabled": True, "threshold": threshold}) as enclave:
            result = await enclave.run(f"const r = await callTool('t', {{}}); return typeof r.{'s'} === 'string'")
        assert result.value is (not stored)


async def test_returned_reference_is_resolved_by_default() -> None:
    tools = Recorder()
    with Enclave(tool_handler=tools, sidecar=sidecar()) as enclave:
        result = await enclave.run("const ref = await callTool('make', {}); return { data: ref, n: 1 }")
    assert result.success, result.error
    assert canonical(result.value["data"]) == canonical(tools.made)
    assert result.value["n"] == 1


async def test_resolve_value_false_keeps_the_reference_and_a_later_run_can_use_it() -> None:
    tools = Recorder()
    with Enclave(tool_handler=tools, sidecar=sidecar(resolve_value=False)) as enclave:
        first = await enclave.run("return await callTool('make', {})")
        assert first.success, first.error
        assert is_sidecar_reference(first.value)
        assert SECRET not in json.dumps(first.value)
        second = await enclave.run(f"return await callTool('consume', {{ data: {json.dumps(first.value)} }})")
    assert second.success, second.error
    assert canonical(tools.calls[0][1]["data"]) == canonical(tools.made)


async def test_script_can_compare_references_but_not_read_them() -> None:
    with Enclave(tool_handler=Recorder(), sidecar=sidecar(resolve_value=False)) as enclave:
        result = await enclave.run(
            """
            const a = await callTool('make', {});
            const b = await callTool('make', {});
            const text = JSON.stringify([a, b]);
            return { sameAsItself: a.$sidecarRef === a.$sidecarRef, distinct: a.$sidecarRef !== b.$sidecarRef,
                     sameSize: a.size === b.size, blob: a.blob === undefined, secret: text.indexOf('TOP-SECRET') }
            """
        )
    assert result.value == {"sameAsItself": True, "distinct": True, "sameSize": True, "blob": True, "secret": -1}


async def test_forged_reference_is_a_tool_error_naming_it_and_the_handler_never_runs() -> None:
    tools = Recorder()
    forged = "0123456789abcdef0123456789abcdef"
    with Enclave(tool_handler=tools, sidecar=sidecar()) as enclave:
        result = await enclave.run(
            f"return await callTool('consume', {{ x: {{ $sidecarRef: '{forged}', size: 10 }} }})"
        )
    assert result.error is not None and result.error.code is ErrorCode.TOOL_ERROR
    assert forged in result.error.message
    assert tools.calls == []


async def test_forged_reference_error_is_catchable() -> None:
    with Enclave(tool_handler=Recorder(), sidecar=sidecar()) as enclave:
        result = await enclave.run(
            "try { await callTool('consume', { x: { $sidecarRef: 'ab'.repeat(16), size: 1 } }) } "
            "catch (e) { return e.message }"
        )
    assert result.success
    assert "ab" * 16 in result.value and "unknown or expired" in result.value


@pytest.mark.parametrize(
    "claim",
    [
        "{ $sidecarRef: 'not-hex', size: 1 }",
        "{ $sidecarRef: 'ab'.repeat(16) }",
        "{ $sidecarRef: 'ab'.repeat(16), size: 1, extra: 2 }",
        "{ $sidecarRef: 42, size: 1 }",
        "{ $sidecarRef: 'ab'.repeat(16), size: -1 }",
        "{ $sidecarRef: 'ab'.repeat(16), size: true }",
    ],
)
async def test_malformed_reference_claims_are_tool_errors(claim: str) -> None:
    tools = Recorder()
    with Enclave(tool_handler=tools, sidecar=sidecar()) as enclave:
        result = await enclave.run(f"return await callTool('consume', {{ x: [{claim}] }})")
    assert result.error is not None and result.error.code is ErrorCode.TOOL_ERROR
    assert "malformed sidecar reference" in result.error.message
    assert tools.calls == []


async def test_tampered_size_does_not_resolve() -> None:
    tools = Recorder()
    with Enclave(tool_handler=tools, sidecar=sidecar()) as enclave:
        result = await enclave.run(
            "const r = await callTool('make', {});"
            "return await callTool('consume', { x: { $sidecarRef: r.$sidecarRef, size: r.size + 1 } })"
        )
    assert result.error is not None and result.error.code is ErrorCode.TOOL_ERROR
    assert tools.calls == []


async def test_forged_reference_in_the_returned_value_fails_the_run() -> None:
    forged = "fe" * 16
    with Enclave(sidecar=sidecar()) as enclave:
        result = await enclave.run(f"return {{ a: [{{ $sidecarRef: '{forged}', size: 5 }}] }}")
    assert result.error is not None and result.error.code is ErrorCode.TOOL_ERROR
    assert forged in result.error.message
    assert result.error.data == {"reference": forged}
    assert result.value is None


async def test_expired_reference_is_a_tool_error() -> None:
    tools = Recorder()
    with Enclave(tool_handler=tools, sidecar=sidecar(ttl=150, resolve_value=False)) as enclave:
        first = await enclave.run("return await callTool('make', {})")
        ref = first.value
        assert is_sidecar_reference(ref)
        alive = await enclave.run(f"return await callTool('consume', {{ d: {json.dumps(ref)} }})")
        assert alive.success, alive.error
        await asyncio.sleep(0.3)
        expired = await enclave.run(f"return await callTool('consume', {{ d: {json.dumps(ref)} }})")
    assert expired.error is not None and expired.error.code is ErrorCode.TOOL_ERROR
    assert ref["$sidecarRef"] in expired.error.message
    assert len(tools.calls) == 1


async def test_default_namespaces_keep_enclaves_apart() -> None:
    tools = Recorder()
    with (
        Enclave(tool_handler=tools, sidecar=sidecar(resolve_value=False)) as owner,
        Enclave(tool_handler=tools, sidecar=sidecar()) as other,
    ):
        ref = (await owner.run("return await callTool('make', {})")).value
        result = await other.run(f"return await callTool('consume', {{ d: {json.dumps(ref)} }})")
    assert result.error is not None and result.error.code is ErrorCode.TOOL_ERROR
    assert ref["$sidecarRef"] in result.error.message
    assert tools.calls == []


async def test_same_namespace_shares_in_process() -> None:
    tools = Recorder()
    shared = sidecar(namespace="session-42", resolve_value=False)
    with Enclave(tool_handler=tools, sidecar=shared) as one, Enclave(tool_handler=tools, sidecar=shared) as two:
        ref = (await one.run("return await callTool('make', {})")).value
        result = await two.run(f"return await callTool('consume', {{ d: {json.dumps(ref)} }})")
    assert result.success, result.error
    assert canonical(tools.calls[0][1]["d"]) == canonical(tools.made)


async def test_max_references_per_run() -> None:
    with Enclave(tool_handler=Recorder(), sidecar=sidecar(max_references=2)) as enclave:
        result = await enclave.run(
            "const out = []; for (const i of [1, 2, 3]) { out.push(await callTool('make', {})) } return out.length"
        )
        again = await enclave.run("await callTool('make', {}); await callTool('make', {}); return 'fine'")
    assert result.error is not None and result.error.code is ErrorCode.TOOL_ERROR
    assert "sidecar.max_references" in result.error.message
    assert again.value == "fine"  # the limit is per run


async def test_max_stored_bytes_per_run() -> None:
    size = len(canonical(payload(4096)).encode())
    with Enclave(tool_handler=Recorder(), sidecar=sidecar(max_stored_bytes=2 * size + 10)) as enclave:
        two = await enclave.run("await callTool('make', {}); await callTool('make', {}); return 2")
        three = await enclave.run(
            "await callTool('make', {}); await callTool('make', {}); "
            "try { await callTool('make', {}) } catch (e) { return e.message }"
        )
    assert two.value == 2
    assert three.success and "sidecar.max_stored_bytes" in three.value


async def test_repeated_references_cannot_amplify_data() -> None:
    size = len(canonical(payload(4096)).encode())
    tools = Recorder()
    with Enclave(tool_handler=tools, sidecar=sidecar(max_stored_bytes=3 * size)) as enclave:
        fits = await enclave.run("const r = await callTool('make', {}); return await callTool('use', { a: [r, r, r] })")
        args = await enclave.run(
            "const r = await callTool('make', {}); const many = []; for (const i of [1, 2, 3, 4]) { many.push(r) }"
            "return await callTool('use', { many })"
        )
        value = await enclave.run("const r = await callTool('make', {}); return [r, r, r, r]")
    assert fits.success, fits.error
    assert [canonical(item) for item in tools.calls[0][1]["a"]] == [canonical(tools.made)] * 3
    for result in (args, value):
        assert result.error is not None and result.error.code is ErrorCode.TOOL_ERROR
        assert "sidecar.max_stored_bytes" in result.error.message
    assert len(tools.calls) == 1


async def test_level_default_limit_on_references() -> None:
    # STRICT stores at most 10 results per run; more tool calls are allowed here so the sidecar limit trips.
    with Enclave(
        tool_handler=Recorder(), security_level="STRICT", max_tool_calls=20, sidecar={"enabled": True, "threshold": 10}
    ) as enclave:
        result = await enclave.run(
            "let n = 0; for (const i of [1,2,3,4,5,6,7,8,9,10,11]) { await callTool('make', {}); n++ } return n"
        )
    assert result.error is not None and result.error.code is ErrorCode.TOOL_ERROR
    assert "sidecar.max_references = 10" in result.error.message


async def test_thirty_megabytes_with_a_sixteen_megabyte_heap() -> None:
    result = await check_thirty_megabytes_through_a_sixteen_megabyte_heap(sidecar={"enabled": True})
    assert result.stats.memory_usage is not None and result.stats.memory_usage < 16 << 20
    # Without the sidecar the same result cannot enter the engine at all.
    with Enclave(tool_handler=lambda name, args, context: payload(30 << 20), memory_limit=16 << 20) as without:
        baseline = await without.run("const data = await callTool('fetch', {}); return 1")
    assert baseline.error is not None and baseline.error.code is ErrorCode.MEMORY_LIMIT_EXCEEDED


async def test_async_handler_results_are_offloaded_too() -> None:
    made = payload(8192)
    seen: list[Any] = []

    async def tool(name: str, args: dict[str, Any], context: Any) -> Any:
        await asyncio.sleep(0)
        if name == "make":
            return made
        seen.append(args["d"])
        return True

    with Enclave(tool_handler=tool, sidecar=sidecar()) as enclave:
        result = await enclave.run(
            "const pa = callTool('make', {}); const pb = callTool('make', {}); const a = await pa; const b = await pb;"
            "await callTool('use', { d: b }); return a.size > 8192"
        )
    assert result.value is True
    assert canonical(seen[0]) == canonical(made)


def test_run_sync_uses_the_sidecar() -> None:
    tools = Recorder()
    with Enclave(tool_handler=tools, sidecar=sidecar()) as enclave:
        result = enclave.run_sync("const r = await callTool('make', {}); return [r.size, await callTool('use', { r })]")
    assert result.success, result.error
    assert canonical(tools.calls[0][1]["r"]) == canonical(tools.made)


async def test_disabled_sidecar_changes_nothing() -> None:
    with Enclave(tool_handler=Recorder(), sidecar=SidecarOptions(enabled=False, threshold=10)) as enclave:
        result = await enclave.run("const r = await callTool('make', {}); return r.secret")
    assert result.value == SECRET


async def test_dispose_forgets_the_private_references() -> None:
    store = shared_memory_store()
    enclave = Enclave(tool_handler=Recorder(), sidecar=sidecar(resolve_value=False))
    ref = (await enclave.run("return await callTool('make', {})")).value
    namespace = enclave._sidecar.namespace  # type: ignore[union-attr]
    assert store.get(namespace, ref[REF_KEY], 1.0) is not None
    enclave.dispose()
    assert store.get(namespace, ref[REF_KEY], 1.0) is None


async def test_sidecar_store_does_not_block_the_deadline() -> None:
    def slow(name: str, args: dict[str, Any], context: Any) -> Any:
        time.sleep(0.4)
        return payload(4096)

    with Enclave(tool_handler=slow, timeout=200, sidecar=sidecar()) as enclave:
        result = await enclave.run("return await callTool('make', {})")
    assert result.error is not None and result.error.code is ErrorCode.TIMEOUT
