"""AST rules: each a small named check with a stable rule id.

`check_rules` walks `parsed.nodes` once and dispatches on the node's kind id to the handlers of every
rule group (names and statements here, keys in `key_rules`, calls in `call_rules`); checks that need
the whole script (which names it declares) collect candidates during the walk and settle at the end.
"""

from __future__ import annotations

from ..results import ValidationIssue
from . import call_rules, constructs, key_rules
from .bindings import parameters_of
from .checker import Checker, Handler, Node, Registry, root_global
from .differential import (
    check_arrow_position,
    check_comment_markers,
    check_line_separators,
    check_postfix_position,
    check_text_around_regexes,
)
from .key_rules import check_destructured_object, note_forbidden_value
from .language import advice
from .parse import JAVASCRIPT, ParsedScript
from .policy import Feature, GuardPolicy
from .statics import first_named, node_text, static_truthiness

registry = Registry()

# -- names


@registry.on("identifier", "shorthand_property_identifier", "shorthand_property_identifier_pattern")
def _identifier(c: Checker, node: Node) -> None:
    c.identifiers.append(node)  # judged together at the end, once the declared names are known


@registry.on("this", "super")
def _this(c: Checker, node: Node) -> None:
    if not constructs.this_is_allowed(c, node):
        c.report("forbidden-identifier", constructs.this_message(c, node), node)


# -- declarations


@registry.on("variable_declarator")
def _declarator(c: Checker, node: Node) -> None:
    target = node.child_by_field_name("name")
    c.declare(target)
    value = node.child_by_field_name("value")
    if target is None or value is None:
        return
    kind = target.type
    if kind == "identifier":
        note_forbidden_value(c, target, value)
    elif kind == "object_pattern":
        check_destructured_object(c, target, value)


@registry.on("arrow_function")
def _arrow(c: Checker, node: Node) -> None:
    check_arrow_position(c, node)
    first = first_named(node)  # `x` of `x => …`, or the `(…)` list; a comment can come first
    c.declare(first if first is not None and first.type != "comment" else parameters_of(node))


@registry.on("catch_clause")
def _catch(c: Checker, node: Node) -> None:
    c.declare(node.child_by_field_name("parameter"))


@registry.on("function_declaration", "generator_function_declaration")
def _function_declaration(c: Checker, node: Node) -> None:
    constructs.check_function(c, node, "no-function-declaration", "declarations")
    c.declare(node.child_by_field_name("name"))
    c.declare(parameters_of(node))


@registry.on("function_expression", "generator_function")
def _function_expression(c: Checker, node: Node) -> None:
    constructs.check_function(c, node, "no-function-expression", "expressions")
    check_arrow_position(c, node)
    c.declare(node.child_by_field_name("name"))
    c.declare(parameters_of(node))


@registry.on("method_definition")
def _method(c: Checker, node: Node) -> None:
    c.declare(parameters_of(node))
    if node.parent is not None and node.parent.type == "class_body":
        return  # judged with its class
    first = node.child(0) if node.child_count else None
    kinds = {"get": "Getters", "set": "Setters"}
    what = kinds.get(first.type, "Methods") if first is not None else "Methods"
    c.report("no-method", f"{what} are not allowed; " + advice("no-method"), node)


@registry.on("class_declaration", "class")
def _class(c: Checker, node: Node) -> None:
    constructs.check_class(c, node)
    if node.type == "class":
        check_arrow_position(c, node)


# -- statements


@registry.on("while_statement", "do_statement")
def _while(c: Checker, node: Node) -> None:
    constructs.check_while(c, node)


@registry.on("for_in_statement")
def _for_in(c: Checker, node: Node) -> None:
    operator = node.child_by_field_name("operator")
    if operator is not None and operator.type == "in":
        message = "'for … in' loops are not allowed; " + advice("forbidden-loop")
        c.report("forbidden-loop", message + " (for keys: for (const k of Object.keys(obj)))", node)
    if node.child_by_field_name("kind") is not None:
        c.declare(node.child_by_field_name("left"))


@registry.on("for_statement")
def _for(c: Checker, node: Node) -> None:
    condition = node.child_by_field_name("condition")
    if condition is not None and condition.type == "expression_statement":
        condition = first_named(condition)
    if condition is None or condition.type == "empty_statement":
        c.report("infinite-loop", "A 'for' loop without a condition never ends; " + advice("infinite-loop"), node)
    elif static_truthiness(condition) is True:
        message = f"The loop condition '{node_text(condition)}' is always true; " + advice("infinite-loop")
        c.report("infinite-loop", message, node)


@registry.on("with_statement")
def _with(c: Checker, node: Node) -> None:
    c.report("no-with", "'with' statements are not allowed; " + advice("no-with"), node)


@registry.on("import_statement", "export_statement", "import")
def _import(c: Checker, node: Node) -> None:
    what = {"import_statement": "import", "export_statement": "export", "import": "import()"}[node.type]
    c.report("no-import", f"'{what}' is not allowed; " + advice("no-import"), node)


@registry.on("meta_property")
def _meta(c: Checker, node: Node) -> None:
    text = node_text(node)
    if text.startswith("import"):
        c.report("no-import", "'import.meta' is not allowed; " + advice("no-import"), node)
    else:
        c.report("unsupported-syntax", f"'{text}' is not supported; " + advice("unsupported-syntax"), node)


