"""The facade: `Enclave` validates options, gates and validates code, hands plain values to an adapter
and turns what comes back into the public result models."""

from __future__ import annotations

import asyncio
import dataclasses
import hashlib
import inspect
import json
import re
import threading
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

from . import telemetry
from .adapters.base import EnclaveAdapter
from .adapters.inprocess import InProcessAdapter
from .bridge.codec import CodecError, ValueLimits, decode, encode
from .bridge.dispatch import ToolDispatcher, ToolHandler
from .bridge.protocol import EngineLimits, RunOutcome, StartRequest, ToolResult
from .bridge.tool_pool import ToolThreadPool
from .config import (
    DEFAULT_MAX_STATE_BYTES,
    DEFAULT_MEMORY_LIMIT,
    LEVEL_DEFAULTS,
    MIN_MEMORY_LIMIT,
    DurableOptions,
    ScoringGateOptions,
    SecurityLevel,
    SidecarOptions,
    check_int,
    check_json_data,
    coerce_options,
    keyword_options,
    parse_level,
)
from .durable.journal import JournalError
from .durable.runs import DurableRuns, Replay
from .durable.session import Session
from .durable.state_store import StateStore
from .engine.syntax import compile_issue
from .guard import LANGUAGES, Language, policy_for
from .guard.cache import PreparedCache
from .guard.instrument import PositionMap
from .guard.policy import RESERVED_PREFIXES
from .guard.tool_names import KnowsToolNames
from .outcome import RunEnded
from .outcome import now as run_clock
from .results import (
    ErrorCode,
    ExecutionError,
    ExecutionResult,
    ExecutionStats,
    ValidationIssue,
    ValidationResult,
    make_error,
)
from .sidecar import Sidecar
from .streaming import EventSink, RunStream

if TYPE_CHECKING:
    from .tools.code_tool import CodeToolResult

_IDENTIFIER = re.compile(r"^[A-Za-z_$][A-Za-z0-9_$]*$")
#: Names a custom global may not take: the runtime's own and the JavaScript builtins scripts rely on.
_RESERVED_GLOBALS = frozenset(
    {
        "callTool", "console", "Math", "JSON", "Array", "Object", "String", "Number", "Boolean", "Date",
        "undefined", "NaN", "Infinity", "globalThis", "Promise", "Error", "Symbol", "Reflect", "Proxy",
        "eval", "Function", "parseInt", "parseFloat", "isNaN", "isFinite", "encodeURI",
        "encodeURIComponent", "decodeURI", "decodeURIComponent", "RegExp", "Map", "Set", "WeakMap",
        "WeakSet", "arguments", "this", "null", "true", "false", "state", "tools",
    }
)  # fmt: skip
_STACK_FRAME = re.compile(r"<input>:(\d+):(\d+)")
#: How telemetry and `repr` name the adapters of this package (the CLI's `--adapter` names).
_ADAPTER_NAMES = {"InProcessAdapter": "inprocess", "WorkerPoolAdapter": "pool", "DoubleVmAdapter": "double-vm"}
_PRELUDE_FRAMES = re.compile(
    r"^\s*at (callTool|log|iterHook|tickHook|catchHook|throwHook|trip|terminal|checkDeadline|guarded|"
    r"onDone|onFail|errorRecord|rejected|toolError|<eval>)\b"
)


_DEFAULT_DURABLE = DurableOptions()
_NO_STATE: Any = object()
"""`run()` without `state=`: the script has no `state` global and `result.state` is None."""


@dataclass(frozen=True)
class _RunPlan:
    """One execution of a script and what it runs with (a run, a stream, or a resume)."""

    code: str
    timeout_ms: int
    max_tool_calls: int
    context: dict[str, Any] | None
    state_json: str | None
    language: Language = "javascript"
    replay: Replay | None = None
    events: EventSink | None = None

    def given_state(self) -> Any:
        return None if self.state_json is None else json.loads(self.state_json)


