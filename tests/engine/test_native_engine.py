"""The contract of our QuickJS-NG binding (`enclave_vm.engine._engine`), tested through the session:

- guest code that hooks a conversion (a getter on an error prototype, a looping `toJSON`, a hostile
  `valueOf`) ends by the deadline while the rest of the process keeps running;
- out of memory is decided by the allocator, the peak of a run is its true peak;
- the prelude loaded as bytecode behaves like the prelude evaluated from source;
- an engine refuses every thread but its own; rope strings read back whole;
- validate() and run() agree about what QuickJS refuses to compile.
"""

from __future__ import annotations

import json
import threading
import time

import pytest

from adapter_kinds import MakeEnclave
from enclave_vm import Enclave, ErrorCode
from enclave_vm.bridge.codec import ValueLimits
from enclave_vm.bridge.dispatch import ToolDispatcher
from enclave_vm.bridge.driver import drive
from enclave_vm.bridge.protocol import EngineLimits, RunOutcome, Stalled, StartRequest
from enclave_vm.engine import _engine
from enclave_vm.engine.prelude_protocol import PRELUDE
from enclave_vm.engine.session import (
    DEFAULT_STACK_BYTES,
    QuickJsSession,
    WarmContext,
    engine_thread_stack_bytes,
    prelude_bytecode,
)
from enclave_vm.guard.instrument import WRAP_PREFIX, WRAP_SUFFIX
from enclave_vm.outcome import RunEnded
from engine_fixtures import engine_limits

#: The deadline of the hostile runs; the promise under test is "ends by the deadline".
HOSTILE_TIMEOUT_MS = 1000
#: How late after its deadline a run may end: 5x the in-process adapter's own grace.
LATE_BOUND_S = 1.0
#: Trivial runs the main thread completes while a hostile run is inside the engine.
RESPONSIVE_RUNS = 20


def echo_tool(name: str, args: dict[str, object], context: object = None) -> object:
    return args


def request_for(body: str, limits: EngineLimits | None = None) -> StartRequest:
    """`body` wrapped like the guard's output but without instrumentation: nothing of the prelude's
    hooks runs in its loops, only the binding can stop them."""
    limits = limits or engine_limits()
    return StartRequest(
        program=WRAP_PREFIX + body + WRAP_SUFFIX,
        globals_json="{}",
        limits=limits,
        deadline=time.monotonic() + limits.timeout_ms / 1000.0,
    )


def run_session(request: StartRequest, warm: WarmContext | None = None) -> RunOutcome:
    limits = request.limits
    session = QuickJsSession(request, warm)
    try:
        tools = ToolDispatcher(echo_tool, None, None, ValueLimits(limits.max_value_bytes, limits.max_value_depth))
        return drive(session, request, tools)
    finally:
        session.close()


def run_body(body: str, **limits: int) -> RunOutcome:
    return run_session(request_for(body, engine_limits(**limits)))


# ---- hostile conversions: each ends by the deadline, the process stays responsive ----

SPIN = "for (;;) {}"
HOSTILE = [
    (
        "getter-on-the-interrupt-error-prototype",
        # The interrupt is an InternalError: anything that turned it into text would run these. The
        # prelude may have locked some of them; whatever it left open is planted.
        "const P = typeof InternalError === 'function' ? InternalError.prototype : Error.prototype;"
        "const spin = { get() { for (;;) {} }, configurable: true };"
        "for (const k of ['message', 'name', 'stack', 'toString']) { try { Object.defineProperty(P, k, spin); }"
        " catch (e) {} }" + SPIN,
    ),
    (
        "getter-on-other-error-prototypes",
        "const spin = { get() { for (;;) {} }, configurable: true };"
        "for (const C of [RangeError, TypeError, SyntaxError]) { for (const k of ['message', 'name']) {"
        " try { Object.defineProperty(C.prototype, k, spin); } catch (e) {} } }" + SPIN,
    ),
    ("stack-getter-on-a-thrown-error", "class E extends Error { get stack() { for (;;) {} } }; throw new E('x');"),
    ("toJSON-loops-in-the-result", "return { toJSON() { for (;;) {} } };"),
    ("toJSON-loops-in-console", "console.log({ toJSON() { for (;;) {} } }); return 1;"),
    ("toJSON-loops-in-tool-arguments", "return await callTool('echo', { a: { toJSON() { for (;;) {} } } });"),
    ("toJSON-loops-in-a-thrown-object", "throw { toJSON() { for (;;) {} } };"),
    (
        "valueOf-loops-during-conversion",
        "const n = new Number(1); const spin = { value: () => { for (;;) {} } };"
        "Object.defineProperty(n, 'valueOf', spin); return { n };",
    ),
    (
        "toString-loops-during-conversion",
        "const s = new String('x'); Object.defineProperty(s, 'toString', { value: () => { for (;;) {} } });"
        "console.log({ s }); return 1;",
    ),
    # A job queue that never empties (each job queues the next and returns nothing: no chain grows).
    ("microtask-loop", "const go = () => { Promise.resolve().then(go); }; go(); await new Promise(() => {});"),
]


