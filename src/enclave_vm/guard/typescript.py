"""TypeScript input: type-only syntax is blanked out, then the result is checked as JavaScript.

The script is parsed with tree-sitter's TypeScript grammar (not TSX). Every type-only piece (annotations,
`interface`, `type`, `as`, `satisfies`, `!`, type arguments and parameters, `declare`, `implements`,
modifiers like `private`/`readonly`) is replaced by spaces, character for character, keeping every line
break: the JavaScript has the user's lines and columns, so every issue and runtime position is the user's.
A removed statement or class member leaves a `;` where it began, so no statement joins its neighbours.

Nothing is trusted to this pass: the JavaScript it leaves goes through the whole guard as if the user had
written it. Syntax that generates code (`enum`, `namespace`, decorators, parameter properties) is refused
with `typescript-runtime-syntax` rather than compiled.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field

import tree_sitter
import tree_sitter_typescript

from ..results import ValidationIssue
from .language import advice
from .parse import ParsedScript

TYPESCRIPT = tree_sitter.Language(tree_sitter_typescript.language_typescript())
_local = threading.local()

Node = tree_sitter.Node

#: Nodes that are types through and through: removed whole.
_TYPE_NODES = frozenset(
    {
        "type_annotation",
        "asserts_annotation",
        "type_predicate_annotation",
        "omitting_type_annotation",
        "opting_type_annotation",
        "adding_type_annotation",
        "type_parameters",
        "type_arguments",
        "implements_clause",
        "accessibility_modifier",
        "override_modifier",
    }
)
#: Statements (and class members) that only declare types: removed whole, leaving a `;`.
_TYPE_STATEMENTS = frozenset(
    {
        "interface_declaration",
        "type_alias_declaration",
        "ambient_declaration",
        "function_signature",
        "abstract_method_signature",
        "method_signature",
        "index_signature",
    }
)
#: Single keywords that only matter to the type checker, where they are children of these nodes.
_TYPE_TOKENS = {
    "abstract_class_declaration": frozenset({"abstract"}),
    "public_field_definition": frozenset({"?", "!", "readonly", "abstract"}),
    "method_definition": frozenset({"?"}),
    "optional_parameter": frozenset({"?"}),
    "variable_declarator": frozenset({"!"}),
}
#: What generates code in TypeScript: refused, with what it is called.
_RUNTIME = {
    "enum_declaration": "'enum'",
    "internal_module": "'namespace'",
    "module": "'module'",
    "decorator": "Decorators",
}
_PARAMETERS = frozenset({"required_parameter", "optional_parameter"})
#: After `x as T` at a line end these start a new statement in TypeScript but continue `x` in JavaScript.
_HAZARDS = (b"(", b"[", b"`")


def _parser() -> tree_sitter.Parser:
    parser: tree_sitter.Parser | None = getattr(_local, "parser", None)
    if parser is None:
        parser = tree_sitter.Parser(TYPESCRIPT)
        _local.parser = parser
    return parser


@dataclass
class Stripped:
    javascript: str
    """The script with its types blanked out; same length, same line breaks."""
    issues: list[ValidationIssue] = field(default_factory=list)
    """TypeScript that cannot become JavaScript (syntax errors, runtime syntax); the JavaScript is then
    not to be checked further."""


@dataclass
class _Pass:
    parsed: ParsedScript
    blank: list[tuple[int, int, bool]] = field(default_factory=list)
    """(start byte, end byte, leave a `;`) of each removed range."""
    issues: list[ValidationIssue] = field(default_factory=list)

    def report(self, rule: str, message: str, node: Node) -> None:
        self.issues.append(ValidationIssue(rule=rule, message=message, location=self.parsed.node_location(node)))

    def remove(self, start: int, end: int, statement: bool = False) -> None:
        if end > start:
            self.blank.append((start, end, statement))


def strip_types(code: str) -> Stripped:
    source = code.encode("utf-8", "surrogatepass")
    tree = _parser().parse(source)
    work = _Pass(ParsedScript(code=code, source=source, tree=tree))
    if tree.root_node.has_error:
        _syntax_errors(work, tree.root_node)
        return Stripped(code, work.issues)
    _walk(work, tree.root_node)
    if work.issues:
        return Stripped(code, sorted(work.issues, key=_position))
    return Stripped(_apply(source, work.blank))


def _walk(work: _Pass, root: Node) -> None:
    stack = [root]
    while stack:
        node = stack.pop()
        kind = node.type
        if kind in _TYPE_NODES:
            work.remove(node.start_byte, node.end_byte)
            continue
        if kind in _TYPE_STATEMENTS or (kind == "import_statement" and _has_child(node, "type")):
            work.remove(node.start_byte, node.end_byte, statement=True)
            continue
        if kind == "public_field_definition" and _has_child(node, "declare"):
            work.remove(node.start_byte, node.end_byte, statement=True)
            continue
        if kind in _RUNTIME:
            message = f"{_RUNTIME[kind]} generates code, which AgentScript does not compile; "
            work.report("typescript-runtime-syntax", message + advice("typescript-runtime-syntax"), node)
            continue
        if kind in _PARAMETERS:
            if _parameter_property(node):
                message = "Parameter properties ('constructor(private x: T)') generate code; "
                work.report("typescript-runtime-syntax", message + advice("typescript-runtime-syntax"), node)
                continue
            if _is_this_parameter(node):
                _remove_this_parameter(work, node)
                continue
        elif kind in ("as_expression", "satisfies_expression"):
            _remove_type_suffix(work, node)
            stack.extend(reversed(node.children[:1]))  # the expression; the type after the keyword is gone
            continue
        elif kind == "non_null_expression":
            last = node.children[-1]
            work.remove(last.start_byte, last.end_byte)
        tokens = _TYPE_TOKENS.get(kind)
        if tokens is not None:
            for child in node.children:
                if child.type in tokens and not child.is_named:
                    work.remove(child.start_byte, child.end_byte)
        stack.extend(reversed(node.children))


def _has_child(node: Node, kind: str) -> bool:
    return any(child.type == kind for child in node.children)


def _parameter_property(node: Node) -> bool:
    return any(child.type in ("accessibility_modifier", "readonly", "override_modifier") for child in node.children)


def _is_this_parameter(node: Node) -> bool:
    first = node.named_children[0] if node.named_child_count else None
    return first is not None and first.type == "this"


def _remove_this_parameter(work: _Pass, node: Node) -> None:
    """`function f(this: T, x)`: the `this` parameter and its comma go; it only types the receiver."""
    following = node.next_sibling
    if following is not None and following.type == ",":
        work.remove(node.start_byte, following.end_byte)
    else:
        work.remove(node.start_byte, node.end_byte)


def _remove_type_suffix(work: _Pass, node: Node) -> None:
    """`x as T`, `x satisfies T`: everything from the keyword on goes."""
    keyword = next((child for child in node.children if child.type in ("as", "satisfies")), None)
    if keyword is None:
        return
    work.remove(keyword.start_byte, node.end_byte)
    source = work.parsed.source
    rest = source[node.end_byte : node.end_byte + 256]
    stripped = rest.lstrip(b" \t")
    if stripped.startswith((b"\n", b"\r\n")) and stripped.lstrip().startswith(_HAZARDS):
        message = (
            f"End the statement with ';' after '{keyword.type} …': JavaScript would continue it on the next line; "
        )
        work.report("syntax-error", message + advice("syntax-error"), node)


def _apply(source: bytes, blank: list[tuple[int, int, bool]]) -> str:
    pieces: list[bytes] = []
    cursor = 0
    for start, end, statement in sorted(blank):
        if start < cursor:  # inside a range already removed
            continue
        pieces.append(source[cursor:start])
        text = source[start:end].decode("utf-8", "surrogatepass")
        # one space per character (columns count characters), line breaks kept
        spaces = "".join(char if char in "\r\n" else " " for char in text)
        pieces.append((";" + spaces[1:] if statement else spaces).encode())
        cursor = end
    pieces.append(source[cursor:])
    return b"".join(pieces).decode("utf-8", "surrogatepass")


def _syntax_errors(work: _Pass, root: Node) -> None:
    stack = [root]
    while stack:
        node = stack.pop()
        if node.is_error:
            text = work.parsed.text(node).strip().split("\n", 1)[0][:30]
            near = f" near '{text}'" if text else ""
            work.report("syntax-error", f"Syntax error{near}: check brackets, quotes, commas and keywords here", node)
            continue
        if node.is_missing:
            work.report("syntax-error", f"Syntax error: missing '{node.type}'", node)
            continue
        if node.has_error:
            stack.extend(reversed(node.children))


def _position(issue: ValidationIssue) -> tuple[int, int]:
    location = issue.location or {}
    return location.get("line", 0), location.get("column", 0)
