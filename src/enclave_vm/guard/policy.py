"""What AgentScript allows at each security level: the global allow-lists and the guard's limits."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from ..config import SecurityLevel

#: Globals every level allows.
BASE_GLOBALS = frozenset(
    {
        "callTool",
        "Math",
        "JSON",
        "Array",
        "Object",
        "String",
        "Number",
        "Date",
        "undefined",
        "NaN",
        "Infinity",
        "console",
        "state",
    }
)

#: Globals a script may change: its `state` (a per-run copy the host reads back).
MUTABLE_GLOBALS = frozenset({"state"})

#: Added from SECURE up.
SECURE_GLOBALS = frozenset(
    {
        "parseInt",
        "parseFloat",
        "isNaN",
        "isFinite",
        "encodeURI",
        "encodeURIComponent",
        "decodeURI",
        "decodeURIComponent",
    }
)

LEVEL_GLOBALS: dict[SecurityLevel, frozenset[str]] = {
    SecurityLevel.STRICT: BASE_GLOBALS,
    SecurityLevel.SECURE: BASE_GLOBALS | SECURE_GLOBALS,
    SecurityLevel.STANDARD: BASE_GLOBALS | SECURE_GLOBALS,
    SecurityLevel.PERMISSIVE: BASE_GLOBALS | SECURE_GLOBALS,
}

#: Prefixes reserved for the runtime's own instrumentation hooks.
RESERVED_PREFIXES = ("__ag_", "__safe_")


@dataclass(frozen=True)
class GuardPolicy:
    level: SecurityLevel
    allowed_globals: frozenset[str]
    max_code_bytes: int = 100 * 1024
    max_line_length: int = 10_000
    max_nesting: int = 50
    max_array_length: int = 1_000_000
    """Largest literal n accepted in `Array(n)` / `new Array(n)` / `Array.from({ length: n })`."""
    max_repeat_count: int = 100_000
    """Largest literal n accepted in `.repeat(n)`, `.padStart(n)`, `.padEnd(n)`."""
    max_fill_length: int = 100_000
    """Largest literal n accepted in `Array(n).fill(…)`."""


def policy_for(level: SecurityLevel, custom_globals: Iterable[str] = ()) -> GuardPolicy:
    """The policy of `level`; `custom_globals` are the names of the script's `globals` option.

    A custom global never re-enables a forbidden name (`eval`, `Proxy`, ...) or a reserved prefix:
    the name rules run before the allow-list is consulted.
    """
    return GuardPolicy(level=level, allowed_globals=LEVEL_GLOBALS[level] | frozenset(custom_globals))
