"""Bridge abuse (huge, deep, cyclic, non-JSON arguments and results; floods of calls) and limit evasion
(catching each terminal limit and trying to go on, limits tripped in callbacks, recursion, promise chains).

Terminal limits set a sticky flag in the prelude and the host checks it after every engine step, so a
script that catches the error still ends with the limit's code. Cases using constructs the finished
guard rejects (`Promise`, `while`, `for(;;)`, non-literal tool names) also accept VALIDATION_ERROR.
"""

from __future__ import annotations

import pytest
from attack_helpers import MI, ML, MT, TE, TO, VE, Expect, attack, fails, returns

from enclave_vm import Enclave

DEEP = "let v = 0; for (let i = 0; i < {n}; i++) v = [v]; "

BRIDGE: list[tuple[str, str, Expect]] = [
    ("args-deep-100", DEEP.format(n=100) + "return await callTool('echo', { v })", fails(ML)),
    ("args-deep-100000", DEEP.format(n=9000) + "return await callTool('echo', { v })", fails(ML)),
    (
        "args-deep-caught",
        DEEP.format(n=100) + "try { await callTool('echo', { v }) } catch (e) {} return 'escaped'",
        fails(ML),
    ),
    ("args-cyclic", "const a = {}; a.a = a; return await callTool('echo', a)", fails(TE)),
    ("args-bigint", "return await callTool('echo', { n: 1n })", fails(TE)),
    (
        "args-nan-infinity",
        "return await callTool('echo', { a: NaN, b: Infinity, c: -Infinity })",
        returns({"a": None, "b": None, "c": None}),
    ),
    ("args-undefined-member", "return await callTool('echo', { a: undefined })", returns({})),
    (
        "args-lone-surrogate",
        "return await callTool('echo', { s: '\\udc00' })",
        returns({"s": "\udc00"}, VE),
    ),  # the guard currently refuses lone-surrogate escapes
    (
        "args-many-keys",
        "const o = {}; for (let i = 0; i < 5000; i++) o['k' + i] = i; const r = await callTool('echo', o); "
        "return Object.keys(r).length",
        returns(5000),
    ),
    (
        "args-proto-key",
        "return await callTool('echo', JSON.parse('{\"__proto__\": {\"x\": 1}}'))",
        returns({"__proto__": {"x": 1}}),
    ),
    ("result-over-value-cap", "return await callTool('big', { size: 17 * 1024 * 1024 })", fails(ML)),
    (
        "result-over-value-cap-caught",
        "try { await callTool('big', { size: 17 * 1024 * 1024 }) } catch (e) {} return 'escaped'",
        fails(ML),
    ),
    ("result-deep", "return await callTool('deep', { depth: 100 })", fails(ML)),
    ("result-deep-huge", "return await callTool('deep', { depth: 100000 })", fails(ML)),
    ("result-nonjson", "return await callTool('nonjson', {})", fails(TE)),
    (
        "result-nonjson-caught",
        "try { await callTool('nonjson', {}) } catch (e) { return e.message }",
        returns("Tool 'nonjson' returned a set at result, which is not JSON data"),
    ),
    ("result-cyclic", "return await callTool('cyclic', {})", fails(TE)),
    ("result-nan", "return await callTool('nan', {})", fails(TE)),
    (
        "tool-exception-message-only",
        "try { await callTool('fail', { message: 'm' }) } catch (e) { return [e.message, typeof e.stack] }",
        returns(["m", "string"]),
    ),
    (
        "parallel-flood-array-from",
        "const ps = Array.from({ length: 50 }, () => callTool('echo', {})); for (const p of ps) await p; return 1",
        fails(MT),
    ),
    (
        "parallel-flood-loop",
        "const ps = []; for (let i = 0; i < 50; i++) ps.push(callTool('echo', { i })); "
        "for (const p of ps) await p; return 1",
        fails(MT),
    ),
    (
        "parallel-flood-promise-all",
        "return (await Promise.all(Array.from({ length: 1000 }, () => callTool('echo', {})))).length",
        fails(VE, MT),
    ),  # the finished guard rejects Promise; without it the host counts the batch
    (
        "parallel-exactly-limit",
        "const ps = []; for (let i = 0; i < 20; i++) ps.push(callTool('echo', { i })); "
        "let s = 0; for (const p of ps) s += (await p).i; return s",
        returns(190),
    ),
    ("sequential-over-limit", "for (let i = 0; i < 21; i++) await callTool('echo', {}); return 1", fails(MT)),
    ("unawaited-flood", "for (let i = 0; i < 100; i++) callTool('echo', {}); return 'done'", fails(MT)),
    (
        "same-id-settle-replay",
        "const a = callTool('echo', { a: 1 }); const b = callTool('echo', { b: 2 }); return [await b, await a]",
        returns([{"b": 2}, {"a": 1}]),
    ),
]

