"""Natives that never poll the interrupt: Array, TypedArray and String methods whose C loop over a length
does not check the deadline (the list is in SECURITY.md). Each attack ends by its deadline on every
adapter: refused before the native runs (MEMORY_LIMIT_EXCEEDED, a size the sandbox refuses), given a
receiver whose length cannot change, refused for generic receivers, or run in polled pieces.

The time bound asserted is five times looser than the promise (deadline + 100 ms).
"""

from __future__ import annotations

import os
import threading
from typing import Any

import psutil
import pytest
from attack_helpers import (
    ML,
    RE,
    TO,
    Expect,
    adapter_attack,
    engine_limits,
    fails,
    instrumented,
    returns,
    run_on_adapter,
    wrap,
)

from adapter_kinds import MakeEnclave
from enclave_vm.adapters.inprocess import InProcessAdapter

TIMEOUT_MS = 400
#: The promise is deadline + 100 ms; the test allows five times that.
BOUND_S = TIMEOUT_MS / 1000 + 0.5

SPARSE = "const s = []; s.length = 500000; "
FLIP = "let reads = 0; const len = { valueOf() { return reads++ ? 2 ** 53 - 1 : 1 } }; "

ATTACKS: list[tuple[str, str, Expect]] = [
    ("concat-spread-sparse", SPARSE + "return [].concat(...Array(1000).fill(s)).length", fails(ML)),
    ("concat-spread-receiver", SPARSE + "return s.concat(s, s).length", fails(ML)),
    (
        "concat-spreadable-flips",
        "let n = 0; const o = { length: 2 ** 53 - 1, get [Symbol.isConcatSpreadable]() { return n++ > 0 } }; "
        "return [].concat(o).length",
        returns(1),
    ),
    (
        "concat-array-flag-flips",
        "let n = 0; const a = []; a.length = 2 ** 32 - 1; "
        "Object.defineProperty(a, Symbol.isConcatSpreadable, { get() { return n++ > 0 } }); return [].concat(a).length",
        returns(1),
    ),
    (
        "concat-length-flips",
        FLIP + "return [].concat({ length: len, [Symbol.isConcatSpreadable]: true }).length",
        returns(1),
    ),
    ("reverse-generic-length-flips", FLIP + "[].reverse.call({ length: len }); return 1", fails(RE)),
    ("fill-generic", "Array.prototype.fill.call({ length: 2 ** 53 - 1 }, 0); return 1", fails(RE)),
    ("copyWithin-generic", FLIP + "Array.prototype.copyWithin.call({ length: len }, 0, 1); return 1", fails(RE)),
    ("unshift-generic", FLIP + "Array.prototype.unshift.call({ length: len }, 1); return 1", fails(RE)),
    ("sort-generic", FLIP + "Array.prototype.sort.call({ length: len }); return 1", fails(RE)),
    ("join-generic-length-flips", FLIP + "return Array.prototype.join.call({ length: len }, '')", returns("")),
    ("slice-generic-length-flips", FLIP + "return Array.prototype.slice.call({ length: len }).length", returns(1)),
    ("toReversed-generic", FLIP + "return Array.prototype.toReversed.call({ length: len }).length", returns(1)),
    ("join-generic-huge", "return Array.prototype.join.call({ length: 2 ** 53 - 1 }, '')", fails(ML)),
    (
        "join-proxy-length-flips",
        FLIP + "return Array.prototype.join.call(new Proxy([], { get: (t, k) => k === 'length' ? len : t[k] }), '')",
        returns(""),
    ),
    ("sparse-join", "const a = []; a.length = 2 ** 32 - 1; return a.join('')", fails(ML)),
    ("sparse-reverse", "const a = []; a.length = 2 ** 32 - 1; a.reverse(); return 1", fails(ML)),
    ("sparse-sort", "const a = []; a.length = 2 ** 32 - 1; a.sort((x, y) => x - y); return 1", fails(ML)),
    ("sparse-toSorted", "const a = []; a.length = 2 ** 32 - 1; return a.toSorted().length", fails(ML)),
    ("sparse-shift", "const a = []; a.length = 2 ** 32 - 1; a.shift(); return 1", fails(ML)),
    ("sparse-splice", "const a = []; a.length = 2 ** 32 - 1; a.splice(0, 1); return 1", fails(ML)),
    ("sparse-with", "const a = []; a.length = 2 ** 32 - 1; return a.with(0, 1).length", fails(ML)),
    ("sparse-toString", "const a = []; a.length = 2 ** 32 - 1; return String(a)", fails(ML)),
    ("nested-join", SPARSE + "return Array(1000).fill(s).join(',').length", fails(TO, ML)),
    ("flat-nested-sparse", "const a = []; a.length = 2 ** 32 - 1; return [a, a, a].flat().length", fails(TO)),
    ("flatMap-sparse", "const a = []; a.length = 2 ** 32 - 1; return a.flatMap((x) => x).length", fails(TO)),
    ("set-from-sparse", "const a = []; a.length = 2 ** 32 - 1; return new Set(a).size", fails(TO)),
    ("set-from-array-like", "return new Set(Array.prototype.values.call({ length: 2 ** 32 - 1 })).size", fails(TO)),
    ("array-from-array-like", "return Array.from({ length: 2 ** 32 - 1 }).length", fails(ML)),
    ("array-from-length-flips", FLIP + "return Array.from({ length: len }).length", returns(1)),
    ("sparse-indexOf-polls", "const a = []; a.length = 2 ** 32 - 1; return a.indexOf(1)", fails(TO)),
    ("sort-default-large", "return Array.from({ length: 100000 }, (_, i) => 'k' + i).sort().length", fails(ML)),
    ("typed-join", "return new Uint8Array(600000).join('').length", fails(ML)),
    ("typed-set-array-like", "new Uint8Array(8e6).set({ length: 8e6 }); return 1", fails(ML)),
    ("typed-set-length-flips", FLIP + "new Uint8Array(8).set({ length: len }); return 1", returns(1)),
    (
        "string-search-quadratic",
        "const s = 'a'.repeat(4e6); return s.indexOf('a'.repeat(2e6) + 'b')",
        fails(TO),
    ),
    ("string-includes-quadratic", "const s = 'a'.repeat(4e6); return s.includes('a'.repeat(2e6) + 'b')", fails(TO)),
    (
        "string-lastIndexOf-quadratic",
        "const s = 'a'.repeat(4e6); return s.lastIndexOf('a'.repeat(2e6) + 'b')",
        fails(TO),
    ),
    ("string-split-quadratic", "const s = 'a'.repeat(4e6); return s.split('a'.repeat(2e6) + 'b').length", fails(TO)),
    (
        "string-replace-quadratic",
        "const s = 'a'.repeat(4e6); return s.replace('a'.repeat(2e6) + 'b', '').length",
        fails(TO),
    ),
    (
        "string-replaceAll-quadratic",
        "const s = 'a'.repeat(4e6); return s.replaceAll('a'.repeat(2e6) + 'b', '').length",
        fails(TO),
    ),
    (
        "string-split-object-separator",
        "const s = 'a'.repeat(4e6); const sep = { toString: () => 'a'.repeat(2e6) + 'b' }; return s.split(sep).length",
        fails(TO),
    ),
]


