"""The host side of one QuickJS instance inside one WebAssembly instance.

On wasm32 a JSValue is a NaN-boxed i64 (tag in the high 32 bits), so values stay on the host as plain
ints and go back in as call arguments; strings cross through the instance's linear memory. Calls use
wasmtime's unchecked entry point (measured ~10x cheaper than `Func.__call__`); every signature was
checked against the module when it was loaded. Every pointer and length read back from the instance is
bounds-checked: nothing the instance returns is trusted.

A trap (epoch deadline, native stack exhausted, a fault) leaves the instance unusable: `dead` is set and
the instance is never called again.
"""

from __future__ import annotations

import ctypes
import os

import wasmtime
from wasmtime import _bindings  # the unchecked call path and raw memory access
from wasmtime._extern import wrap_extern

from ..outcome import now as run_clock
from .session import EngineTerminated, classify_engine_exception
from .wasm_module import PAGE, SIGNATURES, WasmRuntime

UNDEFINED = 3 << 32
_TAG_EXCEPTION = 6
_EVAL_GLOBAL = 0
_EVAL_COMPILE_ONLY = 1 << 5
#: JS_WRITE_OBJ_BYTECODE / JS_READ_OBJ_BYTECODE: functions may be (de)serialised.
_OBJ_BYTECODE = 1 << 0
_U32 = 0xFFFFFFFF
_SCRATCH_BYTES = 64 * 1024
_CANARY_BYTES = 32
_CELLS_BYTES = 64  # argv (up to 4 JSValues), a returned length, the job's context
_MAX_ARGS = 4
_LENGTH_CELL = 32
_JOB_CONTEXT_CELL = 40
# The raw ctypes entry point, without the wrapper function around it.
_call_unchecked = _bindings._wasmtime_func_call_unchecked
_memory_data = _bindings._wasmtime_memory_data
_memory_data_size = _bindings._wasmtime_memory_data_size
#: Budget for warming an instance (evaluating the trusted prelude) before any run owns it.
WARM_BUDGET_S = 10.0


def is_exception(value: int) -> bool:
    return value >> 32 == _TAG_EXCEPTION


def _refcounted(value: int) -> bool:
    # Heap values (objects, strings, symbols, bigints, bytecode) have the small negative tags.
    return -16 <= value >> 32 < 0