class Enclave:
    """A sandbox for running AgentScript (untrusted JavaScript) with tools provided by the host."""

    @keyword_options
    def __init__(
        self,
        *,
        security_level: SecurityLevel | str = SecurityLevel.STANDARD,
        timeout: int | None = None,
        max_tool_calls: int | None = None,
        max_iterations: int | None = None,
        memory_limit: int = DEFAULT_MEMORY_LIMIT,
        tool_handler: ToolHandler | None = None,
        globals: Mapping[str, Any] | None = None,
        scoring_gate: ScoringGateOptions | Mapping[str, Any] | None = None,
        adapter: EnclaveAdapter | None = None,
        verbose_errors: bool = False,
        sidecar: SidecarOptions | Mapping[str, Any] | None = None,
        durable: DurableOptions | Mapping[str, Any] | Literal[False] | None = _DEFAULT_DURABLE,
        max_state_bytes: int = DEFAULT_MAX_STATE_BYTES,
        language: Language = "javascript",
        tool_names: Sequence[str] | None = None,
        max_concurrent_tool_calls: int = 8,
    ) -> None:
        """Every option is keyword-only; limits left at None take the security level's default.

        Args:
            security_level: `SecurityLevel` or its name (any case): the language rules and level defaults.
            timeout: Wall-clock milliseconds for a whole run, tool calls included.
            max_tool_calls: Tool calls per run.
            max_iterations: Loop iterations per run.
            memory_limit: Bytes; hard cap on the sandbox heap.
            tool_handler: `handler(name, args, context)`, sync or async (a `Toolset` is one).
            globals: JSON data the script sees as read-only globals.
            scoring_gate: Score code before it runs and block risky code.
            adapter: Where the engine runs; None is the in-process engine.
            verbose_errors: Add the host-side traceback of a failed tool to the error's data.
            sidecar: Keep large tool results host-side and give the script a reference.
            durable: Where paused runs keep their journals (`Suspend`, `resume()`); None or False disables.
            max_state_bytes: Cap on the JSON of a run's `state`.
            language: "javascript" or "typescript" (types are removed before validation).
            tool_names: The host's tool names, when the handler does not say them (a `Toolset` does): the
                script may then call `tools.a.b(args)`, and a literal name nobody has is refused.
            max_concurrent_tool_calls: Tool calls of one batch (`Promise.all`) running at once; also the size
                of the Enclave's own thread pool for sync tools.
        """
        self.security_level: SecurityLevel = parse_level(security_level)
        defaults = LEVEL_DEFAULTS[self.security_level]
        self._defaults = defaults
        self.timeout = check_int("timeout", defaults.timeout if timeout is None else timeout, minimum=1)
        self.max_tool_calls = check_int(
            "max_tool_calls", defaults.max_tool_calls if max_tool_calls is None else max_tool_calls
        )
        self.max_iterations = check_int(
            "max_iterations", defaults.max_iterations if max_iterations is None else max_iterations
        )
        self.memory_limit = check_int("memory_limit", memory_limit, minimum=MIN_MEMORY_LIMIT)
        handler = tool_handler
        if handler is not None and not callable(handler):
            raise TypeError(f"tool_handler must be callable; got {type(handler).__name__}")
        self.tool_handler: ToolHandler | None = handler
        self.language: Language = _check_language(language)
        self.tool_names: tuple[str, ...] | None = _tool_names(tool_names, handler)
        self.max_concurrent_tool_calls = check_int("max_concurrent_tool_calls", max_concurrent_tool_calls, minimum=1)
        # Sync tools run here, not on the driving thread nor the default executor: a hung one holds one
        # thread, and (daemon threads) never keeps the host process from exiting.
        self._tool_pool = ToolThreadPool(self.max_concurrent_tool_calls, thread_name_prefix="enclave-tool")
        self.verbose_errors = verbose_errors
        if not isinstance(self.verbose_errors, bool):
            raise TypeError("verbose_errors must be a bool")

        globals_ = globals or {}
        if not isinstance(globals_, Mapping):
            raise TypeError(f"globals must be a mapping of names to JSON data; got {type(globals_).__name__}")
        for name in globals_:
            if not isinstance(name, str) or not _IDENTIFIER.match(name):
                raise ValueError(f"globals: {name!r} is not a valid JavaScript identifier")
            if name in _RESERVED_GLOBALS or name.startswith(RESERVED_PREFIXES):
                raise ValueError(f"globals: {name!r} is reserved and cannot be redefined")
        check_json_data("globals", globals_)
        # Serialised once: a snapshot, so later changes to the host's dict never reach a run.
        self._globals_json = json.dumps(dict(globals_), ensure_ascii=False, allow_nan=False)
        self.globals: dict[str, Any] = json.loads(self._globals_json)

        gate = scoring_gate
        self.scoring_gate: ScoringGateOptions | None = (
            None if gate is None else coerce_options(ScoringGateOptions, gate, "scoring_gate")
        )
        self.sidecar: SidecarOptions | None = (
            None if sidecar is None else coerce_options(SidecarOptions, sidecar, "sidecar")
        )
        self._sidecar = Sidecar.open(self.sidecar, self.security_level)
        if adapter is not None and not isinstance(adapter, EnclaveAdapter):
            raise TypeError("adapter must implement EnclaveAdapter (execute() and dispose())")
        self._adapter: EnclaveAdapter = adapter if adapter is not None else InProcessAdapter()
        self._adapter_name = _ADAPTER_NAMES.get(type(self._adapter).__name__, type(self._adapter).__name__)
        self._policy = policy_for(self.security_level, self.globals, self.tool_names)
        self._prepared = PreparedCache(self._policy)
        self._gate: Any = None
        if self.scoring_gate is not None:
            from .scoring import ScoringGate

            self._gate = ScoringGate(self.scoring_gate)
        self.max_state_bytes = check_int("max_state_bytes", max_state_bytes, minimum=2)
        self.durable: DurableOptions | None = (
            None if durable is None or durable is False else coerce_options(DurableOptions, durable, "durable")
        )
        self._durable = None if self.durable is None else DurableRuns(self.durable, self._durable_fingerprint())
        self._disposed = False
        self._sync_loops: dict[int, asyncio.AbstractEventLoop] = {}
        self._sync_lock = threading.Lock()

    # ---- running ----
    async def run(
        self,
        code: str,
        *,
        timeout: int | None = None,
        context: dict[str, Any] | None = None,
        max_tool_calls: int | None = None,
        state: Any = _NO_STATE,
        language: Language | None = None,
    ) -> ExecutionResult:
        """Run `code`; every failure of the script is a result, never an exception (`result.unwrap()` or
        `result.raise_for_error()` turn one into an `EnclaveError`). With `state`, the
        script sees a mutable JSON copy as the global `state` and `result.state` is its value after a
        successful run (the state as given after a failed one). `language="typescript"` takes TypeScript."""
        return await self._execute(self._plan(code, timeout, context, max_tool_calls, state, language))

    def stream(
        self,
        code: str,
        *,
        timeout: int | None = None,
        context: dict[str, Any] | None = None,
        max_tool_calls: int | None = None,
        state: Any = _NO_STATE,
        language: Language | None = None,
    ) -> RunStream:
        """Run `code` and yield its events as they happen: console lines, tool calls and results, then the
        `ResultEvent`, last and exactly once. Leaving the stream early cancels the run."""
        plan = self._plan(code, timeout, context, max_tool_calls, state, language)
        return RunStream(lambda sink: self._execute(dataclasses.replace(plan, events=sink)))

    def session(self, state: Any = None, *, store: StateStore | None = None, key: str | None = None) -> Session:
        """A sequence of runs sharing one `state`: each run starts from the state the last one left. With a
        `store` and a `key`, the state is loaded before and saved after each run (optimistic concurrency)."""
        return Session(self, state, store=store, key=key)

    async def resume(
        self, token: str, value: Any = None, *, error: str | None = None, context: dict[str, Any] | None = None
    ) -> ExecutionResult:
        """Go on with a paused run: the script runs again, every tool call made before the pause is answered
        from its journal, the paused call gets `value` (or fails with `error`), then the run goes on and may
        pause again. An unknown, used or expired token raises LookupError."""
        plan = await self._resume_plan(token, value, error, context)
        return plan if isinstance(plan, ExecutionResult) else await self._execute(plan)

    async def resume_stream(
        self, token: str, value: Any = None, *, error: str | None = None, context: dict[str, Any] | None = None
    ) -> RunStream:
        """`resume()` as a stream of events, like `stream()`. The token is taken before this returns: an
        unknown, used or expired token raises LookupError here, before any event."""
        plan = await self._resume_plan(token, value, error, context)
        if isinstance(plan, ExecutionResult):
            failed = plan
            return RunStream(lambda sink: _finished(failed))
        return RunStream(lambda sink: self._execute(dataclasses.replace(plan, events=sink)))

    async def _resume_plan(
        self, token: str, value: Any, error: str | None, context: dict[str, Any] | None
    ) -> _RunPlan | ExecutionResult:
        """Check a resume's arguments and take its journal: the plan of the resumed run, or the failed result
        when the journal cannot be used."""
        if self._durable is None:
            raise RuntimeError("This Enclave has durable runs disabled (durable=False)")
        if error is not None and not isinstance(error, str):
            raise TypeError(f"error must be a str or None; got {type(error).__name__}")
        if context is not None and not isinstance(context, Mapping):
            raise TypeError(f"context must be a dict; got {type(context).__name__}")
        if error is None:
            check_json_data("value", value)
            try:
                answer = ToolResult(0, True, encode(value, self._value_limits(), "the resume value"))
            except CodecError as exc:
                raise ValueError(f"value: {exc}") from None
        else:
            answer = ToolResult(0, False, error)
        if self._disposed:
            raise RuntimeError("This Enclave has been disposed")
        started = time.perf_counter()
        try:
            journal = await self._durable.take(token)
        except JournalError as exc:
            message = f"The paused run cannot be resumed: {exc}"
            return self._failed(make_error(ErrorCode.RUNTIME_ERROR, message, name="JournalError"), started)
        return _RunPlan(
            code=journal.code,
            timeout_ms=journal.timeout,
            max_tool_calls=journal.max_tool_calls,
            context=dict(context) if context is not None else None,
            state_json=journal.state_json,
            replay=Replay(journal, answer),
        )

    def resume_sync(
        self, token: str, value: Any = None, *, error: str | None = None, context: dict[str, Any] | None = None
    ) -> ExecutionResult:
        """`resume()` for code without an event loop."""
        return self._sync_loop().run_until_complete(self.resume(token, value, error=error, context=context))

    def _plan(
        self,
        code: str,
        timeout: int | None,
        context: dict[str, Any] | None,
        max_tool_calls: int | None,
        state: Any,
        language: Language | None = None,
    ) -> _RunPlan:
        """Check a run's arguments (bad input raises here, before anything runs)."""
        if self._disposed:
            raise RuntimeError("This Enclave has been disposed")
        if not isinstance(code, str):
            raise TypeError(f"code must be a str; got {type(code).__name__}")
        timeout_ms = self.timeout if timeout is None else check_int("timeout", timeout, minimum=1)
        tool_limit = self.max_tool_calls if max_tool_calls is None else check_int("max_tool_calls", max_tool_calls)
        if context is not None and not isinstance(context, Mapping):
            raise TypeError(f"context must be a dict; got {type(context).__name__}")
        state_json = None
        if state is not _NO_STATE:
            check_json_data("state", state)
            state_json = json.dumps(state, ensure_ascii=False, allow_nan=False)
            size = len(state_json.encode("utf-8"))
            if size > self.max_state_bytes:
                raise ValueError(f"state is {size} bytes of JSON, over max_state_bytes ({self.max_state_bytes})")
        return _RunPlan(
            code=code,
            timeout_ms=timeout_ms,
            max_tool_calls=tool_limit,
            context=dict(context) if context is not None else None,
            state_json=state_json,
            language=self.language if language is None else _check_language(language),
        )

    def _value_limits(self) -> ValueLimits:
        return ValueLimits(max_bytes=self._defaults.max_value_bytes, max_depth=self._defaults.max_value_depth)

    async def _execute(self, plan: _RunPlan) -> ExecutionResult:
        """One execution of a script (a run, a stream, a resume), observed: a span when tracing, a log record."""
        level, adapter = self.security_level.value, self._adapter_name
        if telemetry.tracing():
            with telemetry.run_span(plan.code, level, adapter) as span:
                result = await self._run_plan(plan)
                telemetry.end_run(span, result)
        else:
            result = await self._run_plan(plan)
        telemetry.log_run(result, level, adapter)
        return result

    async def _run_plan(self, plan: _RunPlan) -> ExecutionResult:
        """One execution of a script: guard, gate, engine, result."""
        if self._disposed:
            raise RuntimeError("This Enclave has been disposed")
        code = plan.code
        started = time.perf_counter()
        deadline = run_clock() + plan.timeout_ms / 1000.0
        warnings: list[str] = []
        scoring = None

        with telemetry.child_span("enclave.validate"):
            prepared = self._prepared.prepare(code, plan.language)
        if prepared.instrumented is None:
            return self._failed(_validation_error(prepared.issues), started, state=plan.given_state())

        if self._gate is not None:
            with telemetry.child_span("enclave.score") as score_span:
                decision = await self._gate.evaluate(
                    prepared.javascript or code, parsed=prepared.parsed, timeout=deadline - run_clock()
                )
                telemetry.set_score(score_span, decision.result)
            scoring = decision.result
            if decision.blocked:
                data: dict[str, Any] = {}
                if decision.result is not None:
                    data = {"score": decision.result.score, "signals": list(decision.result.signals)}
                error = make_error(ErrorCode.SCORING_BLOCKED, decision.message or "Blocked by scoring gate", data=data)
                return self._failed(error, started, scoring=scoring, state=plan.given_state())
            if decision.warned and decision.message:
                warnings.append(decision.message)

        limits = EngineLimits(
            timeout_ms=plan.timeout_ms,
            max_tool_calls=plan.max_tool_calls,
            max_iterations=self.max_iterations,
            memory_limit=self.memory_limit,
            console_bytes=self._defaults.console_bytes,
            console_calls=self._defaults.console_calls,
            max_value_bytes=self._defaults.max_value_bytes,
            max_value_depth=self._defaults.max_value_depth,
            max_state_bytes=self.max_state_bytes,
        )
        request = StartRequest(
            program=prepared.instrumented.program,
            globals_json=self._globals_json,
            limits=limits,
            deadline=deadline,
            state_json=plan.state_json,
            record_entropy=self._durable is not None,
            entropy=plan.replay.journal.entropy if plan.replay is not None else (),
            tool_names=self.tool_names,
        )
        tools = ToolDispatcher(
            handler=telemetry.traced_handler(self.tool_handler),
            context=plan.context,
            loop=asyncio.get_running_loop(),
            limits=self._value_limits(),
            sidecar=self._sidecar.begin_run(deadline) if self._sidecar is not None else None,
            call_log=self._durable.call_log(plan.replay) if self._durable is not None else None,
            events=plan.events,
            executor=self._tool_pool,
            max_concurrent=self.max_concurrent_tool_calls,
        )
        try:
            outcome = await self._adapter.execute(request, tools)
        except asyncio.CancelledError:
            tools.cancel()  # the engine may still be running: it must not reach another tool
            raise
        finally:  # whatever ended the run, its tools end with it
            tools.end(RunEnded(ErrorCode.RUNTIME_ERROR, "The run has ended"))
        if outcome.ok and tools.call_log is not None and tools.call_log.unreplayed():
            message = f"The resumed script does not match its journal: it ended before {tools.call_log.unreplayed()} "
            outcome = _failed_instead(outcome, ErrorCode.RUNTIME_ERROR, message + "recorded tool call(s)")
        if outcome.paused is not None and outcome.entropy_overflow:
            message = (
                f"The run saw more than {limits.max_recorded_values} Math.random()/Date values: too many to journal"
            )
            outcome = _failed_instead(outcome, ErrorCode.MEMORY_LIMIT_EXCEEDED, message)
        result = self._result(outcome, prepared.instrumented.positions, tools, started, code.count("\n") + 1)
        if tools.sidecar is not None:  # sidecar: references in the returned value become their stored values
            await tools.sidecar.finish(result, outcome.value_json)
        result.warnings = warnings
        result.scoring = scoring
        self._settle_state(result, outcome, plan)
        if outcome.paused is not None and self._durable is not None and tools.call_log is not None:
            replayed = plan.replay.journal.entropy if plan.replay is not None else ()
            result.suspended = await self._durable.pause(
                code=prepared.javascript or code,  # resumed as JavaScript: TypeScript's types are gone already
                timeout=plan.timeout_ms,
                max_tool_calls=plan.max_tool_calls,
                state_json=plan.state_json,
                log=tools.call_log,
                entropy=[*replayed, *outcome.entropy],
                paused=outcome.paused,
            )
        return result

    def _settle_state(self, result: ExecutionResult, outcome: RunOutcome, plan: _RunPlan) -> None:
        """All or nothing: the script's new state when the run succeeded, else the state as given."""
        if plan.state_json is None:
            return
        if result.success and outcome.state_json:
            try:
                limits = ValueLimits(max_bytes=self.max_state_bytes, max_depth=max(64, self._defaults.max_value_depth))
                result.state = decode(outcome.state_json, limits, "the state")
                return
            except CodecError as exc:
                result.success, result.value = False, None
                result.error = make_error(ErrorCode.MEMORY_LIMIT_EXCEEDED, str(exc))
        result.state = plan.given_state()

    def run_sync(
        self,
        code: str,
        *,
        timeout: int | None = None,
        context: dict[str, Any] | None = None,
        max_tool_calls: int | None = None,
        state: Any = _NO_STATE,
        language: Language | None = None,
    ) -> ExecutionResult:
        """`run()` for code without an event loop (async tool handlers run on a private loop)."""
        loop = self._sync_loop()
        return loop.run_until_complete(
            self.run(
                code, timeout=timeout, context=context, max_tool_calls=max_tool_calls, state=state, language=language
            )
        )

    async def run_tool_call(
        self,
        arguments: Any,
        *,
        timeout: int | None = None,
        context: dict[str, Any] | None = None,
        max_tool_calls: int | None = None,
    ) -> CodeToolResult:
        """Run a model's "execute AgentScript" tool call (`Toolset.code_tool`) and answer it for the model."""
        # Code mode lives in the tools layer above the facade, which imports this module: imported
        # here, when first used, so that the facade never depends on the layer built on it.
        from .tools.code_tool import run_code_tool_call

        return await run_code_tool_call(
            self, arguments, timeout=timeout, context=context, max_tool_calls=max_tool_calls
        )

    def run_tool_call_sync(
        self,
        arguments: Any,
        *,
        timeout: int | None = None,
        context: dict[str, Any] | None = None,
        max_tool_calls: int | None = None,
    ) -> CodeToolResult:
        """`run_tool_call()` for code without an event loop."""
        loop = self._sync_loop()
        return loop.run_until_complete(
            self.run_tool_call(arguments, timeout=timeout, context=context, max_tool_calls=max_tool_calls)
        )

    # ---- validation ----
    async def validate(self, code: str, *, language: Language | None = None) -> ValidationResult:
        return self.validate_sync(code, language=language)

    def validate_sync(self, code: str, *, language: Language | None = None) -> ValidationResult:
        if not isinstance(code, str):
            raise TypeError(f"code must be a str; got {type(code).__name__}")
        chosen = self.language if language is None else _check_language(language)
        prepared = self._prepared.prepare(code, chosen)  # shared with run(): a validated script is not prepared again
        issues = list(prepared.issues)
        if prepared.instrumented is not None:  # valid for the guard: the engine must compile it too
            refused = compile_issue(prepared.instrumented)
            if refused is not None:
                issues.append(refused)
        return ValidationResult(valid=not any(i.severity == "error" for i in issues), issues=issues)

    # ---- lifetime ----
    def dispose(self) -> None:
        if self._disposed:
            return
        self._disposed = True
        self._adapter.dispose()
        self._tool_pool.shutdown(wait=False, cancel_futures=True)  # a hung sync tool keeps only its own thread
        if self._sidecar is not None:
            self._sidecar.close()
        if self._durable is not None:
            self._durable.close()
        with self._sync_lock:
            loops, self._sync_loops = self._sync_loops, {}
        for loop in loops.values():
            if not loop.is_running():
                loop.close()

    def __enter__(self) -> Enclave:
        return self

    def __exit__(self, *exc: object) -> None:
        self.dispose()

    async def __aenter__(self) -> Enclave:
        return self

    async def __aexit__(self, *exc: object) -> None:
        self.dispose()

    def __repr__(self) -> str:
        parts = [
            f"security_level={self.security_level.value!r}",
            f"timeout={self.timeout}",
            f"max_tool_calls={self.max_tool_calls}",
            f"max_iterations={self.max_iterations}",
            f"memory_limit={self.memory_limit}",
            f"adapter={self._adapter_name!r}",
        ]
        if self.tool_handler is not None:
            parts.append(f"tool_handler={_handler_repr(self.tool_handler)}")
        if self.globals:
            parts.append(f"globals={sorted(self.globals)!r}")  # the names only: values may be private
        if self.scoring_gate is not None:
            parts.append(f"scoring_gate={self.scoring_gate.scorer!r}")
        if self.sidecar is not None and self.sidecar.enabled:
            parts.append(f"sidecar={self.sidecar.storage!r}")
        if self.verbose_errors:
            parts.append("verbose_errors=True")
        return f"Enclave({', '.join(parts)})" + (" (disposed)" if self._disposed else "")

    # ---- helpers ----
    def _durable_fingerprint(self) -> str:
        """What a journal must have been recorded with to be resumed here."""
        fields = [
            str(self.security_level),
            self.max_iterations,
            self.memory_limit,
            self.max_state_bytes,
            self._globals_json,
        ]
        return hashlib.sha256(json.dumps(fields).encode("utf-8")).hexdigest()

    def _sync_loop(self) -> asyncio.AbstractEventLoop:
        try:
            asyncio.get_running_loop()
        except RuntimeError:
            pass
        else:
            raise RuntimeError("run_sync() cannot be called from a running event loop; use `await run()`")
        if self._disposed:
            raise RuntimeError("This Enclave has been disposed")
        key = threading.get_ident()
        with self._sync_lock:
            loop = self._sync_loops.get(key)
            if loop is None or loop.is_closed():
                loop = asyncio.new_event_loop()
                self._sync_loops[key] = loop
        return loop

    def _failed(
        self,
        error: ExecutionError,
        started: float,
        *,
        warnings: list[str] | None = None,
        scoring: Any = None,
        state: Any = None,
    ) -> ExecutionResult:
        result = ExecutionResult(
            success=False,
            error=error,
            stats=ExecutionStats(duration=(time.perf_counter() - started) * 1000.0),
            state=state,
        )
        result.warnings = warnings or []
        result.scoring = scoring
        return result

    def _result(
        self,
        outcome: RunOutcome,
        positions: PositionMap,
        tools: ToolDispatcher,
        started: float,
        user_lines: int,
    ) -> ExecutionResult:
        stats = ExecutionStats(
            duration=(time.perf_counter() - started) * 1000.0,
            tool_call_count=outcome.tool_call_count,
            iteration_count=outcome.iteration_count,
            memory_usage=outcome.memory_usage,
        )
        stdout = "".join(line + "\n" for line in outcome.stdout)
        if outcome.paused is not None:  # not an error: the journal is stored and the token set by the caller
            return ExecutionResult(success=False, stdout=stdout, stats=stats)
        if outcome.ok:
            try:
                value = json.loads(outcome.value_json) if outcome.value_json else None
            except (ValueError, RecursionError):  # only an engine that broke the protocol sends this
                error = make_error(ErrorCode.RUNTIME_ERROR, "The engine returned a value that is not JSON data")
                return ExecutionResult(success=False, error=error, stdout=stdout, stats=stats)
            return ExecutionResult(success=True, value=value, stdout=stdout, stats=stats)
        try:
            code = ErrorCode(outcome.code)
        except ValueError:
            code = ErrorCode.RUNTIME_ERROR
        stack = (_user_stack(outcome.stack, positions, user_lines) if outcome.stack else None) or None
        data = outcome.data
        if code is ErrorCode.VALIDATION_ERROR and data is None:
            data = {"issues": [ValidationIssue(rule="syntax-error", message=outcome.message).to_dict()]}
        error = make_error(code, outcome.message, name=outcome.name or None, stack=stack, data=data)
        if self.verbose_errors and code is ErrorCode.TOOL_ERROR and tools.failures:
            failure = tools.failures[-1]
            error.data = {**(error.data or {}), "tool": failure.tool, "exception_type": failure.exception_type,
                          "traceback": failure.traceback}  # fmt: skip
            error.stack = (error.stack + "\n" if error.stack else "") + failure.traceback
        return ExecutionResult(success=False, error=error, stdout=stdout, stats=stats)


