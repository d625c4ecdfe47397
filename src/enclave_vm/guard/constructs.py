"""Rules for the constructs the levels above SECURE add: classes, `this`, functions and `while` loops.

Each construct is judged by the policy's features (`policy.Feature`); below them the original verdicts hold.
What stays out at every level, and why:
- generators (`function*`, `*method`): an iterator the host cannot count or bound like a loop;
- getters, setters, `static {}` blocks and `#private` members: code that runs on a property read, or state
  the rules cannot see by name;
- `extends` anything but a class of the script or an error class: a built-in's prototype is not data;
- `this` outside a class body: at the top level and in a `function` it is the global object or undefined.
"""

from __future__ import annotations

from .checker import Checker, Node
from .language import advice
from .policy import Feature
from .statics import first_named, node_text, static_truthiness

_FUNCTIONS = frozenset({"function_declaration", "function_expression"})
_GENERATORS = frozenset({"generator_function_declaration", "generator_function"})
_MEMBERS = frozenset({"method_definition", "field_definition"})
#: Error classes a user class may extend (when the level has them).
_EXTENDABLE_GLOBALS = frozenset({"Error", "TypeError", "RangeError"})
#: Tokens a class member may not be followed by without a `;`: JavaScript would read one member.
_CONTINUES = ("[", "(", "*", "`", "+", "-", "/", ".", "=", "<", ">", "?", "!", "%", "&", "|", "^")
#: Field names JavaScript takes as a modifier of the next member when no `;` ends the field.
_MODIFIER_NAMES = frozenset({b"static", b"get", b"set", b"async", b"accessor"})
_EXITS = frozenset({"break_statement", "return_statement", "throw_statement"})
_NESTED_SCOPES = frozenset({*_FUNCTIONS, *_GENERATORS, "arrow_function", "method_definition", "class_body"})


def this_is_allowed(c: Checker, node: Node) -> bool:
    """`this`/`super` inside a class body (methods, the constructor, field initialisers, arrows in them)."""
    if Feature.CLASSES not in c.policy.features:
        return False
    child, parent = node, node.parent
    while parent is not None:
        kind = parent.type
        if kind in _FUNCTIONS or kind in _GENERATORS or kind == "class_static_block":
            return False
        if kind in _MEMBERS and parent.parent is not None and parent.parent.type == "class_body":
            name = parent.child_by_field_name("name" if kind == "method_definition" else "property")
            if name is None or name.id != child.id:  # a computed member name is evaluated outside the class
                return True
        child, parent = parent, parent.parent
    return False


def this_message(c: Checker, node: Node) -> str:
    kind = node.type
    if Feature.CLASSES in c.policy.features:
        return f"'{kind}' is only allowed inside class bodies (methods, the constructor, fields); " + advice(
            "forbidden-identifier"
        )
    return f"'{kind}' is not allowed; " + advice("forbidden-identifier")


# -- functions


def check_function(c: Checker, node: Node, rule: str, what: str) -> None:
    """A `function` declaration or expression (`rule` names which)."""
    if node.type in _GENERATORS:
        c.report(rule, f"Generator {what} are not allowed; " + advice(rule), node)
    elif Feature.FUNCTIONS not in c.policy.features:
        c.report(rule, f"Function {what} are not allowed; " + advice(rule), node)
    elif _async_then_line_break(c, node):
        message = "'async' and 'function' must be on the same line (JavaScript reads 'async' alone there); "
        c.report("syntax-error", message + advice("syntax-error"), node)


def _async_then_line_break(c: Checker, node: Node) -> bool:
    first = node.child(0)
    second = node.child(1)
    return (
        first is not None
        and second is not None
        and first.type == "async"
        and b"\n" in c.source[first.end_byte : second.start_byte]
    )


# -- while loops


def check_while(c: Checker, node: Node) -> None:
    if Feature.WHILE not in c.policy.features:
        what = "while" if node.type == "while_statement" else "do … while"
        c.report("forbidden-loop", f"'{what}' loops are not allowed; " + advice("forbidden-loop"), node)
        return
    condition = node.child_by_field_name("condition")
    if condition is None or static_truthiness(condition) is not True:
        return
    body = node.child_by_field_name("body")
    if body is None or not _has_exit(body):
        message = f"The loop condition '{node_text(condition)}' is always true and the body never leaves the loop; "
        c.report("infinite-loop", message + "add a 'break', 'return' or 'throw', or " + advice("infinite-loop"), node)


