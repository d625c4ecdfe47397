"""Parse AgentScript with tree-sitter, once, and share the result with every later pass."""

from __future__ import annotations

import bisect
import threading
from dataclasses import dataclass, field
from functools import cached_property

import tree_sitter
import tree_sitter_javascript

JAVASCRIPT = tree_sitter.Language(tree_sitter_javascript.language())

# tree-sitter parsers are not thread-safe; each thread keeps its own.
_local = threading.local()


def _parser() -> tree_sitter.Parser:
    parser: tree_sitter.Parser | None = getattr(_local, "parser", None)
    if parser is None:
        parser = tree_sitter.Parser(JAVASCRIPT)
        _local.parser = parser
    return parser


@dataclass
class ParsedScript:
    """A parsed script: the source (text and UTF-8 bytes), the tree, and position helpers."""

    code: str
    source: bytes
    tree: tree_sitter.Tree
    _line_starts: list[int] = field(default_factory=list, repr=False)

    @property
    def root(self) -> tree_sitter.Node:
        return self.tree.root_node

    @cached_property
    def nodes(self) -> list[tree_sitter.Node]:
        """Every node in pre-order, computed once; rules, instrumentation and scoring all walk this list."""
        out: list[tree_sitter.Node] = []
        cursor = self.tree.walk()
        append = out.append
        while True:
            node = cursor.node
            assert node is not None
            append(node)
            if cursor.goto_first_child():
                continue
            while not cursor.goto_next_sibling():
                if not cursor.goto_parent():
                    return out

    def text(self, node: tree_sitter.Node) -> str:
        return self.source[node.start_byte : node.end_byte].decode("utf-8", "replace")

    def location(self, byte_offset: int) -> dict[str, int]:
        """1-based line and column (in characters) of a byte offset, as the user wrote the code."""
        if not self._line_starts:
            starts = [0]
            find = self.source.find
            pos = find(b"\n")
            while pos != -1:
                starts.append(pos + 1)
                pos = find(b"\n", pos + 1)
            self._line_starts = starts
        index = bisect.bisect_right(self._line_starts, byte_offset) - 1
        line_start = self._line_starts[index]
        column = len(self.source[line_start:byte_offset].decode("utf-8", "replace")) + 1
        return {"line": index + 1, "column": column}

    def node_location(self, node: tree_sitter.Node) -> dict[str, int]:
        return self.location(node.start_byte)


def parse_script(code: str) -> ParsedScript:
    source = code.encode("utf-8", "surrogatepass")
    tree = _parser().parse(source)
    return ParsedScript(code=code, source=source, tree=tree)
