"""One pass over the guard's parse, boiled down to the facts the detectors judge.

The walk reads `ParsedScript.nodes` (pre-order, so sorted by start byte) once and files the few
node types scoring cares about; everything after that is range queries on those lists.
"""

from __future__ import annotations

import math
import re
from bisect import bisect_left, bisect_right
from dataclasses import dataclass, field

import tree_sitter

from ..guard.names import decode_identifier, decode_string_literal
from ..guard.parse import JAVASCRIPT, ParsedScript
from ..guard.statics import static_number, static_string, template_text
from .vocabulary import (
    LIMIT_KEYS,
    ORDINARY_NUMBER_WORDS,
    SENSITIVE_HINTS,
    URL_KEYS,
    ToolKind,
    classify_tool,
    normal_key,
    sensitive_classes,
    words,
)

Node = tree_sitter.Node

_CALL_TOOL = "callTool"
#: Array methods whose callback runs once per element.
_ITERATORS = frozenset(
    {
        "map", "forEach", "filter", "reduce", "reduceRight", "flatMap", "some", "every", "find",
        "findIndex", "findLast", "findLastIndex",
    }
)  # fmt: skip
#: Loop node type -> the field whose value the loop iterates over (or tests each round).
_LOOPS = {
    "for_in_statement": "right",
    "for_statement": "condition",
    "while_statement": "condition",
    "do_statement": "condition",
}
#: Where a sensitive field name can show: names, properties, strings.
_MENTIONS = frozenset(
    {
        "identifier", "shorthand_property_identifier", "shorthand_property_identifier_pattern",
        "property_identifier", "string_fragment",
    }
)  # fmt: skip
#: Expressions that may fold to a number; anything else (strings, objects, calls) is not looked at.
_NUMERIC = frozenset(
    {"number", "identifier", "member_expression", "unary_expression", "binary_expression", "parenthesized_expression"}
)
_FUNCTIONS = frozenset({"arrow_function", "function_expression", "function"})
_URL = re.compile(r"^\s*(?:[a-z][a-z0-9+.-]*:)?//|^\s*\d{1,3}(?:\.\d{1,3}){3}(?::\d+)?(?:/|$)", re.IGNORECASE)
_WILDCARD = re.compile(r"^\s*(?:[*%]+|\.\*|\*\.\*)\s*$|\bselect\s+\*\s+from\b|\blike\s+'%+'", re.IGNORECASE)
_NAMED_NUMBERS = {
    "Infinity": math.inf,
    "Number.MAX_SAFE_INTEGER": float(2**53 - 1),
    "Number.MAX_VALUE": math.inf,
    "Number.POSITIVE_INFINITY": math.inf,
}
# What the walk files each node type under (small ints: the walk compares them for every node).
_REFERENCE, _SHORTHAND, _CALL, _PAIR, _STRING, _LOOP, _DECLARATOR, _ASSIGNMENT = range(8)
_CODES = {
    "identifier": _REFERENCE,
    "shorthand_property_identifier_pattern": _REFERENCE,
    "shorthand_property_identifier": _SHORTHAND,
    "call_expression": _CALL,
    "pair": _PAIR,
    "string": _STRING,
    "template_string": _STRING,
    **dict.fromkeys(_LOOPS, _LOOP),
    "variable_declarator": _DECLARATOR,
    "assignment_expression": _ASSIGNMENT,
}
#: Grammar kind id -> code; one name can have several ids (aliases), and every other node is skipped.
_KIND_CODES: dict[int, int] = {
    kind_id: _CODES[name]
    for kind_id in range(JAVASCRIPT.node_kind_count)
    if JAVASCRIPT.node_kind_is_named(kind_id) and (name := JAVASCRIPT.node_kind_for_id(kind_id) or "") in _CODES
}


@dataclass
class ToolCall:
    start: int
    end: int
    name: str | None
    """The tool name when it is a constant the scorer could fold, else None."""
    kind: ToolKind | None
    external: bool = False
    """The name or the arguments point outside (a URL, a webhook, an upload)."""
    wildcard: bool = False
    unfiltered: bool = False
    """A search-like tool called with no arguments or `{}`."""
    extreme: bool = False
    in_loop: bool = False
    over_result: bool = False
    """The enclosing loop or callback iterates over what a tool returned."""


