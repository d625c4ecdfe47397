"""Tool names the host has: the `tools.a.b(...)` namespace they make, and did-you-mean suggestions.

The prelude builds the script's `tools` object from the same sorted list with the same rule, so the guard
accepts exactly the calls that exist at run time.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterable, Mapping
from functools import lru_cache
from typing import Protocol, runtime_checkable

_SEGMENT = re.compile(r"^[A-Za-z_$][A-Za-z0-9_$]{0,63}$")
_SEPARATORS = re.compile(r"[:.]")
MAX_SEGMENTS = 8


def namespace_paths(names: Iterable[str]) -> dict[tuple[str, ...], str]:
    """`("users", "list") → "users:list"` for every tool reachable as `tools.users.list`.

    A name is reachable when its segments (split at `:` and `.`) are identifiers. Where two names claim one
    spot (`a` and `a:b`, `a.b` and `a:b`), the first in sorted order keeps it: the other is for callTool."""
    paths: dict[tuple[str, ...], str] = {}
    namespaces: set[tuple[str, ...]] = set()
    for name in sorted(set(names)):
        parts = tuple(_SEPARATORS.split(name))
        if len(parts) > MAX_SEGMENTS or not all(_SEGMENT.match(part) for part in parts):
            continue
        prefixes = [parts[:i] for i in range(1, len(parts))]
        if any(prefix in paths for prefix in prefixes) or parts in paths or parts in namespaces:
            continue
        namespaces.update(prefixes)
        paths[parts] = name
    return paths


@runtime_checkable
class KnowsToolNames(Protocol):
    """A tool handler that can say which tools it has (a `Toolset`): then `tools.a.b(...)` works."""

    def tool_names(self) -> list[str]: ...


@lru_cache(maxsize=64)
def cached_paths(names: frozenset[str]) -> dict[tuple[str, ...], str]:
    """`namespace_paths` of a policy's names, computed once per set (the result is not to be changed)."""
    return namespace_paths(names)


def suggestion(wanted: str, candidates: Iterable[str]) -> str:
    """` (did you mean 'x'?)`, or a short list of what exists when nothing is close."""
    names = sorted(set(candidates))
    close = difflib.get_close_matches(wanted, names, n=1, cutoff=0.6)
    if close:
        return f" (did you mean '{close[0]}'?)"
    if not names:
        return " (the host has no tools)"
    listed = ", ".join(f"'{name}'" for name in names[:8])
    return f" (the host's tools: {listed}{', …' if len(names) > 8 else ''})"


def unknown_path_message(path: tuple[str, ...], paths: Mapping[tuple[str, ...], str]) -> str:
    dotted = "tools." + ".".join(path)
    candidates = {"tools." + ".".join(known): known for known in paths}
    hint = suggestion(dotted, candidates)
    return f"'{dotted}' is not a tool of this host{hint}; "
