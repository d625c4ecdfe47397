"""Bounded JSON codec for everything that crosses the boundary.

Text coming out of the engine is untrusted: it is size-checked before parsing, parsed by the C json
module (a RecursionError for absurd nesting is caught), and walked iteratively for depth and item caps.
"""

from __future__ import annotations

import json
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
