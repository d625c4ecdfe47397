"""Exhaustion is terminal everywhere: each of the four terminal codes stays terminal whatever observes
the error — `catch`, `.catch()`, `.then(_, h)`, `finally`, the Promise combinators, async iteration, a
disposal that wraps it in a SuppressedError — and after one trips no tool call runs (every attack tries
`callTool('mark')` after catching; the tool log must never show it).

Programs are instrumented but never validated, through every adapter; a few go through the guard too.
"""

from __future__ import annotations

from typing import Any

import pytest
from attack_helpers import (
    MI,
    ML,
    MT,
    TO,
    Expect,
    adapter_attack,
    attack,
    engine_limits,
    fails,
    instrumented,
    run_on_adapter,
)

from adapter_kinds import MakeEnclave

#: An async function that trips each terminal limit (its rejection is what the handlers observe).
TRIPS = {
    "oom": "(async () => { let s = 'x'; for (let i = 0; i < 64; i++) s += s; return s.length })()",
    "oom-alloc": "(async () => { const a = []; for (let i = 0; i < 1e9; i++) a.push(new Array(1000).fill(i)); })()",
    "iterations": "(async () => { for (let i = 0; i < 1e12; i++) {} })()",
    "tool-calls": "(async () => { for (let i = 0; i < 1000; i++) callTool('echo', {}) })()",
    "timeout": "(async () => { for (let i = 0; i < 1e15; i++) { if (i % 1e5 === 0) await null } })()",
    "sandbox-size": "(async () => { const a = []; a.length = 2 ** 32 - 1; return a.join('') })()",
}
CODES = {"oom": ML, "oom-alloc": ML, "iterations": MI, "tool-calls": MT, "timeout": TO, "sandbox-size": ML}

#: Ways a script observes a rejection and tries to go on; `P` is the tripping promise.
OBSERVERS = {
    "then-reject-handler": "await P.then(() => 0, () => 0); await callTool('mark', {}); return 'escaped'",
    "catch-method": "await P.catch(() => 0); await callTool('mark', {}); return 'escaped'",
    "finally-method": "await P.finally(() => callTool('mark', {})).catch(() => 0); return 'escaped'",
    "finally-block": "try { await P } finally { await callTool('mark', {}); return 'escaped' }",
    "try-catch": "try { await P } catch (e) {} await callTool('mark', {}); return 'escaped'",
    "all-settled": "await Promise.allSettled([P]); await callTool('mark', {}); return 'escaped'",
    "any": "await Promise.any([P, Promise.reject(1)]).catch(() => 0); await callTool('mark', {}); return 'x'",
    "race": "await Promise.race([P]).then(null, () => 0); await callTool('mark', {}); return 'escaped'",
    "then-chain": "await P.then(() => 0).then(() => 0, () => 0); await callTool('mark', {}); return 'x'",
    "thenable-adoption": "await new Promise((r) => r(P)).then(null, () => 0); await callTool('mark', {}); return 'x'",
    "async-iteration": (
        "const gen = async function* () { yield 1; await P }; "
        "try { for await (const x of gen()) {} } catch (e) {} await callTool('mark', {}); return 'escaped'"
    ),
    "handler-after-trip": "P.then(null, () => 0); await null; await null; await callTool('mark', {}); return 'x'",
}


@pytest.mark.parametrize("observer", sorted(OBSERVERS))
@pytest.mark.parametrize("trip", sorted(TRIPS))
async def test_terminal_through_handlers(raw_adapter: Any, trip: str, observer: str) -> None:
    body = f"const P = {TRIPS[trip]}; " + OBSERVERS[observer]
    timeout, iterations = (300, 10**12) if trip == "timeout" else (1500, 100_000)
    limits = engine_limits(timeout_ms=timeout, memory_limit=16 * 1024 * 1024, max_iterations=iterations)
    if (trip, observer) == ("timeout", "handler-after-trip"):
        # The script returns while the tripping loop still runs in the background, long before the
        # deadline: an engine that ends a step once the script settled returns its value and the tool ran
        # before any trip. Had the limit tripped first, the run would end TIMEOUT without the tool.
        outcome, log, _ = await run_on_adapter(raw_adapter, instrumented(body), limits)
        assert (outcome.ok and outcome.value_json == '"x"' and log.calls == ["mark"]) or (
            outcome.code == "TIMEOUT" and "mark" not in log.calls
        ), (outcome.code, log.calls)
        return
    await adapter_attack(raw_adapter, instrumented(body), fails(CODES[trip]), limits)


