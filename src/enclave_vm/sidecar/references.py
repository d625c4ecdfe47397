"""The reference a script receives instead of a large tool result, and how references are found in data.

A reference is the JSON object `{"$sidecarRef": "<32 hex digits>", "size": <bytes>}`. The key
`$sidecarRef` is reserved: any object carrying it is a reference claim and must be exactly this shape,
so a reference can never be mistaken for data, nor data for a reference.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

REFERENCE_KEY = "$sidecarRef"
SIZE_KEY = "size"
_ID = re.compile(r"^[0-9a-f]{32}$")


class SidecarError(Exception):
    """A reference could not be created or resolved; the tool call (or the run's value) fails with this message."""

    def __init__(self, message: str, *, reference: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.reference = reference


@dataclass(frozen=True)
class Reference:
    id: str
    size: int

    def to_json(self) -> dict[str, Any]:
        return {REFERENCE_KEY: self.id, SIZE_KEY: self.size}


def new_reference_id() -> str:
    """128 random bits from the OS CSPRNG: unguessable, so a script cannot forge another run's reference."""
    return secrets.token_hex(16)


def is_sidecar_reference(value: object) -> bool:
    """True for a well-formed reference object (as found in a result kept with `resolve_value=False`)."""
    if not isinstance(value, dict) or REFERENCE_KEY not in value:
        return False
    try:
        parse_reference(value)
    except SidecarError:
        return False
    return True


def parse_reference(value: dict[str, Any]) -> Reference:
    """The reference an object carrying REFERENCE_KEY claims to be; a malformed claim is an error."""
    ref_id = value.get(REFERENCE_KEY)
    size = value.get(SIZE_KEY)
    shown = ref_id if isinstance(ref_id, str) and len(ref_id) <= 64 else "?"
    if (
        set(value) != {REFERENCE_KEY, SIZE_KEY}
        or not isinstance(ref_id, str)
        or not _ID.match(ref_id)
        or isinstance(size, bool)
        or not isinstance(size, int)
        or size < 0
    ):
        raise SidecarError(
            f"malformed sidecar reference {shown!r} (expected exactly "
            f'{{"{REFERENCE_KEY}": <32 hex digits>, "{SIZE_KEY}": <bytes>}})',
            reference=shown,
        )
    return Reference(ref_id, size)


def replace_references(value: Any, resolve: Callable[[Reference], Any]) -> Any:
    """Replace every reference in freshly decoded JSON data, in place; returns the (possibly new) root.
    Stored values put in place are not searched again: they arrive exactly as the tool returned them."""
    if isinstance(value, dict):
        if REFERENCE_KEY in value:
            return resolve(parse_reference(value))
        for key, item in value.items():
            if isinstance(item, (dict, list)):
                value[key] = replace_references(item, resolve)
    elif isinstance(value, list):
        for index, item in enumerate(value):
            if isinstance(item, (dict, list)):
                value[index] = replace_references(item, resolve)
    return value
