"""The state shared by the AST rules during one `check_rules` call, and small tree helpers."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from operator import attrgetter

import tree_sitter

from ..config import SecurityLevel
from ..results import ValidationIssue
from .bindings import bound_names
from .identifiers import Problem, decode_name, identifier_problems, key_problem
from .language import FORBIDDEN_NAMES, FORBIDDEN_OBJECT_METHODS, FORBIDDEN_PROPERTIES, advice
from .parse import ParsedScript
from .policy import LEVEL_GLOBALS, MUTABLE_GLOBALS, TOOLS_GLOBAL, GuardPolicy
from .statics import static_string, unwrap
from .tool_names import cached_paths
from .uses import restricted_use

Node = tree_sitter.Node

_ANY_LEVEL_GLOBALS = frozenset().union(*LEVEL_GLOBALS.values())
#: Forbidden names a level's own globals allow again; a custom global never does.
UNLOCKABLE_NAMES = frozenset(FORBIDDEN_NAMES) & _ANY_LEVEL_GLOBALS
SUSPICIOUS_VALUES = FORBIDDEN_PROPERTIES | FORBIDDEN_OBJECT_METHODS
# Fragments of which every suspicious name contains one: fewer substring scans than the names themselves.
_SUSPICIOUS_PARTS = ("onstructor", "roto", "__", "define", "Descriptor", "create")
_MAX_LISTED_GLOBALS = 30


class Checker:
    """State of one `check_rules` call."""

    def __init__(self, parsed: ParsedScript, policy: GuardPolicy, checked_methods: Iterable[str]) -> None:
        self.parsed = parsed
        self.source = parsed.source
        self.policy = policy
        self.allowed = policy.allowed_globals
        code = parsed.code
        self.literal_checks = "\\" in code or not code.isascii() or any(part in code for part in _SUSPICIOUS_PARTS)
        """False when no literal, property name or label can spell a forbidden name: their checks are skipped."""
        self.methods_present = frozenset(name for name in checked_methods if name in code)
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
        self.regexes: list[Node] = []
        """Regular expression literals (levels that allow them)."""
        self.class_names: set[str] = set()
        self.class_parents: list[tuple[str, Node]] = []
        """`extends X` to check once every class of the script is known."""
        self.unlocked = policy.allowed_globals & UNLOCKABLE_NAMES
        self.tool_paths = None if policy.tool_names is None else cached_paths(policy.tool_names)
        """`tools.a.b` paths when the host's tools are known."""
        """Names forbidden below this level that its globals allow (`Promise` from SECURE up)."""

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
        for name, heritage in self.class_parents:
            if name not in self.class_names:
                message = f"'{name}' is not a class of this script; a class may extend its own classes"
                extra = ", Error, TypeError or RangeError" if "Error" in self.allowed else ""
                self.report("no-class", f"{message}{extra}; " + advice("no-class"), heritage)
        declared = self.declared
        for name, node in self.mutations:
            if name not in declared and name not in MUTABLE_GLOBALS:
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
        unlocked = self.unlocked
        for raw in set(texts):
            entry = identifier_problems(raw)
            name = entry[0]
            if name in UNLOCKABLE_NAMES:
                entry = self._level_entry(name, entry)
            if (
                entry[1]
                or name == "callTool"
                or name in unlocked
                or name == TOOLS_GLOBAL
                or (name and name not in allowed and name not in declared)
            ):
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
            elif name in declared:
                continue  # the script's own variable of that name
            elif name in unlocked:
                problem = restricted_use(self, node, name)
                if problem is not None:
                    self.report("restricted-global", problem + advice("restricted-global"), node)
            elif name == TOOLS_GLOBAL and node.start_byte not in self.tool_callees:
                message = "'tools' may only be used to call a tool directly: 'await tools.users.list({ limit: 5 })'; "
                self.report("dynamic-tool-name", message + advice("dynamic-tool-name"), node)

    def _level_entry(
        self, name: str, entry: tuple[str, tuple[Problem, ...], bool]
    ) -> tuple[str, tuple[Problem, ...], bool]:
        """A forbidden name some level allows: no problem where it is allowed, else say which levels have it."""
        if name in self.unlocked:
            return name, (), False
        first = next(level for level in SecurityLevel if name in LEVEL_GLOBALS[level])
        rule = FORBIDDEN_NAMES[name]
        message = (
            f"Identifier '{name}' is not allowed at the {self.policy.level.value} security level "
            f"(it is available from {first.value} up); {advice(rule)}"
        )
        return name, (*((rule, message),), *entry[1][1:]), True

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


def count_text(value: float) -> str:
    return f"{value:.0f}" if value.is_integer() and abs(value) < 1e21 else f"{value:g}"


def _position(issue: ValidationIssue) -> tuple[int, int]:
    location = issue.location or {}
    return location.get("line", 0), location.get("column", 0)


def arguments_of(args: Node | None) -> list[Node]:
    if args is None or args.type != "arguments":
        return []
    return [child for child in args.named_children if child.type != "comment"]


def member_parts(c: Checker, node: Node) -> tuple[Node | None, str | None]:
    """(object, statically known property name) of `a.b` or `a['b']`."""
    obj = node.child_by_field_name("object")
    if node.type == "member_expression":
        prop = node.child_by_field_name("property")
        return obj, c.name_of(prop) if prop is not None else None
    index = node.child_by_field_name("index")
    return obj, static_string(index) if index is not None else None


def root_global(c: Checker, target: Node | None) -> str | None:
    """The identifier an assignment target starts from: `Math` for `Math.max = …` and for `Math = …`."""
    while target is not None and target.type in ("member_expression", "subscript_expression"):
        target = target.child_by_field_name("object")
    return c.identifier_name(target)


Handler = Callable[[Checker, Node], None]


class Registry:
    """Handlers of one group of rules, by node kind."""

    def __init__(self) -> None:
        self.handlers: dict[str, Handler] = {}
        self.literal_handlers: dict[str, Handler] = {}
        """Handlers that only matter when the text holds an escape, a non-ASCII character or a suspicious name."""

    def on(self, *kinds: str, literal: bool = False) -> Callable[[Handler], Handler]:
        def register(handler: Handler) -> Handler:
            for kind in kinds:
                (self.literal_handlers if literal else self.handlers)[kind] = handler
            return handler

        return register
