"""QuickJS-NG's WASI reactor build, loaded into wasmtime once per process.

The module comes from the `qjs-wasi-reactor.wasm` distribution (the `wasm` extra). Before compiling it we
give it a larger C stack (see `relocate_stack`). Compiling takes about a second, so the compiled code is
cached on disk, keyed by the wasmtime version, the CPU and the patched module's hash: only the first start
on a machine pays for it.
"""

from __future__ import annotations

import hashlib
import importlib.metadata
import os
import platform
import sys
import tempfile
import threading
from dataclasses import dataclass
from pathlib import Path

import wasmtime

from .wasm_watchdog import EpochWatchdog

MISSING_EXTRA = "The double-VM adapter needs the 'wasm' extra: pip install 'enclave-vm[wasm]'"

WASM_DISTRIBUTION = "qjs-wasi-reactor.wasm"
WASM_FILE_NAME = "qjs-wasi-reactor.wasm"
CACHE_ENV = "ENCLAVE_VM_CACHE_DIR"

PAGE = 65536
#: The build links a 64 KiB C stack right below its heap, with nothing but static data under it, and
#: QuickJS's own stack check is compiled out for WASI: ~200 nested JS calls would overwrite the engine's
#: static data. The stack is moved to a region of its own of this many pages at the end of the initial
#: memory, which the allocator never hands out (it grows the memory past it).
STACK_PAGES = 64
#: Native stack for the compiled code. Kept at a quarter of the C stack so that ordinary deep recursion
#: exhausts it first and traps cleanly, before the C stack runs out.
NATIVE_STACK = STACK_PAGES * PAGE // 4

#: The exports the glue calls, with their wasm signatures (checked once at load: the calls are unchecked).
SIGNATURES: dict[str, tuple[str, str]] = {
    "_initialize": ("", ""),
    "malloc": ("i", "i"),
    "free": ("i", ""),
    "JS_NewRuntime": ("", "i"),
    "JS_NewContext": ("i", "i"),
    "JS_SetMemoryLimit": ("ii", ""),
    "JS_Eval": ("iiiii", "I"),
    "JS_NewStringLen": ("iii", "I"),
    "JS_Call": ("iIIii", "I"),
    "JS_FreeValue": ("iI", ""),
    "JS_GetException": ("i", "I"),
    "JS_ToCStringLen2": ("iiIi", "i"),
    "JS_FreeCString": ("ii", ""),
    "JS_ExecutePendingJob": ("ii", "i"),
    "JS_WriteObject": ("iiIi", "i"),
    "JS_ReadObject": ("iiii", "I"),
    "JS_EvalFunction": ("iI", "I"),
    "js_free": ("ii", ""),
}


@dataclass(frozen=True)
class StackLayout:
    """Where the relocated C stack lives in linear memory: it grows down from `top` to `bottom`."""

    bottom: int
    top: int


@dataclass(frozen=True)
class WasmRuntime:
    """What every instance shares: the engine, the linked module and the epoch watchdog."""

    engine: wasmtime.Engine
    pre: wasmtime.InstancePre
    stack: StackLayout
    watchdog: EpochWatchdog
    wasmtime_version: str
    from_cache: bool


def module_path() -> Path:
    """The packaged .wasm file, found through the distribution's file list."""
    try:
        dist = importlib.metadata.distribution(WASM_DISTRIBUTION)
    except importlib.metadata.PackageNotFoundError:
        raise ImportError(MISSING_EXTRA) from None
    for file in dist.files or ():
        if file.name == WASM_FILE_NAME:
            path = Path(str(file.locate()))
            if path.is_file():
                return path
    raise ImportError(f"{MISSING_EXTRA} (the {WASM_DISTRIBUTION} distribution has no {WASM_FILE_NAME})")


def cache_dir() -> Path:
    configured = os.environ.get(CACHE_ENV)
    if configured:
        return Path(configured)
    if sys.platform == "darwin":
        return Path.home() / "Library" / "Caches" / "enclave-vm"
    if sys.platform == "win32":
        return Path(os.environ.get("LOCALAPPDATA", Path.home())) / "enclave-vm" / "Cache"
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "enclave-vm"


# ---- the stack relocation: a two-field edit of the module's memory and global sections ----


def _read_uleb(data: bytes, pos: int) -> tuple[int, int]:
    value = shift = 0
    while True:
        byte = data[pos]
        pos += 1
        value |= (byte & 0x7F) << shift
        shift += 7
        if not byte & 0x80:
            return value, pos


def _uleb(value: int) -> bytes:
    out = bytearray()
    while True:
        byte, value = value & 0x7F, value >> 7
        out.append(byte | (0x80 if value else 0))
        if not value:
            return bytes(out)


def _sleb(value: int) -> bytes:
    out = bytearray()
    while True:
        byte, value = value & 0x7F, value >> 7
        done = (value == 0 and not byte & 0x40) or (value == -1 and byte & 0x40)
        out.append(byte if done else byte | 0x80)
        if done:
            return bytes(out)