@dataclass
class Facts:
    calls: list[ToolCall] = field(default_factory=list)
    sensitive: dict[str, int] = field(default_factory=dict)
    """Sensitive class -> byte offset of its first mention."""
    max_limit: float = 0.0
    """The largest value given to a limit-like key anywhere in the script."""


class _Ranged:
    """Nodes in source order with the start bytes beside them, for `within(start, end)` queries."""

    def __init__(self) -> None:
        self.starts: list[int] = []
        self.nodes: list[Node] = []

    def add(self, node: Node) -> None:
        self.starts.append(node.start_byte)
        self.nodes.append(node)

    def within(self, node: Node) -> list[Node]:
        lo = bisect_left(self.starts, node.start_byte)
        return self.nodes[lo : bisect_left(self.starts, node.end_byte, lo)]


def _key_text(key: Node, source: bytes) -> str:
    """An object key as the guard reads it: escapes applied (`'\\x6cimit'` is `limit`)."""
    raw = source[key.start_byte : key.end_byte].decode("utf-8", "replace")
    if key.type == "string":
        return decode_string_literal(raw)
    return decode_identifier(raw) if "\\" in raw else raw


class _Collector:
    def __init__(self, parsed: ParsedScript) -> None:
        self.parsed = parsed
        self.reference_starts: list[int] = []
        self.reference_names: list[str] = []
        self.url_shorthands: list[int] = []
        """Offsets of `{url}`-like shorthand properties."""
        self.limit_shorthands: list[str] = []
        self.pairs = _Ranged()
        self.pair_raw_keys: list[str] = []
        self.pair_keys: list[str] = []
        """Each pair's key, as `normal_key` has it."""
        self.pair_values: list[Node | None] = []
        self.strings = _Ranged()
        self.call_nodes: list[Node] = []
        self.loops: list[Node] = []
        self.bindings: list[tuple[Node, Node]] = []
        self.consts: dict[str, Node] = {}
        self.walk()

    def walk(self) -> None:
        # The hot loop of scoring: one dict lookup per node, texts sliced straight from the source.
        source = self.parsed.source
        kinds = _KIND_CODES
        ref_starts, ref_names = self.reference_starts, self.reference_names
        for node in self.parsed.nodes:
            code = kinds.get(node.kind_id)
            if code is None:
                continue
            if code <= _SHORTHAND:
                start = node.start_byte
                name = source[start : node.end_byte].decode("utf-8", "replace")
                ref_starts.append(start)
                ref_names.append(name)
                if code == _SHORTHAND:
                    key = normal_key(name)
                    if key in LIMIT_KEYS:
                        self.limit_shorthands.append(name)
                    elif key in URL_KEYS:
                        self.url_shorthands.append(start)
            elif code == _CALL:
                self.call_nodes.append(node)
            elif code == _PAIR:
                key_node = node.child_by_field_name("key")
                raw = _key_text(key_node, source) if key_node is not None else ""
                self.pairs.add(node)
                self.pair_raw_keys.append(raw)
                self.pair_keys.append(normal_key(raw))
                self.pair_values.append(node.child_by_field_name("value"))
            elif code == _STRING:
                self.strings.add(node)
            elif code == _LOOP:
                self.loops.append(node)
            else:
                declarator = code == _DECLARATOR
                target = node.child_by_field_name("name" if declarator else "left")
                value = node.child_by_field_name("value" if declarator else "right")
                if target is not None and value is not None:
                    self.bindings.append((target, value))
                    if declarator and target.type == "identifier":
                        self.consts.setdefault(self.name(target), value)

    # --- constant folding: the guard's folding and decoding, seeing through `const LIMIT = 1e6` as well ---

    def name(self, node: Node) -> str:
        """An identifier's (or `a.b`'s) name with escapes applied, as the guard compares names."""
        return decode_identifier(self.parsed.text(node))

    def resolve(self, node: Node) -> Node | float | None:
        """A const's bound expression, or the value of a well-known numeric global."""
        name = self.name(node)
        named = _NAMED_NUMBERS.get(name)
        if named is not None:
            return named
        return self.consts.get(name) if node.type == "identifier" else None

    def fold_string(self, node: Node | None) -> str | None:
        return static_string(node, resolve=self.resolve) if node is not None else None

    def fold_number(self, node: Node | None) -> float | None:
        return static_number(node, resolve=self.resolve) if node is not None else None

    def names_in(self, node: Node) -> list[str]:
        lo = bisect_left(self.reference_starts, node.start_byte)
        hi = bisect_left(self.reference_starts, node.end_byte, lo)
        return self.reference_names[lo:hi]


