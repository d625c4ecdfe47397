"""Instrumentation: source edits by byte range that let the runtime count loops and keep limits terminal.

Every edit is an insertion or a same-line replacement that never adds a line break, so line numbers of
the instrumented code are the user's; `PositionMap` undoes the column shifts.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import tree_sitter

from .parse import ParsedScript

# Loops count in a local of the script's function (no call per iteration); the prelude's hook runs only
# at checkpoints it hands back: every few dozen iterations (wall-clock check) and at the limit.
ITER_HOOK = "if(++__ag_c>=__ag_n)__ag_n=__ag_iter(__ag_c);"
TICK_HOOK = "__ag_tick();"
#: A `function` also refuses to run as a constructor (`new f()`): the hook throws when `new.target` is set.
FUNCTION_HOOK = "__ag_tick(new.target);"
CATCH_HOOK = "__ag_catch"
THROW_HOOK = "__ag_thr"
CATCH_VAR = "__ag_e"

#: The guest body becomes the body of an async arrow; prelude hooks are its free variables.
WRAP_PREFIX = '(async () => {"use strict";let __ag_c=0,__ag_n=0;try{'
WRAP_SUFFIX = "\n}finally{__ag_iter(__ag_c,1)}})"

_LOOPS = {"for_statement", "for_in_statement", "while_statement", "do_statement"}
_FUNCTIONS = {
    "arrow_function",
    "function_declaration",
    "function_expression",
    "function",
    "generator_function",
    "generator_function_declaration",
    "method_definition",
}


_PLAIN_FUNCTIONS = {"function_declaration", "function_expression"}


@dataclass(order=True)
class _Edit:
    start: int
    order: int  # at one offset: closing text (inner first) before opening text (outer first)
    end: int = field(compare=False)
    text: str = field(compare=False)


@dataclass
class PositionMap:
    """Maps a (line, column) of the instrumented program back to the user's code (both 1-based)."""

    shifts: dict[int, list[tuple[int, int]]]
    """line → sorted (user column where text was inserted, characters inserted)."""

    def to_user(self, line: int, column: int) -> tuple[int, int]:
        shifts = self.shifts.get(line)
        if not shifts:
            return line, column
        user_column = column
        for at, inserted in shifts:
            if at < user_column:
                user_column -= inserted
                user_column = max(user_column, at)
            else:
                break
        return line, max(user_column, 1)


@dataclass
class Instrumented:
    program: str
    """An expression evaluating to the async function that runs the script."""
    positions: PositionMap


def instrument(parsed: ParsedScript) -> Instrumented:
    edits: list[_Edit] = []
    for node in parsed.nodes:
        kind = node.type
        if kind in _LOOPS:
            body = node.child_by_field_name("body")
            if body is not None:
                _hook_body(body, ITER_HOOK, edits)
        elif kind in _FUNCTIONS:
            body = node.child_by_field_name("body")
            if body is not None:
                if body.type == "statement_block":
                    _hook_body(body, FUNCTION_HOOK if kind in _PLAIN_FUNCTIONS else TICK_HOOK, edits)
                else:  # arrow with an expression body
                    _wrap(body, "(__ag_tick(), ", ")", edits)
        elif kind == "catch_clause":
            _hook_catch(parsed, node, edits)
        elif kind == "try_statement" and node.child_by_field_name("handler") is None:
            # try/finally: a `return` in the finally would swallow a terminal error the hook never saw,
            # so route every exception through the catch hook first and rethrow it unchanged.
            finalizer = node.child_by_field_name("finalizer")
            if finalizer is not None:
                at = finalizer.start_byte
                edits.append(_Edit(at, 0, at, f"catch({CATCH_VAR}){{{CATCH_HOOK}({CATCH_VAR});throw {CATCH_VAR}}}"))
        elif kind == "throw_statement":
            value = node.named_children[0] if node.named_children else None
            if value is not None and value.type != "comment":
                _wrap(value, f"{THROW_HOOK}((", "))", edits)
    return _apply(parsed, edits)


def _depth(node: tree_sitter.Node) -> int:
    depth = 0
    parent = node.parent
    while parent is not None:
        depth += 1
        parent = parent.parent
    return depth


def _wrap(node: tree_sitter.Node, before: str, after: str, edits: list[_Edit]) -> None:
    depth = _depth(node)
    edits.append(_Edit(node.start_byte, 1_000_000 + depth, node.start_byte, before))
    edits.append(_Edit(node.end_byte, -depth, node.end_byte, after))


def _hook_body(body: tree_sitter.Node, hook: str, edits: list[_Edit]) -> None:
    if body.type == "statement_block":
        at = body.start_byte + 1
        edits.append(_Edit(at, 2_000_000, at, hook))
    else:
        _wrap(body, "{" + hook, "}", edits)


def _hook_catch(parsed: ParsedScript, node: tree_sitter.Node, edits: list[_Edit]) -> None:
    param = node.child_by_field_name("parameter")
    body = node.child_by_field_name("body")
    if body is None:
        return
    at = body.start_byte + 1
    if param is None:
        keyword = node.children[0]
        edits.append(_Edit(keyword.end_byte, 0, keyword.end_byte, f" ({CATCH_VAR})"))
        edits.append(_Edit(at, 2_000_000, at, f"{CATCH_HOOK}({CATCH_VAR});"))
    elif param.type == "identifier":
        edits.append(_Edit(at, 2_000_000, at, f"{CATCH_HOOK}({parsed.text(param)});"))
    else:  # a destructuring pattern: bind it after the hook has seen the raw value
        pattern = parsed.text(param)
        newlines = pattern.count("\n")
        flat = " ".join(pattern.split("\n"))
        edits.append(_Edit(param.start_byte, 0, param.end_byte, CATCH_VAR + "\n" * newlines))
        edits.append(_Edit(at, 2_000_000, at, f"{CATCH_HOOK}({CATCH_VAR});let {flat} = {CATCH_VAR};"))


def _apply(parsed: ParsedScript, edits: list[_Edit]) -> Instrumented:
    source = parsed.source
    edits.sort()
    pieces: list[bytes] = []
    shifts: dict[int, list[tuple[int, int]]] = {1: [(1, len(WRAP_PREFIX))]}
    cursor = 0
    for edit in edits:
        if edit.start < cursor:  # overlapping replacement (cannot happen for valid trees); skip safely
            continue
        pieces.append(source[cursor : edit.start])
        pieces.append(edit.text.encode())
        cursor = edit.end
        if "\n" not in edit.text:
            loc = parsed.location(edit.start)
            removed = len(source[edit.start : edit.end].decode("utf-8", "replace"))
            shifts.setdefault(loc["line"], []).append((loc["column"], len(edit.text) - removed))
    pieces.append(source[cursor:])
    body = b"".join(pieces).decode("utf-8", "surrogatepass")
    for line_shifts in shifts.values():
        line_shifts.sort()
    # user column c on line 1 sits at c + len(prefix) - the prefix shift is the first entry
    return Instrumented(program=WRAP_PREFIX + body + WRAP_SUFFIX, positions=PositionMap(shifts))