async def _finished(result: ExecutionResult) -> ExecutionResult:
    """A run that ended before it started (a stream of its result alone)."""
    return result


def _check_language(value: object) -> Language:
    if value == "javascript":
        return "javascript"
    if value == "typescript":
        return "typescript"
    raise ValueError(f"language must be one of {', '.join(LANGUAGES)}; got {value!r}")


def _tool_names(value: object, handler: object) -> tuple[str, ...] | None:
    """The host's tool names, sorted: given, or known to the handler (a `Toolset`), or None."""
    if value is None and isinstance(handler, KnowsToolNames):
        value = handler.tool_names()
    if value is None:
        return None
    if isinstance(value, str) or not isinstance(value, (list, tuple, set, frozenset)):
        raise TypeError(f"tool_names must be a list of str; got {type(value).__name__}")
    for name in value:
        if not isinstance(name, str) or not name:
            raise TypeError(f"tool_names must hold non-empty str; got {name!r}")
    return tuple(sorted(set(value)))


def _handler_repr(handler: ToolHandler) -> str:
    """A function by its name; another callable by its own repr (a `Toolset` lists its tools), kept short."""
    if inspect.isfunction(handler) or inspect.ismethod(handler):
        return f"<function {handler.__qualname__}>"
    text = repr(handler)
    return text if len(text) <= 120 else text[:119] + "…"


