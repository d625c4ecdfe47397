"""Durable runs: a tool pauses a run with `Suspend`, `resume()` runs the script again from its journal —
no tool call is repeated, Math.random()/Date give the recorded values — and tokens, journals and their
bounds are checked. Contract tests run on every adapter."""

from __future__ import annotations

import asyncio
import json
from collections import Counter
from typing import Any

import pytest

from adapter_kinds import MakeEnclave
from enclave_vm import DurableOptions, Enclave, ErrorCode, Suspend
from enclave_vm.durable.journal_store import MemoryJournalStore, new_token

APPROVAL = """
const order = await callTool('create_order', { item: 'book' });
const approval = await callTool('approve', { order: order.id });
const receipt = await callTool('charge', { order: order.id, approved: approval.ok });
return { order, approval, receipt };
"""


class Tools:
    """Counts every call; `approve` pauses until the resume answers it."""

    def __init__(self, pause: frozenset[str] = frozenset({"approve"})) -> None:
        self.calls: Counter[str] = Counter()
        self.pause = pause

    def __call__(self, name: str, args: dict[str, Any], context: Any) -> Any:
        self.calls[name] += 1
        if name in self.pause:
            raise Suspend(f"{name} needs a human", {"args": args})
        return {"id": 7, "name": name, "n": self.calls[name]}


async def test_pause_and_resume_run_each_tool_once(make_enclave: MakeEnclave) -> None:
    tools = Tools()
    with make_enclave(tool_handler=tools) as enclave:
        paused = await enclave.run(APPROVAL)
        assert not paused.success and paused.error is None and paused.suspended is not None
        suspension = paused.suspended
        assert suspension.tool == "approve" and suspension.args == {"order": 7}
        assert suspension.reason == "approve needs a human" and suspension.data == {"args": {"order": 7}}
        assert len(suspension.token) >= 32
        done = await enclave.resume(suspension.token, {"ok": True})
    assert done.success, done.error
    assert done.value == {
        "order": {"id": 7, "name": "create_order", "n": 1},
        "approval": {"ok": True},
        "receipt": {"id": 7, "name": "charge", "n": 1},
    }
    assert tools.calls == Counter({"create_order": 1, "approve": 1, "charge": 1})
    assert done.stats.tool_call_count == 3  # the whole run counts, replayed calls included


async def test_resume_with_an_error_fails_the_paused_call(make_enclave: MakeEnclave) -> None:
    with make_enclave(tool_handler=Tools()) as enclave:
        paused = await enclave.run(APPROVAL)
        assert paused.suspended is not None
        result = await enclave.resume(paused.suspended.token, error="rejected by a human")
    assert result.error is not None and result.error.code is ErrorCode.TOOL_ERROR
    assert "rejected by a human" in result.error.message


async def test_a_resumed_run_may_pause_again(make_enclave: MakeEnclave) -> None:
    tools = Tools(frozenset({"approve", "confirm"}))
    code = (
        "const a = await callTool('approve', {}); const b = await callTool('step', {});\n"
        "const c = await callTool('confirm', {}); return [a, b.n, c];"
    )
    with make_enclave(tool_handler=tools) as enclave:
        first = await enclave.run(code)
        assert first.suspended is not None and first.suspended.tool == "approve"
        second = await enclave.resume(first.suspended.token, "yes")
        assert second.suspended is not None and second.suspended.tool == "confirm"
        third = await enclave.resume(second.suspended.token, "sure")
    assert third.value == ["yes", 1, "sure"]
    assert tools.calls == Counter({"approve": 1, "step": 1, "confirm": 1})


async def test_random_and_time_are_replayed(make_enclave: MakeEnclave) -> None:
    code = (
        "const r = Math.random(); const t = Date.now(); const d = new Date().getTime();\n"
        "await callTool('approve', {});\n"
        "return [r, t, d, Math.random() === r];"
    )
    with make_enclave(tool_handler=Tools()) as enclave:
        paused = await enclave.run(code + "\n// first")
        assert paused.suspended is not None
        probe = await enclave.run("return [Math.random(), Date.now()]")
        done = await enclave.resume(paused.suspended.token, 1)
    assert done.success, done.error
    r, t, d, same = done.value
    assert 0 <= r < 1 and same is False and abs(t - d) < 60_000
    assert probe.value[0] != r  # a fresh run gets fresh values; only the replay repeats them