def _has_exit(body: Node) -> bool:
    """Whether a loop body holds a `break`, `return` or `throw` of its own (not of a nested function)."""
    stack = [body]
    while stack:
        node = stack.pop()
        kind = node.type
        if kind in _EXITS:
            return True
        if kind not in _NESTED_SCOPES:
            stack.extend(node.named_children)
    return False


# -- classes


def check_class(c: Checker, node: Node) -> None:
    """A class declaration or expression: its heritage and each member."""
    name = node.child_by_field_name("name")
    c.declare(name)
    if name is not None:
        c.class_names.add(c.name_of(name))
    full = Feature.CLASSES in c.policy.features
    body = node.child_by_field_name("body")
    for child in node.named_children:
        if child.type == "class_heritage":
            _check_heritage(c, child, full)
    if body is None:
        return
    members = [child for child in body.children if child.type not in ("{", "}", "comment")]
    for index, member in enumerate(members):
        kind = member.type
        if kind == "class_static_block":
            c.report("no-class", "'static { }' blocks are not allowed in classes; " + advice("no-class"), member)
        elif kind == "method_definition":
            _check_method(c, member, full)
        elif kind == "field_definition":
            _check_field(c, member, members[index + 1] if index + 1 < len(members) else None)
        elif kind != ";":
            c.report(
                "no-class", f"'{node_text(member)[:30]}' is not supported in classes; " + advice("no-class"), member
            )


def _check_heritage(c: Checker, heritage: Node, full: bool) -> None:
    if not full:
        c.report("no-class", "'extends' is not available at this level; " + advice("no-class"), heritage)
        return
    parent = first_named(heritage)
    name = c.identifier_name(parent) if parent is not None else None
    if name is None:
        message = "A class may only extend a class of the script by name, or Error, TypeError, RangeError; "
        c.report("no-class", message + advice("no-class"), heritage)
    elif name not in _EXTENDABLE_GLOBALS or name not in c.allowed:
        c.class_parents.append((name, heritage))


def _private(member: Node) -> bool:
    return any(child.type == "private_property_identifier" for child in member.children)


def _check_method(c: Checker, member: Node, full: bool) -> None:
    kinds = {child.type for child in member.children}
    if not full:
        c.report("no-class", "Class methods are not available at this level; " + advice("no-class"), member)
    elif "get" in kinds or "set" in kinds:
        c.report("no-class", "Getters and setters are not allowed in classes; " + advice("no-class"), member)
    elif "*" in kinds:
        c.report("no-class", "Generator methods are not allowed; " + advice("no-class"), member)
    elif _private(member):
        c.report("no-class", "'#private' members are not allowed; " + advice("no-class"), member)
    else:
        _check_modifier_line_breaks(c, member)


def _check_field(c: Checker, member: Node, following: Node | None) -> None:
    if _private(member):
        c.report("no-class", "'#private' members are not allowed; " + advice("no-class"), member)
        return
    _check_modifier_line_breaks(c, member)
    if following is None or following.type == ";":
        return
    name = member.child_by_field_name("property")
    if member.named_child_count == 1 and name is not None and c.raw(name) in _MODIFIER_NAMES:
        # `get` then a line break then `m() {}`: tree-sitter reads a field and a method, JavaScript a getter
        message = f"A field named '{c.raw(name).decode()}' needs a ';' after it (JavaScript reads it as a modifier); "
        c.report("syntax-error", message + advice("syntax-error"), member)
        return
    # No `;`: JavaScript joins the next member to this one where it can continue it (`x = 1` then `[k]() {}`).
    if c.source[following.start_byte : following.start_byte + 1].decode("latin-1") in _CONTINUES:
        message = "End the class field with ';' before a member that starts with this token; "
        c.report("syntax-error", message + advice("syntax-error"), member)


def _check_modifier_line_breaks(c: Checker, member: Node) -> None:
    """`static`, `async`, `get`, `set` then a line break: the two readers may take the keyword for a field."""
    name_field = "name" if member.type == "method_definition" else "property"
    name = member.child_by_field_name(name_field)
    if name is not None and b"\n" in c.source[member.start_byte : name.start_byte]:
        message = "Keep a class member's modifiers on the line of its name; "
        c.report("syntax-error", message + advice("syntax-error"), member)