def _failed_instead(outcome: RunOutcome, code: ErrorCode, message: str) -> RunOutcome:
    """The same run's counters and output, ending with `code` instead."""
    return dataclasses.replace(outcome, ok=False, code=str(code), name="", message=message, stack="", paused=None)


def _validation_error(issues: list[ValidationIssue]) -> ExecutionError:
    errors = [issue for issue in issues if issue.severity == "error"]
    first = errors[0] if errors else issues[0]
    where = ""
    if first.location:
        where = f" (line {first.location['line']}, column {first.location['column']})"
    more = f" and {len(errors) - 1} more issue(s)" if len(errors) > 1 else ""
    return make_error(
        ErrorCode.VALIDATION_ERROR,
        f"{first.message}{where}{more}",
        data={"issues": [issue.to_dict() for issue in issues]},
    )


def _user_stack(stack: str, positions: PositionMap, user_lines: int) -> str:
    """The guest's stack with prelude frames dropped and positions mapped to the user's code."""
    lines = []
    for line in stack.splitlines():
        frame = _STACK_FRAME.search(line)
        if _PRELUDE_FRAMES.match(line) or (frame is not None and int(frame.group(1)) > user_lines):
            continue

        def remap(match: re.Match[str]) -> str:
            user_line, user_col = positions.to_user(int(match.group(1)), int(match.group(2)))
            return f"agentscript:{user_line}:{user_col}"

        lines.append(_STACK_FRAME.sub(remap, line))
    return "\n".join(lines)
