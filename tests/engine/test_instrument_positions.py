"""Instrumentation keeps the user's line numbers and maps columns back."""

from __future__ import annotations

from enclave_vm.guard.instrument import instrument
from enclave_vm.guard.parse import parse_script


def test_lines_are_preserved() -> None:
    code = "const a = [1, 2].map(x => x * 2);\nfor (const v of a) { v }\ntry { x() } catch { }\nreturn a;"
    program = instrument(parse_script(code)).program
    assert program.count("\n") == code.count("\n") + 1


def test_columns_map_back_after_insertions() -> None:
    code = "for (const v of [1]) { v }; const boom = null.x;"
    result = instrument(parse_script(code))
    line = result.program.split("\n")[0]
    column_in_program = line.index("null.x") + 1
    assert result.positions.to_user(1, column_in_program) == (1, code.index("null.x") + 1)