@pytest.mark.parametrize(("body", "expect"), [c[1:] for c in ATTACKS], ids=[c[0] for c in ATTACKS])
async def test_native_loop(raw_adapter: Any, body: str, expect: Expect) -> None:
    limits = engine_limits(timeout_ms=TIMEOUT_MS, memory_limit=128 * 1024 * 1024)
    outcome, _, wall = await run_on_adapter(raw_adapter, instrumented(body), limits)
    assert wall < BOUND_S, f"the run took {wall:.2f} s ({outcome.code}: {outcome.message[:100]})"
    await adapter_attack(raw_adapter, instrumented(body), expect, limits)


def _search_cases() -> tuple[str, list[Any]]:
    """Searches that take the windowed path (length x pattern over the cap), with Python's answers."""
    s = "ab" * 3_000_000 + "needle" + "ab" * 10 + "b" + "ab" * 3 + "needle"
    q = "b" + "ab" * 3 + "needle"
    js = (
        "const s = 'ab'.repeat(3e6) + 'needle' + 'ab'.repeat(10) + 'b' + 'ab'.repeat(3) + 'needle'; "
        "const q = 'b' + 'ab'.repeat(3) + 'needle'; "
        "return [s.indexOf('needle'), s.indexOf(q), s.lastIndexOf(q), s.includes(q), s.indexOf('xneedle'), "
        "s.split(q).length, s.replace(q, '!').length, s.replaceAll('ab', '').length, s.lastIndexOf('ab'), "
        "s.indexOf(q, 6000010), s.lastIndexOf('needle', 10), s.lastIndexOf('needle', 6000003), "
        "s.replace('needle', '[$&|$$]').slice(5999998, 6000014), s.indexOf('needle', -5), "
        "s.includes('needle', 6000001)]"
    )
    expected = [
        s.find("needle"),
        s.find(q),
        s.rfind(q),
        q in s,
        s.find("xneedle"),
        len(s.split(q)),
        len(s.replace(q, "!", 1)),
        len(s.replace("ab", "")),
        s.rfind("ab"),
        s.find(q, 6000010),
        s.rfind("needle", 0, 10 + 6),
        s.rfind("needle", 0, 6000003 + 6),
        s.replace("needle", "[needle|$]", 1)[5999998:6000014],
        s.find("needle"),
        s.find("needle", 6000001) >= 0,
    ]
    return js, expected