EVASION: list[tuple[str, str, Expect]] = [
    (
        "mt-caught-then-call",
        "for (let i = 0; i < 20; i++) await callTool('echo', {}); "
        "try { await callTool('echo', {}) } catch (e) {} return await callTool('echo', { again: 1 })",
        fails(MT),
    ),
    (
        "mt-caught-then-return",
        "for (let i = 0; i < 20; i++) await callTool('echo', {}); "
        "try { await callTool('echo', {}) } catch (e) { return 'escaped' }",
        fails(MT),
    ),
    (
        "mt-caught-in-each",
        "let n = 0; for (let i = 0; i < 40; i++) { try { await callTool('echo', {}) } catch (e) { n++ } } return n",
        fails(MT),
    ),
    (
        "mt-finally-return",
        "try { for (let i = 0; i < 30; i++) await callTool('echo', {}) } finally { return 'escaped' }",
        fails(MT),
    ),
    (
        "mt-promise-catch",
        "const r = await (async () => { for (let i = 0; i < 30; i++) await callTool('echo', {}) })()"
        ".catch(() => 'escaped'); return r",
        fails(VE, MT),
    ),  # the guard's parse of `.catch` on an IIFE varies
    ("mi-caught", "try { for (let i = 0; i < 1e6; i++) {} } catch (e) {} return 'escaped'", fails(MI)),
    (
        "mi-caught-loop-again",
        "try { for (let i = 0; i < 1e6; i++) {} } catch (e) { for (let j = 0; j < 10; j++) {} } return 1",
        fails(MI),
    ),
    ("mi-finally-return", "try { for (let i = 0; i < 1e6; i++) {} } finally { return 'escaped' }", fails(MI)),
    (
        "mi-then-tool",
        "try { for (let i = 0; i < 1e6; i++) {} } catch (e) {} return await callTool('echo', {})",
        fails(MI),
    ),
    ("mi-then-console", "try { for (let i = 0; i < 1e6; i++) {} } catch (e) {} console.log('x'); return 1", fails(MI)),
    (
        "mi-nested-loops",
        "let n = 0; for (let i = 0; i < 200; i++) { for (let j = 0; j < 200; j++) { n++ } } return n",
        fails(MI),
    ),
    (
        "mi-in-array-callback",
        "let n = 0; [1, 2, 3].forEach(() => { for (let i = 0; i < 1e6; i++) n++ }); return n",
        fails(MI),
    ),
    (
        "mi-in-map-callback-caught",
        "const r = [1, 2].map(() => { try { for (let i = 0; i < 1e6; i++) {} } catch (e) { return 'c' } }); return r",
        fails(MI),
    ),
    (
        "mi-in-recursion",
        "const f = (d) => { for (let i = 0; i < 100; i++) {} return d > 0 ? f(d - 1) : 0 }; return f(500)",
        fails(MI),
    ),
    (
        "mi-in-promise-chain",
        "return await Promise.resolve().then(() => { for (let i = 0; i < 1e6; i++) {} }).catch(() => 'escaped')",
        fails(VE, MI),
    ),  # Promise is outside AgentScript's globals; the engine still ends the run
    (
        "mi-in-async-arrow-catch",
        "const f = async () => { for (let i = 0; i < 1e6; i++) {} }; try { await f() } catch (e) {} return 1",
        fails(MI),
    ),
    (
        "mi-in-sort-comparator",
        "return [3, 1, 2].sort((a, b) => { for (let i = 0; i < 1e6; i++) {} return a - b })",
        fails(MI),
    ),
    ("mi-in-toJSON", "return { toJSON: () => { for (let i = 0; i < 1e6; i++) {} return 1 } }", fails(MI)),
    (
        "mi-in-args-toJSON",
        "return await callTool('echo', { toJSON: () => { for (let i = 0; i < 1e6; i++) {} return {} } })",
        fails(MI),
    ),
    ("mi-for-of", "let n = 0; for (const x of Array.from({ length: 20000 }, (_, i) => i)) n += x; return n", fails(MI)),
    (
        "ml-caught-then-return",
        "let s = 'x'; try { for (let i = 0; i < 40; i++) s += s } catch (e) {} return 'escaped'",
        fails(ML),
    ),
    (
        "ml-caught-then-tool",
        "let s = 'x'; try { for (let i = 0; i < 40; i++) s += s } catch (e) {} return await callTool('echo', {})",
        fails(ML),
    ),
    (
        "ml-caught-in-callback",
        "let s = 'x'; const r = [1].map(() => { try { for (let i = 0; i < 40; i++) s += s } catch (e) { return 'c' } });"  # noqa: E501
        " return r",
        fails(ML),
    ),
]


