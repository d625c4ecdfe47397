"""Static evaluation of the few expressions whose value the rules must know before anything runs.

`o['constr' + 'uctor']`, `Array(2 ** 31)` and `for (; !0;)` hide their meaning in constant
expressions; these helpers fold literals (and only literals) to a value, or give up with None.
Evaluation is bounded so hostile input cannot make it recurse deeply or run long.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import tree_sitter

from .names import decode_identifier, decode_string_body, decode_string_literal, number_literal_value

Node = tree_sitter.Node

Resolve = Callable[[Node], "Node | float | None"]
"""What an identifier (or `a.b`) stands for: the expression bound to it, or a known number. The guard folds
literals only (no resolver); the scorer follows `const` bindings. The depth bound covers those chains too."""

_MAX_DEPTH = 32
_MAX_STRING = 4096
"""Folded strings longer than this are abandoned: no forbidden name is that long."""


def node_text(node: Node) -> str:
    raw = node.text
    return raw.decode("utf-8", "replace") if raw is not None else ""


def first_named(node: Node) -> Node | None:
    """The first named child, or None (tree-sitter raises IndexError instead)."""
    return node.named_child(0) if node.named_child_count else None


def unwrap(node: Node) -> Node:
    """The expression inside any number of parentheses."""
    while node.type == "parenthesized_expression":
        inner = first_named(node)
        if inner is None:
            return node
        node = inner
    return node


def _js_number_string(value: float) -> str:
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "Infinity" if value > 0 else "-Infinity"
    if value == int(value) and abs(value) < 1e21:
        return str(int(value))
    return repr(value)


def _operator(node: Node) -> str:
    operator = node.child_by_field_name("operator")
    return operator.type if operator is not None else ""


def static_string(node: Node, depth: int = 0, resolve: Resolve | None = None) -> str | None:
    """The string value of a literal, a template of literals, or a `+` concatenation of them."""
    if depth > _MAX_DEPTH:
        return None
    kind = node.type
    if kind == "string":
        return decode_string_literal(node_text(node))
    if kind == "template_string":
        return _static_template(node, depth, resolve)
    if kind == "parenthesized_expression":
        inner = first_named(node)
        return static_string(inner, depth + 1, resolve) if inner is not None else None
    if kind == "binary_expression" and _operator(node) == "+":
        return _static_concat(node, depth, resolve)
    if resolve is not None and kind == "identifier":
        bound = resolve(node)
        return static_string(bound, depth + 1, resolve) if isinstance(bound, Node) else None
    return None


def _static_operand(node: Node, depth: int, resolve: Resolve | None) -> str | None:
    text = static_string(node, depth, resolve)
    if text is None:
        number = static_number(node, depth, resolve)
        if number is not None:
            text = _js_number_string(number)
    return text


def _static_concat(node: Node, depth: int, resolve: Resolve | None) -> str | None:
    # Walk the left spine iteratively: `'a' + 'b' + 'c' + …` nests to the left without brackets.
    rights: list[Node] = []
    current = node
    while current.type == "binary_expression" and _operator(current) == "+":
        right = current.child_by_field_name("right")
        left = current.child_by_field_name("left")
        if right is None or left is None or len(rights) > _MAX_STRING:
            return None
        rights.append(right)
        current = left
    text = _static_operand(current, depth + 1, resolve)
    if text is None:
        return None
    for right in reversed(rights):
        piece = _static_operand(right, depth + 1, resolve)
        if piece is None:
            return None
        text += piece
        if len(text) > _MAX_STRING:
            return None
    return text


def _static_template(node: Node, depth: int, resolve: Resolve | None) -> str | None:
    pieces: list[str] = []
    raw: list[str] = []
    for child in node.children:
        kind = child.type
        if kind in ("string_fragment", "escape_sequence"):
            raw.append(node_text(child))
        elif kind == "template_substitution":
            inner = first_named(child)
            value = _static_operand(inner, depth + 1, resolve) if inner is not None else None
            if value is None:
                return None
            pieces.append(decode_string_body("".join(raw)))
            pieces.append(value)
            raw = []
        elif kind != "`":
            return None
    pieces.append(decode_string_body("".join(raw)))
    return "".join(pieces)


def template_text(node: Node, placeholder: str = "\ufffc") -> str:
    """A template's text parts, decoded, with `placeholder` for each substitution: what it says whatever
    the substitutions hold."""
    pieces: list[str] = []
    raw: list[str] = []
    for child in node.children:
        kind = child.type
        if kind in ("string_fragment", "escape_sequence"):
            raw.append(node_text(child))
        elif kind == "template_substitution":
            pieces.append(decode_string_body("".join(raw)))
            pieces.append(placeholder)
            raw = []
    pieces.append(decode_string_body("".join(raw)))
    return "".join(pieces)


def template_has_substitution(node: Node) -> bool:
    return any(child.type == "template_substitution" for child in node.children)


_ARITHMETIC = {"+", "-", "*", "/", "%", "**"}


def static_number(node: Node, depth: int = 0, resolve: Resolve | None = None) -> float | None:
    """The value of a numeric literal or of arithmetic on numeric literals."""
    if depth > _MAX_DEPTH:
        return None
    kind = node.type
    if kind == "number":
        return number_literal_value(node_text(node))
    if kind == "parenthesized_expression":
        inner = first_named(node)
        return static_number(inner, depth + 1, resolve) if inner is not None else None
    if kind == "unary_expression":
        argument = node.child_by_field_name("argument")
        operator = _operator(node)
        if argument is None or operator not in ("-", "+"):
            return None
        value = static_number(argument, depth + 1, resolve)
        return None if value is None else (-value if operator == "-" else value)
    if resolve is not None and kind in ("identifier", "member_expression"):
        bound = resolve(node)
        return bound if not isinstance(bound, Node) else static_number(bound, depth + 1, resolve)
    if kind == "binary_expression":
        operator = _operator(node)
        if operator not in _ARITHMETIC:
            return None
        left = node.child_by_field_name("left")
        right = node.child_by_field_name("right")
        if left is None or right is None:
            return None
        a = static_number(left, depth + 1, resolve)
        b = static_number(right, depth + 1, resolve) if a is not None else None
        return None if a is None or b is None else arithmetic(operator, a, b)
    return None


def arithmetic(operator: str, a: float, b: float) -> float | None:
    """`a operator b` for the operators of `static_number`; None where JavaScript gives NaN or a division
    by zero; infinity where a float overflows."""
    try:
        if operator == "+":
            return a + b
        if operator == "-":
            return a - b
        if operator == "*":
            return a * b
        if operator == "/":
            return a / b if b else None
        if operator == "%":
            return math.fmod(a, b) if b else None
        return math.pow(a, b)
    except OverflowError:
        return math.inf
    except ValueError:  # zero to a negative power is infinite; a negative base to a fractional one is NaN
        return math.inf if a == 0 else None


_ALWAYS_TRUTHY = {
    "true",
    "object",
    "array",
    "arrow_function",
    "function_expression",
    "generator_function",
    "class",
    "regex",
    "new_expression",
}
_ALWAYS_FALSY = {"false", "null", "undefined"}


def static_truthiness(node: Node, depth: int = 0) -> bool | None:
    """Whether a loop test is always truthy (True), always falsy (False), or depends on run time (None)."""
    if depth > _MAX_DEPTH:
        return None
    kind = node.type
    if kind in _ALWAYS_TRUTHY:
        return True
    if kind in _ALWAYS_FALSY:
        return False
    if kind == "identifier":
        name = decode_identifier(node_text(node))
        return True if name == "Infinity" else False if name in ("NaN", "undefined") else None
    if kind == "number":
        value = static_number(node, depth + 1)
        return None if value is None else bool(value)
    if kind in ("string", "template_string"):
        text = static_string(node, depth + 1)
        return None if text is None else bool(text)
    if kind == "parenthesized_expression":
        inner = first_named(node)
        return static_truthiness(inner, depth + 1) if inner is not None else None
    if kind == "sequence_expression":
        last = node.named_child(node.named_child_count - 1) if node.named_child_count else None
        return static_truthiness(last, depth + 1) if last is not None else None
    if kind == "unary_expression":
        return _unary_truthiness(node, depth)
    if kind == "binary_expression":
        return _binary_truthiness(node, depth)
    if kind == "assignment_expression":  # `for (; x = 1;)` tests the assigned value
        right = node.child_by_field_name("right")
        return static_truthiness(right, depth + 1) if right is not None else None
    return None


def _unary_truthiness(node: Node, depth: int) -> bool | None:
    operator = _operator(node)
    if operator == "typeof":
        return True  # always a non-empty string
    if operator == "void":
        return False
    argument = node.child_by_field_name("argument")
    if argument is None:
        return None
    if operator == "!":
        inner = static_truthiness(argument, depth + 1)
        return None if inner is None else not inner
    value = static_number(node, depth + 1)
    return None if value is None else bool(value)


def _binary_truthiness(node: Node, depth: int) -> bool | None:
    operator = _operator(node)
    left = node.child_by_field_name("left")
    right = node.child_by_field_name("right")
    if left is None or right is None:
        return None
    if operator in ("&&", "||", "??"):
        a = static_truthiness(left, depth + 1)
        if operator == "??":
            # only literals reach here; a literal is nullish exactly when it is null/undefined
            nullish = unwrap(left).type in ("null", "undefined")
            return static_truthiness(right, depth + 1) if nullish else a
        b = static_truthiness(right, depth + 1)
        if operator == "&&":  # falsy if either side always is; truthy only if both always are
            return False if False in (a, b) else (True if a is True and b is True else None)
        return True if True in (a, b) else (False if a is False and b is False else None)
    value = static_number(node, depth + 1)
    if value is not None:
        return bool(value)
    text = static_string(node, depth + 1)
    return None if text is None else bool(text)