def relocate_stack(wasm: bytes, pages: int = STACK_PAGES) -> tuple[bytes, StackLayout]:
    """Grow the initial memory by `pages` and point the stack pointer (global 0, by the linker's
    convention) at the top of that new region. Refuses any module whose layout differs."""
    if wasm[:8] != b"\0asm\x01\0\0\0":
        raise ValueError("not a WebAssembly module")
    out = bytearray(wasm[:8])
    pos = 8
    old_pages: int | None = None
    layout: StackLayout | None = None
    while pos < len(wasm):
        section = wasm[pos]
        size, start = _read_uleb(wasm, pos + 1)
        body = wasm[start : start + size]
        if section == 5:  # memory: exactly one, no maximum
            count, at = _read_uleb(body, 0)
            if count != 1 or body[at] != 0:
                raise ValueError("unexpected memory section")
            old_pages, _ = _read_uleb(body, at + 1)
            body = _uleb(1) + b"\0" + _uleb(old_pages + pages)
        elif section == 6:  # globals: the first is the mutable i32 stack pointer
            if old_pages is None:
                raise ValueError("globals before memory")
            count, at = _read_uleb(body, 0)
            if body[at : at + 3] != b"\x7f\x01\x41":
                raise ValueError("unexpected stack pointer global")
            end = at + 3
            while body[end] & 0x80:
                end += 1
            if body[end + 1] != 0x0B:
                raise ValueError("unexpected stack pointer initialiser")
            layout = StackLayout(bottom=old_pages * PAGE, top=(old_pages + pages) * PAGE)
            body = _uleb(count) + b"\x7f\x01\x41" + _sleb(layout.top) + body[end + 1 :]
        out.append(section)
        out += _uleb(len(body))
        out += body
        pos = start + size
    if layout is None:
        raise ValueError("module has no stack pointer")
    return bytes(out), layout


# ---- compile or load from the cache ----


def _config() -> wasmtime.Config:
    config = wasmtime.Config()
    config.epoch_interruption = True
    config.max_wasm_stack = NATIVE_STACK
    # Linear memory stays where it was mapped (it grows inside its reservation), so the glue can keep
    # the base address of an instance's memory instead of asking for it on every access.
    config.memory_may_move = False
    return config


def _trusted_cache_file(path: Path) -> bool:
    """Compiled code is native code: only use a file this user owns and nobody else can write."""
    try:
        info = path.stat()
    except OSError:
        return False
    if os.name == "posix":
        return info.st_uid == os.getuid() and not info.st_mode & 0o022
    return True


def _store_compiled(module: wasmtime.Module, path: Path) -> None:
    try:
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-", suffix=".cwasm")
        try:
            with os.fdopen(fd, "wb") as handle:
                handle.write(module.serialize())
            os.replace(tmp, path)
        except BaseException:
            os.unlink(tmp)
            raise
    except OSError:
        pass  # an unwritable cache only costs the next process a compile


def _load_module(engine: wasmtime.Engine, wasm: bytes, version: str) -> tuple[wasmtime.Module, bool]:
    digest = hashlib.sha256(wasm + f"|epoch|{NATIVE_STACK}|fixed-memory".encode()).hexdigest()[:24]
    path = cache_dir() / f"qjs-wasi-{version}-{platform.machine() or 'cpu'}-{digest}.cwasm"
    if _trusted_cache_file(path):
        try:
            return wasmtime.Module.deserialize_file(engine, str(path)), True
        except wasmtime.WasmtimeError:
            pass  # stale or damaged: compile again and replace it
    module = wasmtime.Module(engine, wasm)
    _store_compiled(module, path)
    return module, False


def _check_signatures(module: wasmtime.Module) -> None:
    codes = {"i32": "i", "i64": "I", "f64": "F", "f32": "f"}
    found: dict[str, tuple[str, str]] = {}
    for export in module.exports:
        kind = export.type
        if isinstance(kind, wasmtime.FuncType):
            params = "".join(codes.get(str(p), "?") for p in kind.params)
            results = "".join(codes.get(str(r), "?") for r in kind.results)
            found[export.name] = (params, results)
    for name, signature in SIGNATURES.items():
        if found.get(name) != signature:
            raise ImportError(f"{WASM_DISTRIBUTION}: export {name} is {found.get(name)}, expected {signature}")


def _build() -> WasmRuntime:
    wasm, stack = relocate_stack(module_path().read_bytes())
    version = importlib.metadata.version("wasmtime")
    engine = wasmtime.Engine(_config())
    module, from_cache = _load_module(engine, wasm, version)
    _check_signatures(module)
    linker = wasmtime.Linker(engine)
    linker.define_wasi()  # each store gets an empty WasiConfig: no preopens, env, args or stdio
    return WasmRuntime(
        engine=engine,
        pre=linker.instantiate_pre(module),
        stack=stack,
        watchdog=EpochWatchdog(engine),
        wasmtime_version=version,
        from_cache=from_cache,
    )


_runtime: WasmRuntime | None = None
_runtime_lock = threading.Lock()


def get_runtime() -> WasmRuntime:
    """The process-wide runtime, built on first use."""
    global _runtime
    if _runtime is None:
        with _runtime_lock:
            if _runtime is None:
                _runtime = _build()
    return _runtime
