"""Bounded JSON codec for everything that crosses the boundary.

Text coming out of the engine is untrusted: it is size-checked before parsing, parsed by the C json
module (a RecursionError for absurd nesting is caught), and walked iteratively for depth and item caps.
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass
from typing import Any

_ENCODER = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"), allow_nan=False)
_LONE_SURROGATE = re.compile("[\ud800-\udfff]")


def escape_surrogates(text: str) -> str:
    """JSON text with every lone surrogate written as its `\\uXXXX` escape.

    A Python string may hold lone surrogates (a tool returned one); the encoder writes them raw, which
    no engine reads back as the same string (not UTF-8). Outside string literals JSON text has no such
    character, so escaping them in place keeps the text's meaning: every engine parses the same string.
    """
    if _LONE_SURROGATE.search(text) is None:
        return text
    return _LONE_SURROGATE.sub(lambda m: f"\\u{ord(m.group()):04x}", text)


class CodecError(ValueError):
    """A value could not cross the boundary. `too_large` separates size/depth caps from bad data."""

    def __init__(self, message: str, *, too_large: bool = False) -> None:
        super().__init__(message)
        self.too_large = too_large


@dataclass(frozen=True)
class ValueLimits:
    max_bytes: int
    max_depth: int
    max_items: int = 1_000_000


def _check_shape(value: Any, limits: ValueLimits, what: str) -> None:
    stack: list[tuple[Any, int]] = [(value, 0)]
    items = 0
    while stack:
        item, depth = stack.pop()
        if isinstance(item, dict):
            children: Any = item.values()
        elif isinstance(item, list):
            children = item
        else:
            continue
        if depth >= limits.max_depth:
            raise CodecError(f"{what} is nested deeper than {limits.max_depth} levels", too_large=True)
        items += len(item)
        if items > limits.max_items:
            raise CodecError(f"{what} has more than {limits.max_items} items", too_large=True)
        for child in children:
            if isinstance(child, (dict, list)):
                stack.append((child, depth + 1))


def decode(text: str, limits: ValueLimits, what: str = "value") -> Any:
    """Parse untrusted JSON text within `limits`."""
    if len(text) > limits.max_bytes or len(text.encode("utf-8", "surrogatepass")) > limits.max_bytes:
        raise CodecError(f"{what} exceeds {limits.max_bytes} bytes", too_large=True)
    try:
        value = json.loads(text)
    except RecursionError:
        raise CodecError(f"{what} is nested too deeply", too_large=True) from None
    except ValueError as exc:
        raise CodecError(f"{what} is not valid JSON: {exc}") from None
    _check_shape(value, limits, what)
    return value


def encode(value: Any, limits: ValueLimits, what: str = "value") -> str:
    """Encode host data as JSON for the engine, within `limits`; non-JSON data is a CodecError."""
    try:
        text = _ENCODER.encode(value)  # refuses cycles before the shape walk could loop on them
    except RecursionError:
        raise CodecError(f"{what} is nested too deeply", too_large=True) from None
    except (TypeError, ValueError) as exc:
        raise CodecError(f"{what} is not JSON data ({exc})") from None
    text = escape_surrogates(text)
    if len(text) > limits.max_bytes or len(text.encode("utf-8", "surrogatepass")) > limits.max_bytes:
        raise CodecError(f"{what} exceeds {limits.max_bytes} bytes", too_large=True)
    _check_shape(value, limits, what)
    return text


def kind_of(value: Any) -> str:
    """`a set`, `an object`: a value's type with its article, for messages."""
    name = type(value).__name__
    return f"{'an' if name[:1].lower() in 'aeiou' else 'a'} {name}"


def non_json_part(value: Any, root: str = "result") -> str:
    """What in `value` the encoder refused and where (`a set at result.tags`, `nan at result[0]`), for
    the message a script gets; found by a walk that takes what the encoder takes."""
    active: set[int] = set()

    def walk(item: Any, path: str, depth: int) -> str | None:
        if item is None or isinstance(item, (bool, int, str)):
            return None
        if isinstance(item, float):
            return None if math.isfinite(item) else f"{item!r} at {path}"
        if not isinstance(item, (dict, list, tuple)):
            return f"{kind_of(item)} at {path}"
        if depth > 256:
            return None
        if id(item) in active:
            return f"a reference cycle at {path}"
        active.add(id(item))
        try:
            if isinstance(item, dict):
                for key, sub in item.items():
                    if key is not None and not isinstance(key, (str, int, float, bool)):
                        return f"an object with the key {kind_of(key)} at {path}"
                    found = walk(sub, f"{path}.{str(key)[:64]}", depth + 1)  # a key may be long
                    if found is not None:
                        return found
            else:
                for index, sub in enumerate(item):
                    found = walk(sub, f"{path}[{index}]", depth + 1)
                    if found is not None:
                        return found
        finally:
            active.discard(id(item))
        return None

    return walk(value, root, 0) or "a value"