async def test_windowed_searches_answer_like_the_native(raw_adapter: Any) -> None:
    js, expected = _search_cases()
    limits = engine_limits(timeout_ms=15000, memory_limit=128 * 1024 * 1024)  # correctness, not speed
    await adapter_attack(raw_adapter, wrap(js), returns(expected), limits)


async def test_concat_attack_through_the_guard(make_enclave: MakeEnclave) -> None:
    code = "const s = []; s.length = 500000; return [].concat(...Array(1000).fill(s)).length"
    with make_enclave(timeout=2000) as enclave:
        result = await enclave.run(code)
    assert result.error is not None and result.error.code == ML, result.error


def _os_threads() -> set[int]:
    return {int(task) for task in os.listdir("/proc/self/task")}


def _engine_threads() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name.startswith("enclave-engine")]


async def test_twenty_attacks_leave_no_busy_thread() -> None:
    """20 runs of natives that used to ignore the interrupt: each ends by its deadline, every engine
    thread ends after dispose() (a thread stuck in a native loop would not), and the host's threads and
    fds return to their baseline."""
    process = psutil.Process()
    before = set(threading.enumerate())
    baseline_tasks, baseline_fds = _os_threads(), process.num_fds()
    adapter = InProcessAdapter()
    names = (
        *("concat-spread-sparse", "reverse-generic-length-flips", "sparse-join", "string-search-quadratic"),
        *("set-from-sparse", "flat-nested-sparse", "string-split-quadratic"),
    )
    bodies = [c[1] for c in ATTACKS if c[0] in names]
    limits = engine_limits(timeout_ms=300, memory_limit=128 * 1024 * 1024)
    for i in range(20):
        outcome, _, wall = await run_on_adapter(adapter, instrumented(bodies[i % len(bodies)]), limits)
        assert not outcome.ok and wall < 0.3 + 0.5, (outcome.code, wall)
    # A thread given up on at its deadline (a loaded machine may delay one past the grace) must still end:
    # every engine thread, retired or idle, is joined below, and one stuck in a native loop never would be.
    adapter.dispose()
    ended: set[int] = set()
    for thread in _engine_threads():
        if thread not in before:
            thread.join(timeout=10)
            assert not thread.is_alive(), f"{thread.name} still runs after dispose()"
            ended.add(thread.native_id or 0)
    # Other components of the test process may start a thread meanwhile (an executor, a watchdog), each
    # holding at most a pipe; an engine thread that finished may still be leaving the kernel's list.
    # Any other OS thread (one stuck in a native loop) fails here.
    others = {t.native_id or 0 for t in set(threading.enumerate()) - before if t.is_alive()}
    unknown = _os_threads() - baseline_tasks - ended - others
    assert unknown == set(), f"threads left running: {unknown}"
    assert process.num_fds() <= baseline_fds + 2 * len(others)
    # The host is not slowed down: a trivial run still works at once.
    fresh = InProcessAdapter()
    try:
        outcome, _, _ = await run_on_adapter(fresh, wrap("return 1"))
        assert outcome.ok
    finally:
        fresh.dispose()