async def test_calls_beside_the_paused_one_are_journalled_not_repeated(make_enclave: MakeEnclave) -> None:
    tools = Tools(frozenset({"approve", "review"}))
    code = (  # four calls started together, awaited after: one batch on the host
        "const started = [callTool('fetch', { i: 1 }), callTool('approve', {}),\n"
        "  callTool('fetch', { i: 2 }), callTool('review', {})];\n"
        "const [a, b, c, d] = [await started[0], await started[1], await started[2], await started[3]];\n"
        "return [a.n, b, c.n, d];"
    )
    with make_enclave(tool_handler=tools) as enclave:
        paused = await enclave.run(code)
        assert paused.suspended is not None and paused.suspended.tool == "approve"  # the first in call order
        resumed = await enclave.resume(paused.suspended.token, "ok")
        # `review` also asked to pause: it is called again after the resume, and pauses the run now.
        assert resumed.suspended is not None and resumed.suspended.tool == "review"
        done = await enclave.resume(resumed.suspended.token, "fine")
    assert done.value == [1, "ok", 2, "fine"]
    assert tools.calls == Counter({"fetch": 2, "approve": 1, "review": 2})


async def test_a_token_is_used_once(make_enclave: MakeEnclave) -> None:
    with make_enclave(tool_handler=Tools()) as enclave:
        paused = await enclave.run(APPROVAL)
        assert paused.suspended is not None
        await enclave.resume(paused.suspended.token, {"ok": True})
        with pytest.raises(LookupError, match="already used"):
            await enclave.resume(paused.suspended.token, {"ok": True})


async def test_unknown_and_expired_tokens_raise_lookup_error() -> None:
    with Enclave(tool_handler=Tools()) as enclave:
        with pytest.raises(LookupError, match="Unknown"):
            await enclave.resume(new_token(60_000), 1)
        with pytest.raises(LookupError, match="expired"):
            await enclave.resume(new_token(-1), 1)


async def test_an_expired_journal_cannot_be_resumed() -> None:
    store = MemoryJournalStore()
    token = new_token(-1)
    store.put(token, "{}", -1)
    with pytest.raises(LookupError, match="expired"):
        store.take(token)


async def test_a_script_that_asks_for_other_calls_does_not_match_its_journal() -> None:
    """The journal keeps the script; a tool whose answers change the path the script takes on replay
    (here: the order id differs) makes it ask for other calls, which is refused."""
    ids = iter([7, 8])

    def tools(name: str, args: dict[str, Any], context: Any) -> Any:
        if name == "approve":
            raise Suspend("wait")
        return {"id": next(ids)}

    code = "const o = await callTool('create', {}); await callTool('approve', { id: o.id }); return 1"
    with Enclave(tool_handler=tools) as enclave:
        paused = await enclave.run(code)
        assert paused.suspended is not None
        # Tamper with the recorded answer of the first call, as a script with other behaviour would see.
        store = enclave._durable._store  # type: ignore[union-attr]
        assert isinstance(store, MemoryJournalStore)
        key, (expiry, text) = next(iter(store._entries.items()))
        outer = json.loads(text or "")
        body = json.loads(outer["body"])
        body["calls"][0][4] = '{"id":8}'
        outer["body"] = json.dumps(body, sort_keys=True, separators=(",", ":"))
        store._entries[key] = (expiry, json.dumps(outer))
        result = await enclave.resume(paused.suspended.token, True)
    assert result.error is not None and result.error.code is ErrorCode.RUNTIME_ERROR
    assert "does not match its journal" in result.error.message


async def test_a_tampered_journal_fails_its_hmac_check() -> None:
    options = DurableOptions(secret="s3cret")
    with Enclave(tool_handler=Tools(), durable=options) as enclave:
        paused = await enclave.run(APPROVAL)
        assert paused.suspended is not None
        store = enclave._durable._store  # type: ignore[union-attr]
        assert isinstance(store, MemoryJournalStore)
        key, (expiry, text) = next(iter(store._entries.items()))
        store._entries[key] = (expiry, (text or "").replace("create_order", "create_ordex"))
        result = await enclave.resume(paused.suspended.token, {"ok": True})
    assert result.error is not None and result.error.code is ErrorCode.RUNTIME_ERROR
    assert "integrity" in result.error.message