@pytest.mark.parametrize("body", [h[1] for h in HOSTILE], ids=[h[0] for h in HOSTILE])
def test_hostile_conversion_ends_by_the_deadline(body: str) -> None:
    request = request_for(body, engine_limits(timeout_ms=HOSTILE_TIMEOUT_MS))
    started = threading.Event()
    finished = threading.Event()
    outcome: list[RunOutcome] = []

    def hostile() -> None:
        started.set()
        outcome.append(run_session(request))
        finished.set()

    thread = threading.Thread(target=hostile)
    thread.start()
    started.wait()
    # While the hostile run holds its engine, this thread runs whole runs of its own: only possible if
    # the binding released the GIL around the guest's code.
    for _ in range(RESPONSIVE_RUNS):
        assert run_body("return 1 + 2").value_json == "3"
    assert not finished.is_set(), "the hostile run ended before the others: it did not run past them"
    thread.join()
    ended = time.monotonic()
    assert outcome[0].code == ErrorCode.TIMEOUT, outcome[0]
    assert ended - request.deadline < LATE_BOUND_S


async def test_looping_to_json_ends_by_the_deadline_on_every_adapter(make_enclave: MakeEnclave) -> None:
    with make_enclave(timeout=300, max_iterations=10**12) as enclave:
        result = await enclave.run("return { toJSON: () => { for (let i = 0; i < 1e12; i++) {} } }")
        assert result.error is not None and result.error.code is ErrorCode.TIMEOUT
        assert (await enclave.run("return 1")).value == 1


def test_an_endless_loop_keeps_what_it_printed() -> None:
    outcome = run_body("console.log('before'); for (;;) {}", timeout_ms=200)
    assert outcome.code == ErrorCode.TIMEOUT
    assert outcome.stdout == ["before"]


def test_a_long_run_of_jobs_comes_back_with_its_output_so_far() -> None:
    body = "console.log('before'); const go = () => { Promise.resolve().then(go); }; go(); await new Promise(() => {});"
    session = QuickJsSession(request_for(body, engine_limits(timeout_ms=HOSTILE_TIMEOUT_MS)))
    try:
        step = session.start()  # returns after a slice of jobs, long before the deadline
        assert isinstance(step, Stalled) and step.jobs_pending and step.stdout == ["before"]
        with pytest.raises(RunEnded) as ended:
            while True:
                step = session.settle([])
                assert isinstance(step, Stalled) and step.jobs_pending and step.stdout == []
    finally:
        session.close()
    assert ended.value.code == ErrorCode.TIMEOUT


# ---- memory ----


def test_a_refused_allocation_ends_the_run_even_when_caught() -> None:
    # Uninstrumented: the prelude's catch hook never sees the error; the allocator's flag decides.
    body = "try { const a = []; for (;;) a.push('x'.repeat(1000) + a.length); } catch (e) {} return 'survived';"
    outcome = run_body(body, memory_limit=8 * 1024 * 1024)
    assert outcome.code == ErrorCode.MEMORY_LIMIT_EXCEEDED


async def test_peak_memory_of_a_script_holding_50_mb(make_enclave: MakeEnclave) -> None:
    code = "const a = []; for (let i = 0; i < 50000; i++) { a.push('x'.repeat(1000) + i); } return a.length;"
    with make_enclave(memory_limit=256 * 1024 * 1024, max_iterations=10**6, timeout=10_000) as enclave:
        result = await enclave.run(code)
    assert result.success, result.error
    assert result.stats.memory_usage is not None and result.stats.memory_usage >= 50_000_000


def test_memory_limit_is_enforced_on_the_whole_heap() -> None:
    outcome = run_body("return 'x'.repeat(20 * 1024 * 1024).length;", memory_limit=8 * 1024 * 1024)
    assert outcome.code == ErrorCode.MEMORY_LIMIT_EXCEEDED


# ---- the prelude as bytecode ----

PROBES = [
    "return [typeof eval, typeof Function, typeof callTool, typeof console.log];",
    "return [Object.isFrozen(Object.prototype), Object.isFrozen(Array.prototype), Object.isFrozen(JSON)];",
    "try { (() => {}).constructor('return 1'); return 'generated'; } catch (e) { return e.message; }",
    "return Object.getOwnPropertyNames(globalThis).sort();",
    "const r = await callTool('echo', { a: [1, 'two', null] }); console.log('got', r); return r;",
    "try { [].join.call({ length: 2 ** 31 }); } catch (e) { return e.name + ': ' + e.message; }",
    "throw new TypeError('boom');",
]


@pytest.mark.parametrize("body", PROBES)
def test_bytecode_prelude_behaves_like_source(body: str) -> None:
    def via(prelude: bytes | str) -> RunOutcome:
        outcome = run_session(request_for(body), WarmContext(prelude))
        outcome.memory_usage = None  # the two load differently: only what the guest sees must agree
        return outcome

    assert via(prelude_bytecode.get()) == via(PRELUDE)


# ---- one thread per engine ----


