"""Shared checks for the guard tests."""

from __future__ import annotations

import quickjs


def compiles(program: str) -> bool:
    """True when QuickJS compiles `program` (evaluating it only creates the script's function)."""
    try:
        quickjs.Context().eval(program)
    except Exception:
        return False
    return True
