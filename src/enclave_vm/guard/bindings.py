"""Names a script declares: the variables, parameters and catch bindings of every scope, merged.

Scopes are deliberately flattened: a name declared anywhere counts as declared everywhere. That can
only hide an `unknown-global` issue (the runtime then throws a ReferenceError), never invent one.
"""

from __future__ import annotations

from collections.abc import Callable

import tree_sitter

Node = tree_sitter.Node

_CONTAINERS = frozenset({"object_pattern", "array_pattern", "formal_parameters"})
_DEFAULTED = frozenset({"assignment_pattern", "object_assignment_pattern"})


def bound_names(target: Node, name_of: Callable[[Node], str]) -> list[str]:
    """The names a binding target introduces: an identifier, or every identifier inside a pattern."""
    names: list[str] = []
    stack = [target]
    while stack:
        node = stack.pop()
        kind = node.type
        if kind in ("identifier", "shorthand_property_identifier_pattern"):
            names.append(name_of(node))
        elif kind in _CONTAINERS:
            stack.extend(node.named_children)
        elif kind == "pair_pattern":
            value = node.child_by_field_name("value")
            if value is not None:
                stack.append(value)
        elif kind in _DEFAULTED:
            left = node.child_by_field_name("left")
            if left is not None:
                stack.append(left)
        elif kind == "rest_pattern":
            stack.extend(node.named_children)
    return names


def parameters_of(node: Node) -> Node | None:
    """The parameter list (or the single bare parameter) of an arrow or function."""
    return node.child_by_field_name("parameters") or node.child_by_field_name("parameter")
