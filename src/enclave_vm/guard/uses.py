"""How the globals unlocked above STRICT may be used: only in the forms models write with them.

`new Error('x')`, `e instanceof TypeError`, `class NotFound extends Error`, `await Promise.all([...])`,
`new Map()`. Anything else (`Error.captureStackTrace`, `Promise.prototype`, `const P = Promise`, a bare
`Promise` passed around) is refused: the host's hooks and the engine's intrinsics stay out of reach by
name, and what a script does with these globals stays easy to review.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import tree_sitter

if TYPE_CHECKING:
    from .checker import Checker

Node = tree_sitter.Node

_ERRORS = frozenset({"Error", "TypeError", "RangeError"})
#: Globals that may be constructed with `new`.
_CONSTRUCTIBLE = _ERRORS | {"Map", "Set", "RegExp"}
#: Globals that may be called without `new`.
_CALLABLE = _ERRORS | {"RegExp"}
PROMISE_METHODS = frozenset({"all", "allSettled", "race", "any", "resolve", "reject"})

_FORMS = {
    "Promise": "Promise.all/allSettled/race/any/resolve/reject(...)",
    "Map": "new Map(...) or x instanceof Map",
    "Set": "new Set(...) or x instanceof Set",
    "RegExp": "new RegExp(pattern, flags), RegExp(...) or x instanceof RegExp",
}


def restricted_use(c: Checker, node: Node, name: str) -> str | None:
    """Why this occurrence of `name` is not one of its allowed forms, or None when it is."""
    if name == "Boolean":
        return None  # a plain conversion function: `.filter(Boolean)` passes it as a value
    parent = node.parent
    if parent is not None:
        kind = parent.type
        if kind == "new_expression" and _is(parent.child_by_field_name("constructor"), node):
            if name in _CONSTRUCTIBLE:
                return None
        elif kind == "call_expression" and _is(parent.child_by_field_name("function"), node):
            if name in _CALLABLE:
                return None
        elif kind == "binary_expression" and _is(parent.child_by_field_name("right"), node):
            operator = parent.child_by_field_name("operator")
            if operator is not None and operator.type == "instanceof":
                return None
        elif kind == "class_heritage":
            return None  # judged by the class rules
        elif kind == "member_expression" and name == "Promise" and _is(parent.child_by_field_name("object"), node):
            prop = parent.child_by_field_name("property")
            if prop is not None and c.name_of(prop) in PROMISE_METHODS:
                return None
    form = _FORMS.get(name, f"new {name}(message), throw new {name}(...), x instanceof {name}, extends {name}")
    return f"'{name}' may only be used as {form}; "


def _is(candidate: Node | None, node: Node) -> bool:
    return candidate is not None and candidate.id == node.id
