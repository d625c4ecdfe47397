"""Rules on calls: static tool names, JSON callbacks, and literal sizes that would exhaust memory."""

from __future__ import annotations

from collections.abc import Callable

from .checker import Checker, Node, Registry, arguments_of, count_text, member_parts
from .language import advice
from .policy import TOOLS_GLOBAL
from .statics import first_named, node_text, static_number, static_string, unwrap
from .tool_names import suggestion, unknown_path_message

registry = Registry()


@registry.on("call_expression")
def _call(c: Checker, node: Node) -> None:
    function = node.child_by_field_name("function")
    if function is None:
        return
    kind = function.type
    if kind == "identifier":
        name = c.name_of(function)
        if name == "callTool":
            c.tool_callees.add(function.start_byte)
            _check_tool_call(c, node, node.child_by_field_name("arguments"))
        elif name == "Array":
            _check_array_length(c, node)
    elif kind == "member_expression" and c.tool_paths is not None and _check_namespace_call(c, function):
        return
    elif c.methods_present and kind in ("member_expression", "subscript_expression"):
        obj, prop = member_parts(c, function)
        if prop in c.methods_present and obj is not None:
            METHOD_CHECKS[prop](c, node, obj, prop)


@registry.on("new_expression")
def _new(c: Checker, node: Node) -> None:
    if c.identifier_name(node.child_by_field_name("constructor")) == "Array":
        _check_array_length(c, node)


def _check_tool_call(c: Checker, call: Node, args: Node | None) -> None:
    if args is not None and args.type == "template_string":
        message = "callTool cannot be used as a template tag; " + advice("dynamic-tool-name")
        c.report("dynamic-tool-name", message, call)
        return
    name = first_named(args) if args is not None else None
    if name is not None and name.type == "comment":
        arguments = arguments_of(args)
        name = arguments[0] if arguments else None
    if name is None:
        c.report("dynamic-tool-name", "callTool needs a tool name; " + advice("dynamic-tool-name"), call)
        return
    kind = name.type
    if kind == "string" or (kind == "template_string" and b"${" not in c.raw(name)):
        known = c.policy.tool_names
        if known is not None:
            literal = static_string(name)
            if literal is not None and literal not in known:
                message = f"Tool '{literal}' is not a tool of this host{suggestion(literal, known)}; "
                c.report("unknown-tool", message + advice("unknown-tool"), name)
        return
    message = "The tool name given to callTool must be a string literal; " + advice("dynamic-tool-name")
    c.report("dynamic-tool-name", message, name)


def _check_namespace_call(c: Checker, function: Node) -> bool:
    """`tools.a.b(...)`: a static path to a tool of the host. True when `function` is rooted at `tools`."""
    path: list[str] = []
    node: Node | None = function
    while node is not None and node.type == "member_expression":
        prop = node.child_by_field_name("property")
        if prop is None or prop.type != "property_identifier":
            return False
        path.append(c.name_of(prop))
        node = node.child_by_field_name("object")
    if node is None or node.type != "identifier" or c.name_of(node) != TOOLS_GLOBAL:
        return False
    c.tool_callees.add(node.start_byte)
    paths = c.tool_paths or {}
    key = tuple(reversed(path))
    if key not in paths:
        c.report("unknown-tool", unknown_path_message(key, paths) + advice("unknown-tool"), function)
    return True


def _literal_length(c: Checker, call: Node) -> float | None:
    """n of `Array(n)` / `new Array(n)` when n is a literal (one argument only: more are elements)."""
    arguments = arguments_of(call.child_by_field_name("arguments"))
    return static_number(arguments[0]) if len(arguments) == 1 else None


def _check_array_length(c: Checker, call: Node) -> None:
    _check_length(c, _literal_length(c, call), call)


def _check_length(c: Checker, length: float | None, call: Node) -> None:
    limit = c.policy.max_array_length
    if length is not None and length > limit:
        message = f"Array of length {count_text(length)} is over the limit of {limit}; " + advice("max-array-size")
        c.report("max-array-size", message, call)


def _check_json(c: Checker, call: Node, obj: Node, method: str) -> None:
    if c.identifier_name(obj) != "JSON":
        return
    arguments = arguments_of(call.child_by_field_name("arguments"))
    if any(arg.type == "spread_element" for arg in arguments):
        message = f"Spread arguments to JSON.{method} are not allowed; " + advice("json-callback")
        c.report("json-callback", message, call)
    elif method == "parse" and len(arguments) > 1:
        message = "JSON.parse takes no reviver; " + advice("json-callback")
        c.report("json-callback", message, arguments[1])
    elif method == "stringify" and len(arguments) > 1:
        second = unwrap(arguments[1])
        if second.type not in ("null", "undefined", "array"):
            message = "The second argument of JSON.stringify must be null or an array of keys; "
            c.report("json-callback", message + advice("json-callback"), arguments[1])


def _check_repeat(c: Checker, call: Node, obj: Node, method: str) -> None:
    arguments = arguments_of(call.child_by_field_name("arguments"))
    count = static_number(arguments[0]) if arguments else None
    if count is not None and count > c.policy.max_repeat_count:
        message = f".{method}({count_text(count)}) is over the limit of {c.policy.max_repeat_count}; " + advice(
            "max-repeat"
        )
        c.report("max-repeat", message, call)


def _check_fill(c: Checker, call: Node, obj: Node, method: str) -> None:
    obj = unwrap(obj)
    if obj.type == "call_expression":
        callee = obj.child_by_field_name("function")
    elif obj.type == "new_expression":
        callee = obj.child_by_field_name("constructor")
    else:
        return
    if c.identifier_name(callee) != "Array":
        return
    length = _literal_length(c, obj)
    limit = c.policy.max_fill_length
    if length is not None and limit < length <= c.policy.max_array_length:  # larger: reported already
        message = f"Filling an array of length {count_text(length)} is over the limit of {limit}; "
        c.report("max-array-size", message + advice("max-array-size"), call)


def _check_array_from(c: Checker, call: Node, obj: Node, method: str) -> None:
    if c.identifier_name(obj) != "Array":
        return
    arguments = arguments_of(call.child_by_field_name("arguments"))
    source = unwrap(arguments[0]) if arguments else None
    if source is None or source.type != "object":
        return
    for pair in source.named_children:
        key = pair.child_by_field_name("key") if pair.type == "pair" else None
        value = pair.child_by_field_name("value") if key is not None else None
        if key is None or value is None or node_text(key).strip("'\"") != "length":
            continue
        _check_length(c, static_number(value), call)


METHOD_CHECKS: dict[str, Callable[[Checker, Node, Node, str], None]] = {
    "parse": _check_json,
    "stringify": _check_json,
    "repeat": _check_repeat,
    "padStart": _check_repeat,
    "padEnd": _check_repeat,
    "fill": _check_fill,
    "from": _check_array_from,
}
