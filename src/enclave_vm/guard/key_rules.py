"""Rules on property names and literal keys: `o.constructor`, `o['__proto__']`, `o['constr' + 'uctor']`,
`Object.defineProperty`, `const { create } = Object`.
"""

from __future__ import annotations

import re

from .checker import SUSPICIOUS_VALUES, Checker, Node, Registry
from .identifiers import key_problem, property_problems
from .language import FORBIDDEN_OBJECT_METHODS, FORBIDDEN_PROPERTIES, advice
from .names import decode_string_body
from .policy import Feature
from .statics import first_named, static_string

registry = Registry()

_QUOTES = re.compile(rb"['\"`]")
_SUSPICIOUS_BYTES = frozenset(name.encode() for name in SUSPICIOUS_VALUES)
_LONGEST_SUSPICIOUS = max(len(name) for name in SUSPICIOUS_VALUES)
# Expressions a literal's value flows through unchanged on its way to a property key.
_VALUE_CARRIERS = frozenset(
    {
        "parenthesized_expression",
        "sequence_expression",
        "ternary_expression",
        "binary_expression",
        "assignment_expression",
        "augmented_assignment_expression",
    }
)
_FOLDABLE_KEYS = frozenset({"binary_expression", "parenthesized_expression", "template_string"})


@registry.on("property_identifier", literal=True)
def _property(c: Checker, node: Node) -> None:
    name, problems = property_problems(c.raw(node))
    if problems and not _is_class_constructor(c, node):
        c.report_problems(problems, node)
    if name in FORBIDDEN_OBJECT_METHODS:
        check_object_method(c, node.parent, name, node)


@registry.on("statement_identifier", "private_property_identifier", literal=True)
def _label(c: Checker, node: Node) -> None:
    raw = c.raw(node)
    if not raw.isascii():
        problems = property_problems(raw)[1]
        c.report_problems(tuple(p for p in problems if p[0] != "forbidden-property"), node)


def _is_class_constructor(c: Checker, node: Node) -> bool:
    """The name of a class's `constructor` method, written plainly, at a level with full classes."""
    method = node.parent
    return (
        method is not None
        and method.type == "method_definition"
        and method.parent is not None
        and method.parent.type == "class_body"
        and Feature.CLASSES in c.policy.features
        and c.raw(node) == b"constructor"
        and method.child(0) is not None
        and method.child(0).id == node.id  # no `static`, `async`, `get`, `*` before it
    )


def check_object_method(c: Checker, member: Node | None, name: str, at: Node) -> None:
    if (
        member is not None
        and member.type in ("member_expression", "subscript_expression")
        and c.identifier_name(member.child_by_field_name("object")) == "Object"
    ):
        c.report("forbidden-method", f"Object.{name} is not allowed; " + advice("forbidden-method"), at)


# -- literal keys: `o['constructor']`, `{ '__proto__': x }`, `o[`prototype`]`, `o['constr' + 'uctor']`


@registry.on("string", literal=True)
def _string(c: Checker, node: Node) -> None:
    raw = c.raw(node)
    if b"\\" not in raw:
        if raw[1:-1] in _SUSPICIOUS_BYTES:
            _check_literal_key(c, node, raw[1:-1].decode())
        return
    value = static_string(node)
    if value is not None and value in SUSPICIOUS_VALUES:
        _check_literal_key(c, node, value)


@registry.on("template_string", literal=True)
def _template(c: Checker, node: Node) -> None:
    raw = c.raw(node)
    if b"${" in raw:
        return  # folded by the key handlers when used as a key
    body = raw[1:-1]
    if b"\\" in body:
        value = decode_string_body(body.decode("utf-8", "replace"))
    elif len(body) <= _LONGEST_SUSPICIOUS:
        value = body.decode("utf-8", "replace")
    else:
        return
    if value in SUSPICIOUS_VALUES:
        _check_literal_key(c, node, value)


def _key_parent(node: Node) -> tuple[Node | None, Node]:
    """The node whose key `node`'s value becomes, through parentheses and other value carriers."""
    child = node
    parent = node.parent
    while parent is not None and parent.type in _VALUE_CARRIERS:
        child, parent = parent, parent.parent
    if parent is None:
        return None, child
    kind = parent.type
    if kind == "computed_property_name":
        return parent, child
    if kind == "subscript_expression" and parent.child_by_field_name("index") == child:
        return parent, child
    if kind in ("pair", "pair_pattern") and parent.child_by_field_name("key") == child:
        return parent, child
    return None, child


def _check_literal_key(c: Checker, node: Node, value: str) -> None:
    key_of, _ = _key_parent(node)
    if value in FORBIDDEN_PROPERTIES:
        if key_of is not None:
            c.report(*key_problem(value, "a literal key"), node)
        else:
            message = f"String '{value}' spells a forbidden property name; " + advice("suspicious-string")
            c.report("suspicious-string", message, node, severity="warning")
    elif key_of is not None and key_of.type == "subscript_expression":
        check_object_method(c, key_of, value, node)


def _check_folded_key(c: Checker, key: Node, owner: Node) -> None:
    kind = key.type
    if kind == "identifier":
        c.index_names.append((c.name_of(key), key))
        return
    if kind not in _FOLDABLE_KEYS or (kind == "template_string" and b"${" not in c.raw(key)):
        return  # plain literals are checked by their own handlers
    value = static_string(key)
    if value is None:
        return
    if value in FORBIDDEN_PROPERTIES:
        c.report(*key_problem(value, "a computed key"), key)
    elif owner.type == "subscript_expression" and value in FORBIDDEN_OBJECT_METHODS:
        check_object_method(c, owner, value, key)


@registry.on("subscript_expression")
def _subscript(c: Checker, node: Node) -> None:
    index = node.child_by_field_name("index")
    if index is not None:
        _check_folded_key(c, index, node)


@registry.on("computed_property_name")
def _computed_key(c: Checker, node: Node) -> None:
    key = first_named(node)
    if key is not None:
        _check_folded_key(c, key, node)


def check_destructured_object(c: Checker, pattern: Node, value: Node) -> None:
    """`const { defineProperty } = Object` reaches the forbidden methods without writing `Object.`."""
    if c.identifier_name(value) != "Object":
        return
    for child in pattern.named_children:
        key = child.child_by_field_name("key") if child.type == "pair_pattern" else child
        if key is None:
            continue
        if key.type == "object_assignment_pattern":
            key = key.child_by_field_name("left") or key
        name = static_string(key) if key.type == "string" else c.name_of(key)
        if name in FORBIDDEN_OBJECT_METHODS:
            c.report("forbidden-method", f"Object.{name} is not allowed; " + advice("forbidden-method"), key)


def note_forbidden_value(c: Checker, target: Node, value: Node) -> None:
    """Remember `const k = 'constructor'` (or `'constr' + 'uctor'`) so that `o[k]` is caught."""
    kind = value.type
    if kind in ("string", "template_string") or (kind == "binary_expression" and _QUOTES.search(c.raw(value))):
        text = static_string(value)
        if text is not None and text in FORBIDDEN_PROPERTIES:
            c.tainted[c.name_of(target)] = text
