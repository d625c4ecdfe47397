"""Source the engine would read differently from the parser the rules ran on.

The rules judge tree-sitter's reading of the code; QuickJS compiles the same text with its own tokenizer
and parser. Where the two could disagree, the guard rejects the code, so the engine runs exactly the
statements the rules saw. The classes and how each is closed (`tests/security/test_parser_differential*`
check them, a property test compares both readings on generated code):

- HTML-like comments (Annex B, script goal): QuickJS reads `<!--` anywhere and `-->` at a line start as a
  line comment, tree-sitter reads `a <!--b` as `a < !--b`. Both markers are rejected outside strings,
  template text and comments (`check_comment_markers`).
- A lone carriage return is a line terminator for QuickJS (ASI, `-->` at a line start) but plain space for
  tree-sitter: `return\\rx` returns undefined in the engine. The pre-scan rejects it (`prescan.py`).
- U+2028 and U+2029 end a line comment in both, but QuickJS then forgets the line break (`return // c`,
  U+2028, `x` returns `x`); elsewhere in code tree-sitter's ASI scan handles them only partly. They are
  rejected outside strings and template text (`check_line_separators`).
- Non-ASCII spaces after a line break stop tree-sitter's ASI scan (`x`, line break, U+00A0, `` `t` `` is
  two statements to it, a tagged template to QuickJS): the pre-scan rejects them outside strings and
  comments, as it does invisible characters.
- A postfix `x++` cannot be called either: `x++\n(y)` is a call to tree-sitter, two statements to QuickJS
  (`check_postfix_position`).
- An arrow function with a block body cannot be an operand in JavaScript: QuickJS ends the expression
  after the body (ASI across a line break), so `f = () => {}\\n/'/…` starts a regular expression that
  hides quotes tree-sitter pairs as a string around code. tree-sitter reads a division. An unparenthesised
  arrow on the left of an operator, a call, a member access, a tagged template or `?` is rejected
  (`check_arrow_position`).

- Regular expression literals (levels that accept them): the pre-scan's literal scanner does not know
  them, so a quote or backtick inside one (`/'/`, ``/`/``) could make it take the code after it for a
  string and miss an invisible character or a bracket there. With regular expressions in the tree, those
  checks run again on the text with every regular expression masked out (`check_text_around_regexes`).
  Where a `/` starts a regular expression is decided by both parsers from the grammar, and the places
  where the grammar leaves it to a line break are the arrow, function and class expressions used as left
  operands, rejected above; the property test generates regular expressions at every boundary.

Closed by other layers: `#!` outside position 0 (tree-sitter reports it; QuickJS only skips it at the
start of the program, which is the runtime's wrapper), escaped keywords (`\\u0077hile`: an identifier
to tree-sitter, a compile error in QuickJS), legacy octal literals and escapes, `let`/`yield` as names
(compile errors in strict mode), `import`/`export` (rejected by the rules), regular expressions tree-sitter
sees (rejected by `no-regex`), characters tree-sitter takes as identifier parts that QuickJS does not
(compile errors) and the two it takes as spaces (U+200B, U+2060: invisible characters, pre-scan).
"""

from __future__ import annotations

from ..results import ValidationIssue
from .checker import Checker, Node
from .language import advice
from .prescan import prescan

#: Pre-scan rules whose literal-aware scan a regular expression literal can mislead.
_LEXED_RULES = frozenset({"invisible-character", "max-nesting"})

#: Leaves whose text is not code: a marker inside one is not a comment to either reader.
_LITERAL_KINDS = frozenset(
    [
        "string",
        "string_fragment",
        "escape_sequence",
        "template_string",
        "comment",
        "html_comment",
        "regex",
        "regex_pattern",
    ]
)
_MARKERS = (b"<!--", b"-->")


def check_comment_markers(c: Checker) -> None:
    """Reject `<!--` and `-->` wherever tree-sitter reads them as operators."""
    source = c.source
    root = c.parsed.root
    for marker in _MARKERS:
        at = source.find(marker)
        while at != -1:
            node = root.descendant_for_byte_range(at, at + len(marker))
            if node is not None and node.type not in _LITERAL_KINDS:
                message = (
                    f"'{marker.decode()}' outside a string or comment is an HTML-style comment to the engine; "
                    "write 'a < !b' or 'a-- > b' with spaces; " + advice("unsupported-syntax")
                )
                location = c.parsed.location(at)
                c.issues.append(ValidationIssue(rule="unsupported-syntax", message=message, location=location))
                return  # one report is enough: the reader has to rewrite these spots anyway
            at = source.find(marker, at + 1)