def collect(parsed: ParsedScript) -> Facts:
    """Everything the detectors need, from one walk of `parsed.nodes`."""
    col = _Collector(parsed)
    callers = {_CALL_TOOL} | {
        name for name, value in col.consts.items() if value.type == "identifier" and col.name(value) == _CALL_TOOL
    }
    facts = Facts()
    regions: list[tuple[Node, Node]] = []  # (the repeated part, what it iterates over)
    name_nodes = _Ranged()
    for node in col.call_nodes:
        callee = node.child_by_field_name("function")
        arguments = node.child_by_field_name("arguments")
        if callee is None or arguments is None:
            continue
        if callee.type == "identifier":
            is_tool = col.name(callee) in callers
        elif callee.type == "member_expression":
            prop = callee.child_by_field_name("property")
            method = col.name(prop) if prop is not None else ""
            is_tool = method == _CALL_TOOL
            source = callee.child_by_field_name("object")
            if method in _ITERATORS and source is not None:
                regions.append((arguments, source))
                _bind_callback_parameters(col, arguments, source)
        else:
            is_tool = False
        if is_tool:
            args = arguments.named_children
            if args and args[0].type in ("string", "template_string"):
                name_nodes.add(args[0])
            facts.calls.append(_tool_call(col, node, args))

    for loop in col.loops:
        source = loop.child_by_field_name(_LOOPS[loop.type])
        body = loop.child_by_field_name("body") if loop.type == "for_in_statement" else loop
        if source is not None and body is not None:
            regions.append((body, source))
            if loop.type == "for_in_statement":
                left = loop.child_by_field_name("left")
                if left is not None:
                    col.bindings.append((left, source))

    call_starts = [call.start for call in facts.calls]  # pre-order, so sorted
    tainted = _tainted_names(col, call_starts)
    # How many regions (and tainted regions) cover each call: +1 where a region's calls begin, -1
    # after they end, then a running sum; linear however deeply loops nest.
    loops = [0] * (len(call_starts) + 1)
    over = [0] * (len(call_starts) + 1)
    for body, source in regions:
        lo = bisect_left(call_starts, body.start_byte)
        hi = bisect_left(call_starts, body.end_byte, lo)
        if lo < hi:
            loops[lo] += 1
            loops[hi] -= 1
            if _draws_on_tools(col, source, call_starts, tainted):
                over[lo] += 1
                over[hi] -= 1
    in_loop = over_result = 0
    for index, call in enumerate(facts.calls):
        in_loop += loops[index]
        over_result += over[index]
        call.in_loop = in_loop > 0
        call.over_result = over_result > 0

    facts.sensitive = _sensitive_mentions(col, name_nodes, facts.calls)
    facts.max_limit = _max_limit(col)
    return facts


def _bind_callback_parameters(col: _Collector, arguments: Node, source: Node) -> None:
    """`rows.map((row) => ...)`: the callback's parameters take their values from `rows`."""
    for arg in arguments.named_children:
        if arg.type in _FUNCTIONS:
            params = arg.child_by_field_name("parameters") or arg.child_by_field_name("parameter")
            if params is not None:
                col.bindings.append((params, source))
            return


def _tool_call(col: _Collector, node: Node, args: list[Node]) -> ToolCall:
    name = col.fold_string(args[0]) if args else None
    kind = classify_tool(name) if name is not None else None
    call = ToolCall(start=node.start_byte, end=node.end_byte, name=name, kind=kind)
    call.external = bool(kind and kind.external)
    payload = args[1] if len(args) > 1 else None
    if kind is not None and kind.search:
        call.unfiltered = payload is None or (payload.type == "object" and payload.named_child_count == 0)
    if payload is None:
        return call
    scopes = [payload]
    if payload.type == "identifier":  # `callTool(name, opts)` with `const opts = {...}`
        bound = col.consts.get(col.name(payload))
        if bound is not None:
            scopes.append(bound)
    for scope in scopes:
        _inspect_arguments(col, scope, call)
    return call