async def test_a_journal_from_other_options_is_refused() -> None:
    store = MemoryJournalStore()
    with (
        Enclave(tool_handler=Tools(), max_iterations=500) as first,
        Enclave(tool_handler=Tools(), max_iterations=900) as second,
    ):
        first._durable._store = second._durable._store = store  # type: ignore[union-attr]
        paused = await first.run(APPROVAL)
        assert paused.suspended is not None
        result = await second.resume(paused.suspended.token, {"ok": True})
    assert result.error is not None and result.error.code is ErrorCode.RUNTIME_ERROR
    assert "other options" in result.error.message


async def test_a_journal_over_its_bound_ends_the_run_instead_of_pausing() -> None:
    def tools(name: str, args: dict[str, Any], context: Any) -> Any:
        if name == "approve":
            raise Suspend("wait")
        return "x" * 2000

    code = "for (let i = 0; i < 5; i++) { await callTool('big', {}); } await callTool('approve', {}); return 1"
    with Enclave(tool_handler=tools, durable=DurableOptions(max_journal_bytes=4096)) as enclave:
        result = await enclave.run(code)
    assert result.suspended is None
    assert result.error is not None and result.error.code is ErrorCode.MEMORY_LIMIT_EXCEEDED


async def test_a_run_that_saw_too_many_random_values_cannot_pause() -> None:
    code = "let s = 0; for (let i = 0; i < 20000; i++) { s += Math.random(); } await callTool('approve', {}); return s"
    with Enclave(tool_handler=Tools(), max_iterations=100_000) as enclave:
        result = await enclave.run(code)
    assert result.suspended is None
    assert result.error is not None and result.error.code is ErrorCode.MEMORY_LIMIT_EXCEEDED


async def test_a_bad_resume_value_is_refused_and_the_token_kept() -> None:
    with Enclave(tool_handler=Tools()) as enclave:
        paused = await enclave.run(APPROVAL)
        assert paused.suspended is not None
        with pytest.raises(TypeError):
            await enclave.resume(paused.suspended.token, {"f": print})
        done = await enclave.resume(paused.suspended.token, {"ok": True})
    assert done.success


async def test_without_durable_runs_a_pause_is_a_tool_error() -> None:
    with Enclave(tool_handler=Tools(), durable=None) as enclave:
        result = await enclave.run(APPROVAL)
        with pytest.raises(RuntimeError, match="durable"):
            await enclave.resume("x", 1)
    assert result.error is not None and result.error.code is ErrorCode.TOOL_ERROR


def test_resume_sync_is_the_twin_of_resume() -> None:
    tools = Tools()
    with Enclave(tool_handler=tools) as enclave:
        paused = enclave.run_sync(APPROVAL)
        assert paused.suspended is not None
        done = enclave.resume_sync(paused.suspended.token, {"ok": False})
    assert done.success and done.value["approval"] == {"ok": False}


async def test_an_async_tool_can_pause_too(make_enclave: MakeEnclave) -> None:
    async def tools(name: str, args: dict[str, Any], context: Any) -> Any:
        await asyncio.sleep(0)
        if name == "approve":
            raise Suspend("async wait")
        return {"id": 1}

    with make_enclave(tool_handler=tools) as enclave:
        paused = await enclave.run(APPROVAL)
        assert paused.suspended is not None and paused.suspended.reason == "async wait"
        done = await enclave.resume(paused.suspended.token, {"ok": True}, context={"user": "ada"})
    assert done.success and done.value["approval"] == {"ok": True}


def test_a_corrupt_journal_in_redis_fails_cleanly(redis_server: Any) -> None:
    import redis as redis_client

    from enclave_vm.durable.journal_store import token_key

    options = DurableOptions(storage="redis", redis_url=redis_server.url, namespace="corrupt-test")
    with Enclave(tool_handler=Tools(), durable=options) as enclave:
        paused = enclave.run_sync(APPROVAL)
        assert paused.suspended is not None
        token = paused.suspended.token
        client = redis_client.Redis.from_url(redis_server.url)
        key = f"corrupt-test:journal:{token_key(token)}"
        assert client.exists(key)
        client.set(key, b"\xff{not a journal", px=60_000)
        result = enclave.resume_sync(token, {"ok": True})
    assert result.error is not None and result.error.code is ErrorCode.RUNTIME_ERROR
    assert "corrupt" in result.error.message