_SEPARATORS = ("\u2028".encode(), "\u2029".encode())
#: Where a line or paragraph separator is text to both readers.
_TEXT_KINDS = frozenset(["string", "string_fragment", "escape_sequence", "template_string"])


def check_line_separators(c: Checker) -> None:
    """Reject U+2028/U+2029 outside strings and template text (in code and in comments)."""
    root = c.parsed.root
    for separator in _SEPARATORS:
        at = c.source.find(separator)
        while at != -1:
            node = root.descendant_for_byte_range(at, at + len(separator))
            if node is None or node.type not in _TEXT_KINDS:
                char = separator.decode()
                message = (
                    f"Code contains U+{ord(char):04X} outside a string: the engine and the guard would break "
                    "lines differently; " + advice("forbidden-character")
                )
                location = c.parsed.location(at)
                c.issues.append(ValidationIssue(rule="forbidden-character", message=message, location=location))
                return
            at = c.source.find(separator, at + 1)


#: Where an unparenthesised arrow function would be the operand on the left of something.
_LEFT_OPERAND_OF = frozenset(
    {
        "binary_expression",
        "call_expression",
        "member_expression",
        "subscript_expression",
        "ternary_expression",
        "update_expression",
        "assignment_expression",
        "augmented_assignment_expression",
    }
)


#: What may follow an arrow function or a postfix update that ends its expression: no parent lookup then.
_ENDS_EXPRESSION = (b",", b";", b")", b"]", b"}", b":")


def _followed_by_an_end(c: Checker, node: Node) -> bool:
    end = node.end_byte
    return c.source[end : end + 32].lstrip(b" \t").startswith(_ENDS_EXPRESSION)


def check_arrow_position(c: Checker, node: Node) -> None:
    if _followed_by_an_end(c, node):
        return
    parent = node.parent
    if parent is not None and parent.type in _LEFT_OPERAND_OF and parent.start_byte == node.start_byte:
        message = (
            "An arrow function must be wrapped in parentheses before it is called, indexed or used as an "
            "operand: '((x) => x)(1)'; " + advice("syntax-error")
        )
        c.report("syntax-error", message, node)


#: What a postfix `x++` can never be the start of (JavaScript ends the expression after the operator).
_CALLEE_OF = frozenset({"call_expression", "member_expression", "subscript_expression"})


def check_postfix_position(c: Checker, node: Node) -> None:
    """`x++` followed by `(`, `[`, `.` or a template: a call to tree-sitter, two statements to QuickJS."""
    first = node.child(0)
    if first is None or first.type in ("++", "--") or _followed_by_an_end(c, node):
        return
    parent = node.parent
    if parent is not None and parent.type in _CALLEE_OF and parent.start_byte == node.start_byte:
        message = "'x++' and 'x--' cannot be called, indexed or tagged; end the statement with ';'; "
        c.report("syntax-error", message + advice("syntax-error"), node)


def check_text_around_regexes(c: Checker) -> None:
    """Run the literal-aware pre-scan checks again with each regular expression literal masked out."""
    code = c.parsed.code
    source = c.source
    pieces: list[str] = []
    cursor = 0
    for node in sorted(c.regexes, key=lambda n: n.start_byte):
        if node.start_byte < cursor:
            continue
        pieces.append(source[cursor : node.start_byte].decode("utf-8", "surrogatepass"))
        length = len(source[node.start_byte : node.end_byte].decode("utf-8", "surrogatepass"))
        pieces.append("x" * length)  # one character per character: positions stay the same
        cursor = node.end_byte
    pieces.append(source[cursor:].decode("utf-8", "surrogatepass"))
    masked = "".join(pieces)
    if masked == code:
        return
    known = {(issue.rule, str(issue.location)) for issue in c.issues}
    for issue in prescan(masked, c.policy):
        if issue.rule in _LEXED_RULES and (issue.rule, str(issue.location)) not in known:
            c.issues.append(issue)