class QuickJsVm:
    """One store, one instance, one JSRuntime and one JSContext; used by one thread at a time."""

    def __init__(self, runtime: WasmRuntime, memory_cap: int) -> None:
        self._runtime = runtime
        store = wasmtime.Store(runtime.engine)
        store.set_wasi(wasmtime.WasiConfig())  # empty: no preopens, no environment, no args, no stdio
        store.set_limits(memory_size=memory_cap)
        store.set_epoch_deadline(runtime.watchdog.ticks_until(run_clock() + WARM_BUDGET_S))
        self._store = store
        self._memory_cap = memory_cap
        self.dead = False
        instance = runtime.pre.instantiate(store)
        self._context = store._context()
        memory = self._export(instance, "memory")
        if not isinstance(memory, wasmtime.Memory):
            raise TypeError("the module exports no memory")
        self._memory_ref = ctypes.byref(memory._memory)
        # The memory never moves (`memory_may_move` is off), so its base address holds for the store's
        # life. The size only grows: a cached size is a safe bound, refreshed when an access needs more.
        self._base = self._memory_base()
        self._size = int(_memory_data_size(self._context, self._memory_ref))
        self._funcs: dict[str, object] = {}
        for name in SIGNATURES:
            func = self._export(instance, name)
            if not isinstance(func, wasmtime.Func):
                raise TypeError(f"the module's {name} is not a function")
            self._funcs[name] = ctypes.byref(func._func)
        self._slots = (_bindings.wasmtime_val_raw_t * 8)()
        self._slot_views = [self._slots[index] for index in range(8)]
        self._trap = ctypes.POINTER(_bindings.wasm_trap_t)()
        self._trap_ref = ctypes.byref(self._trap)

        self._call("_initialize")
        self.rt = self._pointer("JS_NewRuntime")
        self.ctx = self._pointer("JS_NewContext", self.rt) if self.rt else 0
        if not self.ctx:
            raise EngineTerminated("MEMORY_LIMIT_EXCEEDED", "Memory limit exceeded")
        self._scratch = self.malloc(_SCRATCH_BYTES)
        self._cells = self.malloc(_CELLS_BYTES)
        # Views of our own cells in linear memory (argv and the returned length), written and read in place.
        self._argv = (ctypes.c_int64 * _MAX_ARGS).from_address(self._bounds(self._cells, 8 * _MAX_ARGS))
        self._length = ctypes.c_uint32.from_address(self._bounds(self._cells + _LENGTH_CELL, 4))
        self._filename = self.malloc(8)
        self._write(self._filename, b"<input>\0")
        # The bottom of the C stack: overwritten only if the stack overflowed into what lies below.
        self._canary = os.urandom(_CANARY_BYTES)
        self._write(runtime.stack.bottom, self._canary)

    def _export(self, instance: wasmtime.Instance, name: str) -> object:
        """One export by name (`Instance.exports` would wrap all ~300 of them: ~8 ms per instance)."""
        item = _bindings.wasmtime_extern_t()
        key = name.encode()
        if not _bindings._wasmtime_instance_export_get(
            self._context, ctypes.byref(instance._instance), key, len(key), ctypes.byref(item)
        ):
            raise TypeError(f"the module has no export {name}")
        return wrap_extern(item)

    # ---- limits ----
    def set_run_limits(self, memory_limit: int, memory_cap: int, deadline: float) -> None:
        """QuickJS's own heap limit, the store's hard cap on linear memory and the epoch deadline."""
        # The deadline first: the warm-up deadline of an instance that waited long for its run may have
        # passed already (the epoch advances while other runs are inside the VM), and any call would trap.
        self._store.set_epoch_deadline(self._runtime.watchdog.ticks_until(deadline))
        self._memory_cap = memory_cap
        self._store.set_limits(memory_size=memory_cap)
        self._call("JS_SetMemoryLimit", self.rt, min(memory_limit, _U32))

    # ---- values ----
    def eval(self, source: str) -> int:
        """Compile and run `source` as a global script; returns its completion value."""
        return self._checked(self._eval(source, _EVAL_GLOBAL))

    def compile_to_bytecode(self, source: str) -> bytes:
        """`source` compiled as a global script (not run), serialised by the engine."""
        function = self._checked(self._eval(source, _EVAL_GLOBAL | _EVAL_COMPILE_ONLY))
        try:
            size_cell = self._cells + _LENGTH_CELL
            ptr = self._pointer("JS_WriteObject", self.ctx, size_cell, function, _OBJ_BYTECODE)
            if not ptr:
                raise self.pending_exception()
            try:
                return self._read(ptr, self._length.value)
            finally:
                self._call("js_free", self.ctx, ptr)
        finally:
            self.free(function)

    def run_bytecode(self, bytecode: bytes) -> int:
        """Load a script serialised by `compile_to_bytecode` (in an instance of the same module) and run
        it; returns its completion value. Skips the compile, most of a warm-up's cost."""
        with _Buffer(self, len(bytecode)) as ptr:
            self._write(ptr, bytecode)
            function = self._checked(self._value("JS_ReadObject", self.ctx, ptr, len(bytecode), _OBJ_BYTECODE))
        return self._checked(self._value("JS_EvalFunction", self.ctx, function))  # takes over `function`

    def _eval(self, source: str, flags: int) -> int:
        data = source.encode("utf-8", "surrogatepass")
        with _Buffer(self, len(data) + 1) as ptr:
            self._write(ptr, data + b"\0")
            return self._value("JS_Eval", self.ctx, ptr, len(data), self._filename, flags)

    def new_string(self, text: str) -> int:
        data = text.encode("utf-8", "surrogatepass")
        with _Buffer(self, len(data)) as ptr:
            self._write(ptr, data)
            value = self._value("JS_NewStringLen", self.ctx, ptr, len(data))
        return self._checked(value)

    def call(self, func: int, *args: int) -> int:
        """`func(...args)` with `this` undefined; the arguments stay owned by the caller."""
        argv = self._argv
        for index, arg in enumerate(args):
            argv[index] = arg
        return self._checked(self._value("JS_Call", self.ctx, func, UNDEFINED, len(args), self._cells))

    def to_text(self, value: int) -> str | None:
        """The string conversion of `value`, or None when it cannot be converted (the error is dropped)."""
        length_cell = self._cells + _LENGTH_CELL
        ptr = self._pointer("JS_ToCStringLen2", self.ctx, length_cell, value, 0)
        if not ptr:
            self.free(self._value("JS_GetException", self.ctx))
            return None
        try:
            data = self._read(ptr, self._length.value)
        finally:
            self._call("JS_FreeCString", self.ctx, ptr)
        try:
            return data.decode("utf-8", "surrogatepass")
        except UnicodeDecodeError:
            return data.decode("utf-8", "replace")

    def call_with_text(self, func: int, op: int, text: str) -> None:
        """`func(op, text)` for a function whose result is not needed (a control op taking a string)."""
        arg = self.new_string(text)
        try:
            self.free(self.call(func, op, arg))
        finally:
            self.free(arg)

    def call_for_text(self, func: int, op: int) -> str | None:
        """The string `func(op)` returns (see `to_text`)."""
        value = self.call(func, op, 0)
        try:
            return self.to_text(value)
        finally:
            self.free(value)

    def free(self, value: int) -> None:
        if _refcounted(value) and not self.dead:
            self._call("JS_FreeValue", self.ctx, value)

    def pending_exception(self) -> EngineTerminated:
        """Take the pending JS exception and classify it like the in-process engine does."""
        exception = self._value("JS_GetException", self.ctx)
        text = self.to_text(exception)
        self.free(exception)
        return classify_engine_exception(Exception(text or ""))

    def run_job(self) -> bool:
        """Run one pending promise job; False when there is none."""
        status = self._slot("JS_ExecutePendingJob", self.rt, self._cells + _JOB_CONTEXT_CELL).i32
        if status < 0:
            raise self.pending_exception()
        return status > 0

    def heap_bytes(self) -> int:
        """Linear memory above the C stack: the heap's high-water mark (wasm memory never shrinks).
        QuickJS's own counters are no use here (see `memory_cap`)."""
        return max(0, self._memory_size() - self._runtime.stack.top)

    def stack_intact(self) -> bool:
        return self._read(self._runtime.stack.bottom, _CANARY_BYTES) == self._canary

    # ---- linear memory ----
    def malloc(self, size: int) -> int:
        ptr = self._pointer("malloc", size)
        if not ptr:
            raise EngineTerminated("MEMORY_LIMIT_EXCEEDED", "Memory limit exceeded")
        return ptr

    def _bounds(self, ptr: int, size: int) -> int:
        """The host address of `size` bytes at `ptr`, refusing anything outside linear memory."""
        if ptr <= 0 or size < 0 or (ptr + size > self._size and ptr + size > self._memory_size()):
            self.dead = True
            raise EngineTerminated("RUNTIME_ERROR", "Engine returned an out-of-bounds reference", "InternalError")
        return self._base + ptr

    def _write(self, ptr: int, data: bytes) -> None:
        ctypes.memmove(self._bounds(ptr, len(data)), data, len(data))

    def _read(self, ptr: int, size: int) -> bytes:
        return ctypes.string_at(self._bounds(ptr, size), size)

    def _memory_base(self) -> int:
        return int(ctypes.cast(_memory_data(self._context, self._memory_ref), ctypes.c_void_p).value or 0)

    def _memory_size(self) -> int:
        size = int(_memory_data_size(self._context, self._memory_ref))
        if size != self._size:
            self._size = size
            # The engine is configured so that memory never moves (and only growth could move it);
            # should that ever not hold, stop here rather than touch memory through a stale address.
            if self._memory_base() != self._base:
                self.dead = True
                raise EngineTerminated("RUNTIME_ERROR", "The engine's memory moved", "InternalError")
        return size

    # ---- calls ----
    def _slot(self, name: str, *args: int) -> _bindings.wasmtime_val_raw:
        if self.dead:
            raise EngineTerminated("RUNTIME_ERROR", "The engine's virtual machine was stopped", "InternalError")
        views = self._slot_views
        for index, arg in enumerate(args):
            views[index].i64 = arg  # i32 parameters read the low half (wasm is little-endian)
        error = _call_unchecked(self._context, self._funcs[name], self._slots, 8, self._trap_ref)
        if error:
            raise self._trapped(wasmtime.WasmtimeError._from_ptr(error))
        if self._trap:
            trap = wasmtime.Trap._from_ptr(self._trap)
            self._trap = ctypes.POINTER(_bindings.wasm_trap_t)()
            self._trap_ref = ctypes.byref(self._trap)
            raise self._trapped(trap)
        return views[0]

    def _call(self, name: str, *args: int) -> None:
        self._slot(name, *args)

    def _value(self, name: str, *args: int) -> int:
        return int(self._slot(name, *args).i64)

    def _pointer(self, name: str, *args: int) -> int:
        return int(self._slot(name, *args).i32) & _U32

    def _checked(self, value: int) -> int:
        if is_exception(value):
            raise self.pending_exception()
        return value

    def _trapped(self, error: Exception) -> EngineTerminated:
        """Map a trap of the outer VM to the run's error code; the instance is dead from here on."""
        self.dead = True
        code = error.trap_code if isinstance(error, wasmtime.Trap) else None
        # A C stack that overran its region may have sent the engine anywhere (even into a loop).
        if code is wasmtime.TrapCode.STACK_OVERFLOW or not self._stack_intact_after_trap():
            return EngineTerminated("RUNTIME_ERROR", "Maximum call stack size exceeded", "RangeError")
        if code is wasmtime.TrapCode.INTERRUPT:
            return EngineTerminated("TIMEOUT", "Execution timed out")
        if self._memory_size() + 16 * PAGE >= self._memory_cap:
            return EngineTerminated("MEMORY_LIMIT_EXCEEDED", "Memory limit exceeded")
        reason = code.name.lower().replace("_", " ") if code is not None else "an engine error"
        return EngineTerminated("RUNTIME_ERROR", f"The engine's virtual machine stopped: {reason}", "InternalError")

    def _stack_intact_after_trap(self) -> bool:
        bottom = self._runtime.stack.bottom
        if bottom + _CANARY_BYTES > self._memory_size():
            return False
        return ctypes.string_at(self._base + bottom, _CANARY_BYTES) == self._canary


class _Buffer:
    """The shared scratch buffer when the data fits, else a temporary allocation freed on exit."""

    def __init__(self, vm: QuickJsVm, size: int) -> None:
        self._vm = vm
        self._size = size
        self._ptr = 0

    def __enter__(self) -> int:
        if self._size <= _SCRATCH_BYTES:
            return self._vm._scratch
        self._ptr = self._vm.malloc(self._size)
        return self._ptr

    def __exit__(self, *exc: object) -> None:
        if self._ptr and not self._vm.dead:
            self._vm._call("free", self._ptr)
