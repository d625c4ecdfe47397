"""What AgentScript allows at each security level: the global allow-lists and the guard's limits."""

from __future__ import annotations

import enum
from collections.abc import Iterable
from dataclasses import dataclass, field

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

#: Added from SECURE up: error classes, the Promise combinators over tool calls, collections.
MODEL_GLOBALS = frozenset({"Error", "TypeError", "RangeError", "Promise", "Map", "Set", "Boolean"})

#: Added from STANDARD up.
STANDARD_GLOBALS = frozenset({"RegExp"})

LEVEL_GLOBALS: dict[SecurityLevel, frozenset[str]] = {
    SecurityLevel.STRICT: BASE_GLOBALS,
    SecurityLevel.SECURE: BASE_GLOBALS | SECURE_GLOBALS | MODEL_GLOBALS,
    SecurityLevel.STANDARD: BASE_GLOBALS | SECURE_GLOBALS | MODEL_GLOBALS | STANDARD_GLOBALS,
    SecurityLevel.PERMISSIVE: BASE_GLOBALS | SECURE_GLOBALS | MODEL_GLOBALS | STANDARD_GLOBALS,
}

#: The global through which tools are called by name (`tools.users.list(args)`), when the names are known.
TOOLS_GLOBAL = "tools"


class Feature(enum.StrEnum):
    """Constructs a level accepts beyond the original AgentScript."""

    REGEX = "regex"
    """Regular expression literals (`RegExp` itself is a global of the same levels)."""
    FUNCTIONS = "functions"
    """`function` declarations and expressions, async ones too (no generators, no `this`, never `new`ed)."""
    WHILE = "while"
    """`while` and `do … while` loops (counted like `for`)."""
    CLASSES = "classes"
    """Classes with methods, a constructor, `this`, `new` and `extends` (below: fields only)."""


_STANDARD_FEATURES = frozenset(Feature)

LEVEL_FEATURES: dict[SecurityLevel, frozenset[Feature]] = {
    SecurityLevel.STRICT: frozenset(),
    SecurityLevel.SECURE: frozenset(),
    SecurityLevel.STANDARD: _STANDARD_FEATURES,
    SecurityLevel.PERMISSIVE: _STANDARD_FEATURES,
}

#: Prefixes reserved for the runtime's own instrumentation hooks.
RESERVED_PREFIXES = ("__ag_", "__safe_")


@dataclass(frozen=True)
class GuardPolicy:
    level: SecurityLevel
    allowed_globals: frozenset[str]
    features: frozenset[Feature] = field(default_factory=frozenset)
    tool_names: frozenset[str] | None = None
    """The tools the host has, when it says (a `Toolset`, `Enclave(tool_names=...)`): then `tools.a.b(...)`
    works and a literal tool name nobody has is an error. None: any name may be called."""
    max_code_bytes: int = 100 * 1024
    max_line_length: int = 10_000
    max_nesting: int = 50
    max_array_length: int = 1_000_000
    """Largest literal n accepted in `Array(n)` / `new Array(n)` / `Array.from({ length: n })`."""
    max_repeat_count: int = 100_000
    """Largest literal n accepted in `.repeat(n)`, `.padStart(n)`, `.padEnd(n)`."""
    max_fill_length: int = 100_000
    """Largest literal n accepted in `Array(n).fill(…)`."""


def policy_for(
    level: SecurityLevel, custom_globals: Iterable[str] = (), tool_names: Iterable[str] | None = None
) -> GuardPolicy:
    """The policy of `level`; `custom_globals` are the names of the script's `globals` option, `tool_names`
    the tools the host has (None when it does not say).

    A custom global never re-enables a forbidden name (`eval`, `Proxy`, ...) or a reserved prefix:
    the name rules run before the allow-list is consulted, and only a level's own globals unlock a name.
    """
    allowed = LEVEL_GLOBALS[level] | frozenset(custom_globals)
    names = None if tool_names is None else frozenset(tool_names)
    if names is not None:
        allowed |= {TOOLS_GLOBAL}
    return GuardPolicy(level=level, allowed_globals=allowed, features=LEVEL_FEATURES[level], tool_names=names)
