"""Compile-only check of an instrumented program with the engine that runs it, for `validate()`.

The guard's parser accepts some programs QuickJS refuses (`await` in a non-async arrow, a duplicate
`let`, a top-level `yield`); compiling the instrumented program here, without running anything, makes
validate() refuse them too. Each thread keeps one compile-only context: nothing ever runs in it, so
nothing of one check can reach the next.
"""

from __future__ import annotations

import threading

from ..guard.instrument import Instrumented
from ..results import ValidationIssue
from . import _engine
from .session import DEFAULT_STACK_BYTES, syntax_location

#: Memory the compiler may use (the guard caps code at 100 KB, far below what this allows).
COMPILE_MEMORY_CAP = 256 * 1024 * 1024

_local = threading.local()


def _compiler() -> _engine.Compiler:
    compiler: _engine.Compiler | None = getattr(_local, "compiler", None)
    if compiler is None:
        compiler = _local.compiler = _engine.Compiler(COMPILE_MEMORY_CAP)
    return compiler


def _user_column(program: str, line: int, byte_column: int) -> int:
    """The 1-based character column of a 1-based UTF-8 byte column on `line` of `program`."""
    lines = program.split("\n")
    if not 1 <= line <= len(lines):
        return 1
    prefix = lines[line - 1].encode("utf-8", "surrogatepass")[: max(byte_column - 1, 0)]
    return len(prefix.decode("utf-8", "ignore")) + 1


def compile_issue(instrumented: Instrumented, stack_bytes: int = DEFAULT_STACK_BYTES) -> ValidationIssue | None:
    """The engine's refusal of `instrumented` as a `syntax-error` issue at the user's position, or None."""
    found = _compiler().compile(instrumented.program, stack_bytes)
    if found is None:
        return None
    status, message, detail = found
    if status == _engine.STACK_OVERFLOW:
        return ValidationIssue(rule="syntax-error", message="The code is nested too deeply for the engine")
    if status == _engine.OUT_OF_MEMORY:
        return ValidationIssue(rule="syntax-error", message="The code is too large for the engine to compile")
    where = syntax_location(detail)
    location = None
    if where is not None:
        line, byte_column = where
        line, column = instrumented.positions.to_user(line, _user_column(instrumented.program, line, byte_column))
        location = {"line": line, "column": column}
    return ValidationIssue(
        rule="syntax-error", message=f"Syntax error: {message or 'invalid syntax'}", location=location
    )
