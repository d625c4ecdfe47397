"""One run of the prelude's protocol inside a WebAssembly instance: the double VM's `EngineChannel`.

The same prelude, config and state parsing as the in-process session; only the calls differ. The
prelude's control function stays a host-held JSValue, never reachable from the guest. An instance serves
one run and is then dropped with its store, so nothing of one run survives into the next.
"""

from __future__ import annotations

import contextlib
import threading

from ..bridge.protocol import StartRequest, Step, ToolResult
from ..outcome import now as run_clock
from .prelude_protocol import PRELUDE, init_config, parse_state, settle_payload
from .session import EngineTerminated
from .wasm_glue import QuickJsVm
from .wasm_module import WasmRuntime, get_runtime

_OPS = ("init", "start", "settle", "drain")
#: Linear memory allowed while warming (the prelude needs well under this).
WARM_MEMORY_CAP = 64 * 1024 * 1024
_WASM32_MAX = 4 * 1024 * 1024 * 1024
_SLACK = 1024 * 1024


def memory_cap(memory_limit: int, fixed: int) -> int:
    """The store's hard cap on linear memory: `memory_limit` for the heap on top of the `fixed` part
    (static data and the C stack), plus a little slack for the strings crossing the boundary.

    This cap, not QuickJS's own limit, is what enforces `memory_limit`: the build's allocator does not
    report block sizes, so QuickJS counts only a fixed overhead per allocation (its limit stays set,
    as a bound on the number of allocations)."""
    return min(fixed + memory_limit + _SLACK, _WASM32_MAX)


class _PreludeBytecode:
    """The prelude compiled once per process (in a scratch instance) and loaded into every new instance:
    loading skips the compile, which is most of the cost of warming an instance."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._compiled: tuple[WasmRuntime, bytes] | None = None

    def get(self, runtime: WasmRuntime) -> bytes:
        compiled = self._compiled
        if compiled is None or compiled[0] is not runtime:
            with self._lock:
                compiled = self._compiled
                if compiled is None or compiled[0] is not runtime:
                    compiled = (runtime, QuickJsVm(runtime, WARM_MEMORY_CAP).compile_to_bytecode(PRELUDE))
                    self._compiled = compiled
        return compiled[1]


_prelude = _PreludeBytecode()


class WarmWasmContext:
    """A fresh instance with QuickJS and the prelude ready: everything a run needs but its config."""

    def __init__(self, runtime: WasmRuntime | None = None) -> None:
        self.runtime = runtime or get_runtime()
        self.vm = QuickJsVm(self.runtime, WARM_MEMORY_CAP)
        self.ctl = self.vm.run_bytecode(_prelude.get(self.runtime))
        self.ops = {op: self.vm.new_string(op) for op in _OPS}


class WasmSession:
    def __init__(self, request: StartRequest, warm: WarmWasmContext | None = None, vm_deadline: float = 0.0) -> None:
        self._request = request
        self._deadline = request.deadline
        self._vm_deadline = vm_deadline or request.deadline
        self._warm = warm
        self._inside = False

    # -- the protocol --
    def start(self) -> Step:
        warm = self._open()
        vm = warm.vm
        try:
            self._check_time()
            function = vm.eval(self._request.program)
            try:
                self._control(warm, "start", function)
            finally:
                vm.free(function)
            return self._step(warm)
        except EngineTerminated as exc:
            raise self._with_output(exc) from None

    def settle(self, results: list[ToolResult]) -> Step:
        warm = self._current()
        try:
            self._control_text(warm, "settle", settle_payload(results))
            return self._step(warm)
        except EngineTerminated as exc:
            raise self._with_output(exc) from None

    def close(self) -> None:
        if self._inside:
            self._inside = False
            (self._warm.runtime if self._warm else get_runtime()).watchdog.leave()
        self._warm = None  # dropping the store frees the whole instance

    # -- internals --
    def _open(self) -> WarmWasmContext:
        request = self._request
        limits = request.limits
        warm = self._warm or WarmWasmContext()
        self._warm = warm
        warm.runtime.watchdog.enter()
        self._inside = True
        cap = memory_cap(limits.memory_limit, warm.runtime.stack.top)
        warm.vm.set_run_limits(limits.memory_limit, cap, self._vm_deadline)
        self._control_text(warm, "init", init_config(request))
        return warm

    def _with_output(self, exc: EngineTerminated) -> EngineTerminated:
        """Keep what the script printed before the host stopped it (a trapped VM is not asked)."""
        warm = self._warm
        if warm is None or warm.vm.dead or exc.stdout:
            return exc
        # An engine that cannot answer any more loses the lines; the code still stands.
        with contextlib.suppress(Exception):
            exc.stdout = parse_state(warm.vm.call_for_text(warm.ctl, warm.ops["drain"]), None).stdout
        return exc

    def _current(self) -> WarmWasmContext:
        if self._warm is None:
            raise EngineTerminated("RUNTIME_ERROR", "The engine was closed", "InternalError")
        return self._warm

    def _check_time(self) -> None:
        if self._deadline - run_clock() <= 0:
            raise EngineTerminated("TIMEOUT", "Execution timed out")

    def _control(self, warm: WarmWasmContext, op: str, arg: int) -> int:
        self._check_time()
        return warm.vm.call(warm.ctl, warm.ops[op], arg)

    def _control_text(self, warm: WarmWasmContext, op: str, text: str) -> None:
        self._check_time()
        warm.vm.call_with_text(warm.ctl, warm.ops[op], text)

    def _step(self, warm: WarmWasmContext) -> Step:
        vm = warm.vm
        # The clock is checked after every job: one job can be long (a collection over a big heap), and the
        # inner deadline must stop the engine cleanly, with its output, before the outer epoch traps it.
        while vm.run_job():
            self._check_time()
        # No clock check here: draining is cheap (the epoch still bounds it) and keeps the output so far.
        text = vm.call_for_text(warm.ctl, warm.ops["drain"])
        # A C stack that ran into the memory below it may have corrupted the engine: trust nothing it said.
        if not vm.stack_intact():
            vm.dead = True
            raise EngineTerminated("RUNTIME_ERROR", "Maximum call stack size exceeded", "RangeError")
        return parse_state(text, vm.heap_bytes())