def test_an_engine_refuses_other_threads() -> None:
    warm = WarmContext()
    errors: list[BaseException] = []

    def intrude() -> None:
        for call in (lambda: warm.engine.memory(), lambda: warm.engine.step(None), lambda: warm.engine.close()):
            try:
                call()
            except RuntimeError as exc:
                errors.append(exc)

    thread = threading.Thread(target=intrude)
    thread.start()
    thread.join()
    assert len(errors) == 3 and all("another thread" in str(e) for e in errors)
    assert run_session(request_for("return 7;"), warm).value_json == "7"  # the owner still can


def test_an_engine_dropped_on_another_thread_is_never_touched() -> None:
    holder: list[WarmContext] = []
    thread = threading.Thread(target=lambda: holder.append(WarmContext()))
    thread.start()
    thread.join()
    before = _engine.leaked()
    holder.clear()  # the last reference goes on this thread, not the owner's
    assert _engine.leaked() == before + 1


def test_a_compiler_refuses_other_threads() -> None:
    compiler = _engine.Compiler(1 << 20)
    errors: list[BaseException] = []

    def intrude() -> None:
        try:
            compiler.compile("1", DEFAULT_STACK_BYTES)
        except RuntimeError as exc:
            errors.append(exc)

    thread = threading.Thread(target=intrude)
    thread.start()
    thread.join()
    assert len(errors) == 1
    assert compiler.compile("1", DEFAULT_STACK_BYTES) is None


# ---- values crossing the boundary ----


def test_rope_strings_read_back_whole() -> None:
    body = (
        "let s = ''; for (let i = 0; i < 2000; i++) { s += 'chunk-' + i + ';'; }"
        "console.log(s); const r = await callTool('echo', { s }); return [s.length, r.s === s, s];"
    )
    outcome = run_body(body, max_value_bytes=1 << 22)
    expected = "".join(f"chunk-{i};" for i in range(2000))
    assert outcome.ok, outcome
    assert json.loads(outcome.value_json) == [len(expected), True, expected]
    assert outcome.stdout == [expected]


def test_lone_surrogates_cross_both_ways() -> None:
    outcome = run_body("const r = await callTool('echo', { s: '\\ud800x' }); return r.s;")
    assert outcome.ok and json.loads(outcome.value_json) == "\ud800x"


# ---- stack ----


def test_engine_threads_are_sized_to_the_stack_limit() -> None:
    assert engine_thread_stack_bytes() > DEFAULT_STACK_BYTES
    assert engine_thread_stack_bytes(8 << 20) == (8 << 20) + engine_thread_stack_bytes() - DEFAULT_STACK_BYTES


def test_a_stack_limit_beyond_the_thread_is_clamped_not_a_crash() -> None:
    limits = EngineLimits(**{**engine_limits().to_dict(), "max_stack_bytes": 256 << 20})
    body = "const f = (n) => f(n + 1) + 1; try { f(0); } catch (e) { return e.message; }"
    outcome: list[RunOutcome] = []
    previous = threading.stack_size(1 << 20)  # a thread far smaller than the stack the run asks for
    try:
        thread = threading.Thread(target=lambda: outcome.append(run_session(request_for(body, limits))))
        thread.start()
    finally:
        threading.stack_size(previous)
    thread.join()
    assert outcome[0].ok and json.loads(outcome[0].value_json) == "Maximum call stack size exceeded"


def test_a_program_nested_too_deep_to_compile_is_a_clean_error() -> None:
    outcome = run_body("return " + "(" * 200_000 + "1" + ")" * 200_000 + ";")
    assert outcome.code == ErrorCode.RUNTIME_ERROR and outcome.name == "RangeError"


# ---- validate() and run() agree ----

REFUSED_BY_QUICKJS = [
    ("await-in-a-non-async-arrow", "const f = () => { await 1; };\nreturn 1;", 1),
    ("duplicate-let", "let a = 1;\nlet a = 2;\nreturn a;", 2),
    ("top-level-yield", "const x = 1;\nyield x;", 2),
]


@pytest.mark.parametrize(("code", "line"), [c[1:] for c in REFUSED_BY_QUICKJS], ids=[c[0] for c in REFUSED_BY_QUICKJS])
async def test_validate_refuses_what_the_engine_refuses(make_enclave: MakeEnclave, code: str, line: int) -> None:
    with make_enclave() as enclave:
        verdict = await enclave.validate(code)
        result = await enclave.run(code)
    assert not verdict.valid
    issue = next(i for i in verdict.issues if i.rule == "syntax-error")
    assert issue.location is not None and issue.location["line"] == line and issue.location["column"] >= 1
    assert result.error is not None and result.error.code is ErrorCode.VALIDATION_ERROR


def test_validate_reports_the_users_column() -> None:
    with Enclave() as enclave:
        verdict = enclave.validate_sync("const é = 1; let b = 1; let b = 2;\nreturn b;")
    issue = next(i for i in verdict.issues if i.rule == "syntax-error")
    # QuickJS points at the token after the second `b`: column 31 in characters (32 in UTF-8 bytes).
    assert issue.location == {"line": 1, "column": 31}


def test_validate_accepts_what_compiles() -> None:
    with Enclave() as enclave:
        verdict = enclave.validate_sync("const f = async () => { await 1; };\nreturn await f();")
    assert verdict.valid, verdict.issues