SUPPRESSED: list[tuple[str, str, Expect]] = [
    (
        "disposable-stack",
        "const s = new DisposableStack(); s.defer(() => { let x = 'x'; for (let i = 0; i < 64; i++) x += x }); "
        "s.defer(() => { throw new Error('second') }); try { s.dispose() } catch (e) {} "
        "await callTool('mark', {}); return 'escaped'",
        fails(ML),
    ),
    (
        "async-disposable-stack",
        "const s = new AsyncDisposableStack(); "
        "s.defer(async () => { let x = 'x'; for (let i = 0; i < 64; i++) x += x }); "
        "s.defer(() => { throw new Error('second') }); await s.disposeAsync().catch(() => 0); "
        "await callTool('mark', {}); return 'escaped'",
        fails(ML),
    ),
    (
        "suppressed-error-by-hand-is-not-exhaustion",
        "try { throw new SuppressedError(new Error('a'), new Error('b'), 'm') } catch (e) { return e.message }",
        Expect(codes=frozenset(), value="m"),
    ),
    (
        "null-rejection-by-promise-reject",
        "return await Promise.reject(null).then(null, () => 'handled')",
        Expect(codes=frozenset(), value="handled"),
    ),
]


@pytest.mark.parametrize(("body", "expect"), [c[1:] for c in SUPPRESSED], ids=[c[0] for c in SUPPRESSED])
async def test_terminal_through_disposal(raw_adapter: Any, body: str, expect: Expect) -> None:
    limits = engine_limits(timeout_ms=1500, memory_limit=16 * 1024 * 1024)
    await adapter_attack(raw_adapter, instrumented(body), expect, limits)


async def test_console_cap_stays_catchable(raw_adapter: Any) -> None:
    """The console cap keeps its documented behaviour: a catchable RangeError, the run goes on."""
    body = (
        "let refused = ''; for (let i = 0; i < 100; i++) { try { console.log('x'.repeat(1000)) } "
        "catch (e) { refused = e.name; break } } return [refused, await callTool('echo', { ok: 1 })]"
    )
    outcome, log, _ = await run_console(raw_adapter, body)
    assert outcome.ok and outcome.value_json == '["RangeError",{"ok":1}]'
    assert log.calls == ["echo"]


async def run_console(adapter: Any, body: str) -> Any:
    from attack_helpers import run_on_adapter

    return await run_on_adapter(adapter, instrumented(body), engine_limits(console_bytes=8192))


# ---- through the guard ----

GUARDED: list[tuple[str, str]] = [
    (
        "oom-then-handler",
        "const grow = async () => { let s = 'x'; for (let i = 0; i < 64; i++) s += s; return s.length }; "
        "await grow().then(() => 0, () => 0); return await callTool('echo', { escaped: true })",
    ),
    (
        "oom-catch-method",
        "const grow = async () => { let s = 'x'; for (let i = 0; i < 64; i++) s += s; return s.length }; "
        "await grow().catch(() => 0); return await callTool('echo', { escaped: true })",
    ),
    (
        "sandbox-size-caught",
        "const a = []; const b = Array(1000).fill(a); a.length = 300000; let r = 0; "
        "try { r = [].concat(...b).length } catch (e) {} return await callTool('echo', { escaped: r })",
    ),
]


@pytest.mark.parametrize("code", [c[1] for c in GUARDED], ids=[c[0] for c in GUARDED])
async def test_terminal_through_the_guard(make_enclave: MakeEnclave, code: str) -> None:
    calls: list[str] = []

    def tools(name: str, args: dict[str, Any], context: Any) -> Any:
        calls.append(name)
        return args

    with make_enclave(tool_handler=tools, timeout=3000, memory_limit=16 * 1024 * 1024) as enclave:
        await attack(enclave, code, fails(ML))
    assert calls == []