def _inspect_arguments(col: _Collector, scope: Node, call: ToolCall) -> None:
    pairs = col.pairs
    lo = bisect_left(pairs.starts, scope.start_byte)
    for index in range(lo, bisect_left(pairs.starts, scope.end_byte, lo)):
        key, value = col.pair_keys[index], col.pair_values[index]
        if value is None:
            continue
        if key in URL_KEYS:
            call.external = True
        number = col.fold_number(value) if value.type in _NUMERIC else None
        if (
            number is not None
            and abs(number) > 1_000_000
            and ORDINARY_NUMBER_WORDS.isdisjoint(words(col.pair_raw_keys[index], singular=False))
        ):
            call.extreme = True
        if value.type == "identifier":
            _inspect_string(col.fold_string(value), call)
    for string in col.strings.within(scope):
        if string.type == "string":
            _inspect_string(col.fold_string(string), call)
        else:  # a template's literal parts still show a URL or a wildcard
            _inspect_string(template_text(string), call)
    if _holds(col.url_shorthands, scope):  # `{url}`
        call.external = True


def _inspect_string(value: str | None, call: ToolCall) -> None:
    if value is None:
        return
    if _URL.search(value):
        call.external = True
    if _WILDCARD.search(value):
        call.wildcard = True


def _tainted_names(col: _Collector, call_starts: list[int]) -> set[str]:
    """Names that hold (something derived from) a tool's result; flow-insensitive.

    A worklist over binding edges, linear in their size: bindings written in any order (a loop
    that feeds an earlier variable) settle without re-scanning every binding per round.
    """
    targets: list[list[str]] = []
    by_source: dict[str, list[int]] = {}
    tainted: set[str] = set()
    pending: list[str] = []
    for index, (target, source) in enumerate(col.bindings):
        names = col.names_in(target)
        targets.append(names)
        if _holds(call_starts, source):
            pending.extend(names)
        else:
            for name in col.names_in(source):
                by_source.setdefault(name, []).append(index)
    fired: set[int] = set()
    while pending:
        name = pending.pop()
        if name in tainted:
            continue
        tainted.add(name)
        for index in by_source.get(name, ()):
            if index not in fired:
                fired.add(index)
                pending.extend(targets[index])
    return tainted


def _holds(offsets: list[int], node: Node) -> bool:
    """Whether any of the sorted offsets falls inside the node."""
    index = bisect_left(offsets, node.start_byte)
    return index < len(offsets) and offsets[index] < node.end_byte


def _draws_on_tools(col: _Collector, node: Node, call_starts: list[int], tainted: set[str]) -> bool:
    return _holds(call_starts, node) or not tainted.isdisjoint(col.names_in(node))


def _sensitive_mentions(col: _Collector, name_nodes: _Ranged, calls: list[ToolCall]) -> dict[str, int]:
    """Sensitive class -> first offset, over identifiers, properties and strings (not tool names)."""
    first: dict[str, int] = {}
    parsed = col.parsed
    root = parsed.root
    seen: set[int] = set()
    # Few names are sensitive: find candidate offsets with `bytes.find` (far faster than a regex
    # alternation), then ask the tree which name each sits in, instead of classifying every name.
    for offset in sorted(_hint_offsets(parsed.source.lower())):
        node = root.descendant_for_byte_range(offset, offset)
        if node is None or node.type not in _MENTIONS:
            continue
        start = node.start_byte
        if start in seen:
            continue
        seen.add(start)
        if node.type == "string_fragment":  # a tool name is judged as a tool name, below
            index = bisect_right(name_nodes.starts, start) - 1
            if index >= 0 and start < name_nodes.nodes[index].end_byte:
                continue
        for cls in sensitive_classes(parsed.text(node)):
            if start < first.get(cls, math.inf):
                first[cls] = start
    for call in calls:
        if call.kind is not None:
            for cls in call.kind.sensitive:
                if call.start < first.get(cls, math.inf):
                    first[cls] = call.start
    return first


def _hint_offsets(lower: bytes) -> set[int]:
    offsets: set[int] = set()
    for hint in SENSITIVE_HINTS:
        offset = lower.find(hint)
        while offset != -1:
            offsets.add(offset)
            offset = lower.find(hint, offset + 1)
    return offsets


def _max_limit(col: _Collector) -> float:
    """Limit-like keys anywhere: an options object built first and passed later counts too."""
    values = [col.pair_values[i] for i, key in enumerate(col.pair_keys) if key in LIMIT_KEYS]
    values += [col.consts.get(name) for name in col.limit_shorthands]  # `{limit}`
    return max((number for value in values if (number := col.fold_number(value)) is not None), default=0.0)
