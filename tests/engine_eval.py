"""Evaluating JavaScript in our own engine for tests that need an independent reading of a program
(the parser-differential oracle, literal values, compile checks).

The engine only runs through a prelude's control function, so a test gives its own small "prelude": a
script evaluating to `(op, arg) => ...`. `start` hands it the compiled program, and `drain` returns the
JSON text the test reads. Everything runs in a fresh context under a deadline and a heap cap.
"""

from __future__ import annotations

from enclave_vm.engine import _engine
from enclave_vm.outcome import now

_MEMORY = 32 * 1024 * 1024
_STACK = 512 * 1024
_compiler = _engine.Compiler(256 * 1024 * 1024)


def compiles(program: str) -> bool:
    """True when QuickJS compiles `program` (nothing of it runs)."""
    return _compiler.compile(program, _STACK) is None


def evaluate(prelude: str, program: str = "(async () => {})", *, seconds: float = 1.0) -> tuple[str, str | None]:
    """Run `prelude` (a script evaluating to a control function) with `program` started through it.

    Returns ("ok", drained text), ("compile-error", None) when the program does not compile, or
    ("engine:<status>", None) when the engine stopped it (deadline, memory, stack)."""
    engine = _engine.Engine(prelude, _MEMORY, _STACK)
    try:
        engine.configure(_MEMORY, _STACK, now() + seconds, 1 << 20)
        status, text, _detail, _pending = engine.start("{}", program)
        if status == _engine.SYNTAX_ERROR:
            return "compile-error", None
        if status != _engine.OK:
            return f"engine:{status}", None
        return "ok", text
    finally:
        engine.close()


def value_of(expression: str) -> str | None:
    """The JSON text of `expression` evaluated as sloppy-mode script code, or None if it does not compile."""
    prelude = f"(() => {{ const v = JSON.stringify({expression}); return (op) => op === 'drain' ? v : undefined; }})()"
    try:
        outcome, text = evaluate(prelude)
    except Exception:  # the prelude itself failed to compile
        return None
    return text if outcome == "ok" else None