@pytest.mark.parametrize(("code", "expect"), [c[1:] for c in BRIDGE], ids=[c[0] for c in BRIDGE])
async def test_bridge_abuse(std: Enclave, code: str, expect: Expect) -> None:
    await attack(std, code, expect)


@pytest.mark.parametrize(("code", "expect"), [c[1:] for c in EVASION], ids=[c[0] for c in EVASION])
async def test_limit_evasion(std: Enclave, code: str, expect: Expect) -> None:
    await attack(std, code, expect)


TIMEOUT_EVASION: list[tuple[str, str, Expect]] = [
    (
        "timeout-caught-then-return",
        "try { for (let i = 0; i < 1e12; i++) {} } catch (e) {} return 'escaped'",
        fails(TO),
    ),
    (
        "timeout-caught-then-tool",
        "try { for (let i = 0; i < 1e12; i++) {} } catch (e) {} return await callTool('echo', {})",
        fails(TO),
    ),
    ("timeout-finally-return", "try { for (let i = 0; i < 1e12; i++) {} } finally { return 'escaped' }", fails(TO)),
    (
        "timeout-caught-each-iteration",
        "let n = 0; for (let j = 0; j < 1e12; j++) { try { for (let i = 0; i < 1e12; i++) {} } catch (e) { n++ } }"
        " return n",
        fails(TO),
    ),
    (
        "timeout-in-callback-caught",
        "return [1, 2].map(() => { try { for (let i = 0; i < 1e12; i++) {} } catch (e) { return 'c' } })",
        fails(TO),
    ),
]


@pytest.mark.parametrize(("code", "expect"), [c[1:] for c in TIMEOUT_EVASION], ids=[c[0] for c in TIMEOUT_EVASION])
async def test_timeout_evasion(cpu: Enclave, code: str, expect: Expect) -> None:
    await attack(cpu, code, expect)


VALUE_CAP: list[tuple[str, str, Expect]] = [
    ("args-over-strict-cap", "return await callTool('count', { s: 'x'.repeat(60000).repeat(20) })", fails(ML)),
    (
        "args-over-strict-cap-caught",
        "try { await callTool('count', { s: 'x'.repeat(60000).repeat(20) }) } catch (e) {} return 'escaped'",
        fails(ML),
    ),
    ("args-multibyte-over-cap", "return await callTool('count', { s: '\u20ac'.repeat(60000).repeat(7) })", fails(ML)),
    ("return-over-strict-cap", "return 'x'.repeat(60000).repeat(20)", fails(ML)),
    ("result-over-strict-cap", "return (await callTool('big', { size: 2000000 })).length", fails(ML)),
]


@pytest.mark.parametrize(("code", "expect"), [c[1:] for c in VALUE_CAP], ids=[c[0] for c in VALUE_CAP])
async def test_value_caps(strict: Enclave, code: str, expect: Expect) -> None:
    await attack(strict, code, expect)


# An engine exhaustion error that no catch clause sees (only a `finally`) never sets the sticky flag.
ML_FINALLY = "let s = 'x'; try { for (let i = 0; i < 40; i++) s += s } finally { return 'escaped' }"


async def test_memory_limit_terminal_through_finally(std: Enclave) -> None:
    await attack(std, ML_FINALLY, fails(ML))


async def test_memory_limit_terminal_through_catch(std: Enclave) -> None:
    await attack(std, ML_FINALLY.replace("finally {", "catch (e) {"), fails(ML))
