"""AST rules: each a small named check with a stable rule id.

`check_rules` walks `parsed.nodes` once and dispatches on the node's kind id; checks that need the
whole script (which names it declares) collect candidates during the walk and settle them at the end.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from operator import attrgetter

import tree_sitter

from ..results import ValidationIssue
from .bindings import bound_names, parameters_of
from .identifiers import Problem, decode_name, identifier_problems, key_problem, property_problems
from .language import FORBIDDEN_OBJECT_METHODS, FORBIDDEN_PROPERTIES, advice
from .names import decode_string_body
from .parse import JAVASCRIPT, ParsedScript
from .policy import LEVEL_GLOBALS, GuardPolicy
from .statics import first_named, node_text, static_number, static_string, static_truthiness, unwrap

Node = tree_sitter.Node

_ANY_LEVEL_GLOBALS = frozenset().union(*LEVEL_GLOBALS.values())
_SUSPICIOUS_VALUES = FORBIDDEN_PROPERTIES | FORBIDDEN_OBJECT_METHODS
_QUOTES = re.compile(rb"['\"`]")
_SUSPICIOUS_BYTES = frozenset(name.encode() for name in _SUSPICIOUS_VALUES)
_LONGEST_SUSPICIOUS = max(len(name) for name in _SUSPICIOUS_VALUES)
# Fragments of which every suspicious name contains one: fewer substring scans than the names themselves.
_SUSPICIOUS_PARTS = ("onstructor", "roto", "__", "define", "Descriptor", "create")
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
_MAX_LISTED_GLOBALS = 30


class _Checker:
    """State of one `check_rules` call."""

    def __init__(self, parsed: ParsedScript, policy: GuardPolicy) -> None:
        self.parsed = parsed
        self.source = parsed.source
        self.policy = policy
        self.allowed = policy.allowed_globals
        code = parsed.code
        self.literal_checks = "\\" in code or not code.isascii() or any(part in code for part in _SUSPICIOUS_PARTS)
        """False when no literal, property name or label can spell a forbidden name: their checks are skipped."""
        self.methods_present = frozenset(name for name in _METHOD_CHECKS if name in code)
        self.issues: list[ValidationIssue] = []
        self.names: dict[bytes, str] = {}
        self.declared: set[str] = set()
        self.identifiers: list[Node] = []
        self.tool_callees: set[int] = set()
        self.mutations: list[tuple[str, Node]] = []
        self.index_names: list[tuple[str, Node]] = []
        self.tainted: dict[str, str] = {}
        """const name → the forbidden property name it holds (`const k = 'constructor'`)."""
        self.unsupported_until = -1

    def raw(self, node: Node) -> bytes:
        start, end = node.byte_range
        return self.source[start:end]

    def name_of(self, node: Node) -> str:
        raw = self.raw(node)
        name = self.names.get(raw)
        if name is None:
            name = self.names[raw] = decode_name(raw)
        return name

    def identifier_name(self, node: Node | None) -> str | None:
        """The decoded name when `node` (inside any parentheses) is a plain identifier."""
        if node is None:
            return None
        kind = node.type
        if kind == "parenthesized_expression":
            node = unwrap(node)
            kind = node.type
        return self.name_of(node) if kind == "identifier" else None

    def report(self, rule: str, message: str, node: Node, severity: str = "error") -> None:
        self.issues.append(
            ValidationIssue(
                rule=rule,
                message=message,
                severity="warning" if severity == "warning" else "error",
                location=self.parsed.node_location(node),
            )
        )

    def report_problems(self, problems: tuple[Problem, ...], node: Node) -> None:
        for rule, message in problems:
            self.report(rule, message, node)

    def declare(self, target: Node | None) -> None:
        if target is None:
            return
        if target.type == "identifier":
            self.declared.add(self.name_of(target))
        else:
            self.declared.update(bound_names(target, self.name_of))

    def finish(self) -> list[ValidationIssue]:
        self._settle_identifiers()
        declared = self.declared
        for name, node in self.mutations:
            if name not in declared:
                message = f"'{name}' is a global and cannot be changed; " + advice("no-global-mutation")
                self.report("no-global-mutation", message, node)
        for name, node in self.index_names:
            value = self.tainted.get(name)
            if value is not None:
                self.report(*key_problem(value, f"the value of '{name}'"), node)
        self.issues.sort(key=_position)
        return self.issues

    def _settle_identifiers(self) -> None:
        """Name rules, unknown globals and callTool references, judged once per distinct spelling."""
        nodes = self.identifiers
        source = self.source
        texts = [source[start:end] for start, end in map(_BYTE_RANGE, nodes)]
        allowed, declared = self.allowed, self.declared
        entries: dict[bytes, tuple[str, tuple[Problem, ...], bool]] = {}
        for raw in set(texts):
            entry = identifier_problems(raw)
            name = entry[0]
            if entry[1] or name == "callTool" or (name and name not in allowed and name not in declared):
                entries[raw] = entry
        if not entries:
            return
        tool_declared = "callTool" in declared
        for node, raw in zip(nodes, texts, strict=True):
            found = entries.get(raw)
            if found is None:
                continue
            name, problems, rejected = found
            if node.type == "shorthand_property_identifier_pattern":
                self.report_problems(problems, node)  # a binding: only the name rules apply
                continue
            self.report_problems(problems, node)
            if rejected:
                continue
            if name == "callTool":
                if not tool_declared and node.start_byte not in self.tool_callees:
                    message = "callTool may only be called directly, never passed around or aliased; "
                    self.report("dynamic-tool-name", message + advice("dynamic-tool-name"), node)
            elif name not in allowed and name not in declared:
                self.report("unknown-global", self._unknown_message(name), node)

    def _unknown_message(self, name: str) -> str:
        level = self.policy.level.value
        if name in _ANY_LEVEL_GLOBALS:
            return f"'{name}' is not available at the {level} security level; use another way or a higher level"
        listed = sorted(self.allowed)
        more = ", …" if len(listed) > _MAX_LISTED_GLOBALS else ""
        return (
            f"'{name}' is not defined: declare it with const or let before use, or use an allowed global "
            f"({', '.join(listed[:_MAX_LISTED_GLOBALS])}{more})"
        )


_BYTE_RANGE = attrgetter("byte_range")


def _count(value: float) -> str:
    return f"{value:.0f}" if value.is_integer() and abs(value) < 1e21 else f"{value:g}"


def _position(issue: ValidationIssue) -> tuple[int, int]:
    location = issue.location or {}
    return location.get("line", 0), location.get("column", 0)


def _arguments(args: Node | None) -> list[Node]:
    if args is None or args.type != "arguments":
        return []
    return [child for child in args.named_children if child.type != "comment"]


def _member_parts(c: _Checker, node: Node) -> tuple[Node | None, str | None]:
    """(object, statically known property name) of `a.b` or `a['b']`."""
    obj = node.child_by_field_name("object")
    if node.type == "member_expression":
        prop = node.child_by_field_name("property")
        return obj, c.name_of(prop) if prop is not None else None
    index = node.child_by_field_name("index")
    return obj, static_string(index) if index is not None else None


def _root_global(c: _Checker, target: Node | None) -> str | None:
    """The identifier an assignment target starts from: `Math` for `Math.max = …` and for `Math = …`."""
    while target is not None and target.type in ("member_expression", "subscript_expression"):
        target = target.child_by_field_name("object")
    return c.identifier_name(target)


# ---------------------------------------------------------------- handlers by node kind

_Handler = Callable[[_Checker, Node], None]
_HANDLERS: dict[str, _Handler] = {}
_LITERAL_HANDLERS: dict[str, _Handler] = {}
"""Handlers that only matter when the text holds an escape, a non-ASCII character or a suspicious name."""


def _on(*kinds: str, literal: bool = False) -> Callable[[_Handler], _Handler]:
    def register(handler: _Handler) -> _Handler:
        for kind in kinds:
            (_LITERAL_HANDLERS if literal else _HANDLERS)[kind] = handler
        return handler

    return register


@_on("identifier", "shorthand_property_identifier", "shorthand_property_identifier_pattern")
def _identifier(c: _Checker, node: Node) -> None:
    c.identifiers.append(node)  # judged together at the end, once the declared names are known


@_on("property_identifier", literal=True)
def _property(c: _Checker, node: Node) -> None:
    name, problems = property_problems(c.raw(node))
    if problems:
        c.report_problems(problems, node)
    if name in FORBIDDEN_OBJECT_METHODS:
        _check_object_method(c, node.parent, name, node)


@_on("statement_identifier", "private_property_identifier", literal=True)
def _label(c: _Checker, node: Node) -> None:
    raw = c.raw(node)
    if not raw.isascii():
        problems = property_problems(raw)[1]
        c.report_problems(tuple(p for p in problems if p[0] != "forbidden-property"), node)


@_on("this", "super")
def _this(c: _Checker, node: Node) -> None:
    kind = node.type
    c.report("forbidden-identifier", f"'{kind}' is not allowed; " + advice("forbidden-identifier"), node)


def _check_object_method(c: _Checker, member: Node | None, name: str, at: Node) -> None:
    if (
        member is not None
        and member.type in ("member_expression", "subscript_expression")
        and c.identifier_name(member.child_by_field_name("object")) == "Object"
    ):
        c.report("forbidden-method", f"Object.{name} is not allowed; " + advice("forbidden-method"), at)


# -- literal keys: `o['constructor']`, `{ '__proto__': x }`, `o[`prototype`]`, `o['constr' + 'uctor']`


@_on("string", literal=True)
def _string(c: _Checker, node: Node) -> None:
    raw = c.raw(node)
    if b"\\" not in raw:
        if raw[1:-1] in _SUSPICIOUS_BYTES:
            _check_literal_key(c, node, raw[1:-1].decode())
        return
    value = static_string(node)
    if value is not None and value in _SUSPICIOUS_VALUES:
        _check_literal_key(c, node, value)


@_on("template_string", literal=True)
def _template(c: _Checker, node: Node) -> None:
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
    if value in _SUSPICIOUS_VALUES:
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


def _check_literal_key(c: _Checker, node: Node, value: str) -> None:
    key_of, _ = _key_parent(node)
    if value in FORBIDDEN_PROPERTIES:
        if key_of is not None:
            c.report(*key_problem(value, "a literal key"), node)
        else:
            message = f"String '{value}' spells a forbidden property name; " + advice("suspicious-string")
            c.report("suspicious-string", message, node, severity="warning")
    elif key_of is not None and key_of.type == "subscript_expression":
        _check_object_method(c, key_of, value, node)


def _check_folded_key(c: _Checker, key: Node, owner: Node) -> None:
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
        _check_object_method(c, owner, value, key)


@_on("subscript_expression")
def _subscript(c: _Checker, node: Node) -> None:
    index = node.child_by_field_name("index")
    if index is not None:
        _check_folded_key(c, index, node)


@_on("computed_property_name")
def _computed_key(c: _Checker, node: Node) -> None:
    key = first_named(node)
    if key is not None:
        _check_folded_key(c, key, node)


# -- declarations


@_on("variable_declarator")
def _declarator(c: _Checker, node: Node) -> None:
    target = node.child_by_field_name("name")
    c.declare(target)
    value = node.child_by_field_name("value")
    if target is None or value is None:
        return
    kind = value.type
    if target.type == "identifier" and (
        kind in ("string", "template_string") or (kind == "binary_expression" and _QUOTES.search(c.raw(value)))
    ):
        text = static_string(value)
        if text is not None and text in FORBIDDEN_PROPERTIES:
            c.tainted[c.name_of(target)] = text
    elif target.type == "object_pattern":
        _check_destructured_object(c, target, value)


def _check_destructured_object(c: _Checker, pattern: Node, value: Node) -> None:
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


@_on("arrow_function")
def _arrow(c: _Checker, node: Node) -> None:
    first = first_named(node)  # `x` of `x => …`, or the `(…)` list; a comment can come first
    c.declare(first if first is not None and first.type != "comment" else parameters_of(node))


@_on("catch_clause")
def _catch(c: _Checker, node: Node) -> None:
    c.declare(node.child_by_field_name("parameter"))


@_on("function_declaration", "generator_function_declaration")
def _function_declaration(c: _Checker, node: Node) -> None:
    c.report(
        "no-function-declaration",
        "Function declarations are not allowed; " + advice("no-function-declaration"),
        node,
    )
    c.declare(node.child_by_field_name("name"))
    c.declare(parameters_of(node))


@_on("function_expression", "generator_function")
def _function_expression(c: _Checker, node: Node) -> None:
    c.report(
        "no-function-expression",
        "Function expressions are not allowed; " + advice("no-function-expression"),
        node,
    )
    c.declare(node.child_by_field_name("name"))
    c.declare(parameters_of(node))


@_on("method_definition")
def _method(c: _Checker, node: Node) -> None:
    first = node.child(0) if node.child_count else None
    kinds = {"get": "Getters", "set": "Setters"}
    what = kinds.get(first.type, "Methods") if first is not None else "Methods"
    c.report("no-method", f"{what} are not allowed; " + advice("no-method"), node)
    c.declare(parameters_of(node))


@_on("class_declaration", "class")
def _class(c: _Checker, node: Node) -> None:
    c.report("no-class", "Classes are not allowed; " + advice("no-class"), node)
    c.declare(node.child_by_field_name("name"))


# -- statements


@_on("while_statement", "do_statement")
def _while(c: _Checker, node: Node) -> None:
    what = "while" if node.type == "while_statement" else "do … while"
    c.report("forbidden-loop", f"'{what}' loops are not allowed; " + advice("forbidden-loop"), node)


@_on("for_in_statement")
def _for_in(c: _Checker, node: Node) -> None:
    operator = node.child_by_field_name("operator")
    if operator is not None and operator.type == "in":
        message = "'for … in' loops are not allowed; " + advice("forbidden-loop")
        c.report("forbidden-loop", message + " (for keys: for (const k of Object.keys(obj)))", node)
    if node.child_by_field_name("kind") is not None:
        c.declare(node.child_by_field_name("left"))


@_on("for_statement")
def _for(c: _Checker, node: Node) -> None:
    condition = node.child_by_field_name("condition")
    if condition is not None and condition.type == "expression_statement":
        condition = first_named(condition)
    if condition is None or condition.type == "empty_statement":
        c.report("infinite-loop", "A 'for' loop without a condition never ends; " + advice("infinite-loop"), node)
    elif static_truthiness(condition) is True:
        message = f"The loop condition '{node_text(condition)}' is always true; " + advice("infinite-loop")
        c.report("infinite-loop", message, node)


@_on("with_statement")
def _with(c: _Checker, node: Node) -> None:
    c.report("no-with", "'with' statements are not allowed; " + advice("no-with"), node)


@_on("import_statement", "export_statement", "import")
def _import(c: _Checker, node: Node) -> None:
    what = {"import_statement": "import", "export_statement": "export", "import": "import()"}[node.type]
    c.report("no-import", f"'{what}' is not allowed; " + advice("no-import"), node)


@_on("meta_property")
def _meta(c: _Checker, node: Node) -> None:
    text = node_text(node)
    if text.startswith("import"):
        c.report("no-import", "'import.meta' is not allowed; " + advice("no-import"), node)
    else:
        c.report("unsupported-syntax", f"'{text}' is not supported; " + advice("unsupported-syntax"), node)


@_on("regex")
def _regex(c: _Checker, node: Node) -> None:
    c.report("no-regex", "Regular expression literals are not allowed; " + advice("no-regex"), node)


_UNSUPPORTED = {
    "jsx_element": "JSX",
    "jsx_self_closing_element": "JSX",
    "using_declaration": "'using' declarations",
    "decorator": "Decorators",
    "html_comment": "HTML-style comments",
    "hash_bang_line": "'#!' lines",
}


@_on(*_UNSUPPORTED)
def _unsupported(c: _Checker, node: Node) -> None:
    if node.start_byte < c.unsupported_until:
        return  # nested JSX: reported with its outermost element
    c.unsupported_until = node.end_byte
    message = f"{_UNSUPPORTED[node.type]} are not supported; " + advice("unsupported-syntax")
    c.report("unsupported-syntax", message.replace("JSX are", "JSX is"), node)


# -- mutation of globals


@_on("assignment_expression", "augmented_assignment_expression")
def _assignment(c: _Checker, node: Node) -> None:
    left = node.child_by_field_name("left")
    name = _root_global(c, left)
    if name is not None and name in c.allowed:
        c.mutations.append((name, node))
    if left is not None and left.type == "object_pattern" and node.type == "assignment_expression":
        right = node.child_by_field_name("right")
        if right is not None:
            _check_destructured_object(c, left, right)


@_on("update_expression")
def _update(c: _Checker, node: Node) -> None:
    name = _root_global(c, node.child_by_field_name("argument"))
    if name is not None and name in c.allowed:
        c.mutations.append((name, node))


@_on("unary_expression")
def _unary(c: _Checker, node: Node) -> None:
    operator = node.child_by_field_name("operator")
    if operator is not None and operator.type == "delete":
        _update(c, node)


# -- calls


@_on("call_expression")
def _call(c: _Checker, node: Node) -> None:
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
    elif c.methods_present and kind in ("member_expression", "subscript_expression"):
        obj, prop = _member_parts(c, function)
        if prop in c.methods_present and obj is not None:
            _METHOD_CHECKS[prop](c, node, obj, prop)


@_on("new_expression")
def _new(c: _Checker, node: Node) -> None:
    if c.identifier_name(node.child_by_field_name("constructor")) == "Array":
        _check_array_length(c, node)


def _check_tool_call(c: _Checker, call: Node, args: Node | None) -> None:
    if args is not None and args.type == "template_string":
        message = "callTool cannot be used as a template tag; " + advice("dynamic-tool-name")
        c.report("dynamic-tool-name", message, call)
        return
    name = first_named(args) if args is not None else None
    if name is not None and name.type == "comment":
        arguments = _arguments(args)
        name = arguments[0] if arguments else None
    if name is None:
        c.report("dynamic-tool-name", "callTool needs a tool name; " + advice("dynamic-tool-name"), call)
        return
    kind = name.type
    if kind == "string" or (kind == "template_string" and b"${" not in c.raw(name)):
        return
    message = "The tool name given to callTool must be a string literal; " + advice("dynamic-tool-name")
    c.report("dynamic-tool-name", message, name)


def _literal_length(c: _Checker, call: Node) -> float | None:
    """n of `Array(n)` / `new Array(n)` when n is a literal (one argument only: more are elements)."""
    arguments = _arguments(call.child_by_field_name("arguments"))
    return static_number(arguments[0]) if len(arguments) == 1 else None


def _check_array_length(c: _Checker, call: Node) -> None:
    length = _literal_length(c, call)
    if length is not None and length > c.policy.max_array_length:
        message = f"Array of length {_count(length)} is over the limit of {c.policy.max_array_length}; " + advice(
            "max-array-size"
        )
        c.report("max-array-size", message, call)


def _check_json(c: _Checker, call: Node, obj: Node, method: str) -> None:
    if c.identifier_name(obj) != "JSON":
        return
    arguments = _arguments(call.child_by_field_name("arguments"))
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


def _check_repeat(c: _Checker, call: Node, obj: Node, method: str) -> None:
    arguments = _arguments(call.child_by_field_name("arguments"))
    count = static_number(arguments[0]) if arguments else None
    if count is not None and count > c.policy.max_repeat_count:
        message = f".{method}({_count(count)}) is over the limit of {c.policy.max_repeat_count}; " + advice(
            "max-repeat"
        )
        c.report("max-repeat", message, call)


def _check_fill(c: _Checker, call: Node, obj: Node, method: str) -> None:
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
        message = f"Filling an array of length {_count(length)} is over the limit of {limit}; "
        c.report("max-array-size", message + advice("max-array-size"), call)


def _check_array_from(c: _Checker, call: Node, obj: Node, method: str) -> None:
    if c.identifier_name(obj) != "Array":
        return
    arguments = _arguments(call.child_by_field_name("arguments"))
    source = unwrap(arguments[0]) if arguments else None
    if source is None or source.type != "object":
        return
    for pair in source.named_children:
        key = pair.child_by_field_name("key") if pair.type == "pair" else None
        value = pair.child_by_field_name("value") if key is not None else None
        if key is None or value is None or node_text(key).strip("'\"") != "length":
            continue
        length = static_number(value)
        if length is not None and length > c.policy.max_array_length:
            message = f"Array of length {_count(length)} is over the limit of {c.policy.max_array_length}; " + advice(
                "max-array-size"
            )
            c.report("max-array-size", message, call)


_METHOD_CHECKS: dict[str, Callable[[_Checker, Node, Node, str], None]] = {
    "parse": _check_json,
    "stringify": _check_json,
    "repeat": _check_repeat,
    "padStart": _check_repeat,
    "padEnd": _check_repeat,
    "fill": _check_fill,
    "from": _check_array_from,
}


# ---------------------------------------------------------------- syntax errors and the walk


def _check_syntax(c: _Checker, nodes: list[Node]) -> None:
    covered_until = -1
    for node in nodes:
        if node.is_error:
            if node.start_byte < covered_until:
                continue  # inside an error already reported
            covered_until = max(node.end_byte, node.start_byte + 1)
            text = node_text(node).strip().split("\n", 1)[0][:30]
            near = f" near '{text}'" if text else ""
            message = f"Syntax error{near}: check brackets, quotes, commas and keywords here"
            c.report("syntax-error", message, node)
        elif node.is_missing:
            c.report("syntax-error", f"Syntax error: missing '{node.type}'", node)


def _dispatch_table(handlers: dict[str, _Handler]) -> dict[int, _Handler]:
    """Handlers by kind id (cheaper per node than the kind's name); anonymous tokens get none."""
    table: dict[int, _Handler] = {}
    for kind_id in range(JAVASCRIPT.node_kind_count):
        if JAVASCRIPT.node_kind_is_named(kind_id):
            handler = handlers.get(JAVASCRIPT.node_kind_for_id(kind_id) or "")
            if handler is not None:
                table[kind_id] = handler
    return table


_DISPATCH_LEAN = _dispatch_table(_HANDLERS)
_DISPATCH_FULL = _dispatch_table({**_HANDLERS, **_LITERAL_HANDLERS})


def check_rules(parsed: ParsedScript, policy: GuardPolicy) -> list[ValidationIssue]:
    """Every rule violation in the script, sorted by position."""
    checker = _Checker(parsed, policy)
    nodes = parsed.nodes
    if parsed.root.has_error:
        _check_syntax(checker, nodes)
    dispatch = (_DISPATCH_FULL if checker.literal_checks else _DISPATCH_LEAN).get
    for node in nodes:
        handler = dispatch(node.kind_id)
        if handler is not None:
            handler(checker, node)
    return checker.finish()