@registry.on("regex")
def _regex(c: Checker, node: Node) -> None:
    if Feature.REGEX in c.policy.features:
        c.regexes.append(node)  # their text is masked for the literal-aware pre-scan checks (differential.py)
    else:
        c.report("no-regex", "Regular expression literals are not allowed; " + advice("no-regex"), node)


_UNSUPPORTED = {
    "jsx_element": "JSX",
    "jsx_self_closing_element": "JSX",
    "using_declaration": "'using' declarations",
    "decorator": "Decorators",
    "html_comment": "HTML-style comments",
    "hash_bang_line": "'#!' lines",
}


@registry.on(*_UNSUPPORTED)
def _unsupported(c: Checker, node: Node) -> None:
    if node.start_byte < c.unsupported_until:
        return  # nested JSX: reported with its outermost element
    c.unsupported_until = node.end_byte
    message = f"{_UNSUPPORTED[node.type]} are not supported; " + advice("unsupported-syntax")
    c.report("unsupported-syntax", message.replace("JSX are", "JSX is"), node)


# -- mutation of globals


@registry.on("assignment_expression", "augmented_assignment_expression")
def _assignment(c: Checker, node: Node) -> None:
    left = node.child_by_field_name("left")
    name = root_global(c, left)
    if name is not None and name in c.allowed:
        c.mutations.append((name, node))
    if left is not None and left.type == "object_pattern" and node.type == "assignment_expression":
        right = node.child_by_field_name("right")
        if right is not None:
            check_destructured_object(c, left, right)


@registry.on("update_expression")
def _update(c: Checker, node: Node) -> None:
    if node.type == "update_expression":
        check_postfix_position(c, node)
    name = root_global(c, node.child_by_field_name("argument"))
    if name is not None and name in c.allowed:
        c.mutations.append((name, node))


@registry.on("unary_expression")
def _unary(c: Checker, node: Node) -> None:
    operator = node.child_by_field_name("operator")
    if operator is not None and operator.type == "delete":
        _update(c, node)


# ---------------------------------------------------------------- syntax errors and the walk


_CLOSERS = {"(": ")", "[": "]", "{": "}", "${": "}"}


def _unclosed_bracket(error: Node) -> Node | None:
    """The innermost bracket token inside an error node that nothing closes (`f(a, g(b` at the end of
    a script); brackets inside strings are not tokens, so they do not count."""
    open_brackets: list[Node] = []
    pending = [error]
    while pending:
        node = pending.pop()
        if node.child_count:
            pending.extend(reversed(node.children))
        elif node.is_missing:
            continue
        elif node.type in _CLOSERS:
            open_brackets.append(node)
        elif open_brackets and node.type == _CLOSERS[open_brackets[-1].type]:
            open_brackets.pop()
    return open_brackets[-1] if open_brackets else None


def _check_syntax(c: Checker, nodes: list[Node]) -> None:
    covered_until = -1
    for node in nodes:
        if node.is_error:
            if node.start_byte < covered_until:
                continue  # inside an error already reported
            covered_until = max(node.end_byte, node.start_byte + 1)
            opener = _unclosed_bracket(node)
            if opener is not None:  # at the bracket, not at the start of the statement it broke
                closer = _CLOSERS[opener.type]
                c.report("syntax-error", f"Syntax error: '{opener.type}' is never closed (missing '{closer}')", opener)
                continue
            text = node_text(node).strip().split("\n", 1)[0][:30]
            near = f" near '{text}'" if text else ""
            message = f"Syntax error{near}: check brackets, quotes, commas and keywords here"
            c.report("syntax-error", message, node)
        elif node.is_missing:
            c.report("syntax-error", f"Syntax error: missing '{node.type}'", node)


_GROUPS = (registry, key_rules.registry, call_rules.registry)


def _dispatch_table(*, literal: bool) -> dict[int, Handler]:
    """Handlers by kind id (cheaper per node than the kind's name); anonymous tokens get none."""
    handlers: dict[str, Handler] = {}
    for group in _GROUPS:
        handlers.update(group.handlers)
        if literal:
            handlers.update(group.literal_handlers)
    table: dict[int, Handler] = {}
    for kind_id in range(JAVASCRIPT.node_kind_count):
        if JAVASCRIPT.node_kind_is_named(kind_id):
            handler = handlers.get(JAVASCRIPT.node_kind_for_id(kind_id) or "")
            if handler is not None:
                table[kind_id] = handler
    return table


_DISPATCH_LEAN = _dispatch_table(literal=False)
_DISPATCH_FULL = _dispatch_table(literal=True)


def check_rules(parsed: ParsedScript, policy: GuardPolicy) -> list[ValidationIssue]:
    """Every rule violation in the script, sorted by position."""
    checker = Checker(parsed, policy, call_rules.METHOD_CHECKS)
    nodes = parsed.nodes
    if parsed.root.has_error:
        _check_syntax(checker, nodes)
    source = parsed.source
    if b"<!--" in source or b"-->" in source:
        check_comment_markers(checker)
    if b"\xe2\x80\xa8" in source or b"\xe2\x80\xa9" in source:  # U+2028, U+2029
        check_line_separators(checker)
    dispatch = (_DISPATCH_FULL if checker.literal_checks else _DISPATCH_LEAN).get
    for node in nodes:
        handler = dispatch(node.kind_id)
        if handler is not None:
            handler(checker, node)
    if checker.regexes:
        check_text_around_regexes(checker)
    return checker.finish()
