"""The AgentScript reference for one security level, as Markdown ready to paste into an LLM prompt.

It is generated from the same data the guard enforces (`language`, `policy`, the level defaults), and
docs/agentscript.md embeds it verbatim, so the documentation cannot drift from the rules.
"""

from __future__ import annotations

from ..config import LEVEL_DEFAULTS, SecurityLevel, parse_level
from .language import CONSTRUCTS, GLOBAL_DESCRIPTIONS, RULES, RULES_BELOW_STANDARD, RULES_FROM_SECURE
from .policy import LEVEL_GLOBALS, policy_for

#: Rules that are not constructs to avoid (a parse failure, a mere warning).
_NOT_LISTED = frozenset({"syntax-error", "suspicious-string"})

_EXAMPLE = """```js
const users = await callTool('users:list', { limit: 10 });
const active = users.filter((u) => u.active);
for (const user of active) {
  await callTool('mail:send', { to: user.email, subject: `Hello ${user.name}` });
}
return active.map((u) => u.name);
```"""


def _escape_cell(text: str) -> str:
    return text.replace("|", "\\|")


def _code(text: str) -> str:
    """Inline code in a table cell; double backticks when the code holds one."""
    fence = "``" if "`" in text else "`"
    pad = " " if fence == "``" else ""
    return f"{fence}{pad}{_escape_cell(text)}{pad}{fence}"


_ORDER = list(SecurityLevel)


def _at_least(level: SecurityLevel, first: str) -> bool:
    return _ORDER.index(level) >= _ORDER.index(SecurityLevel(first))


def _applies(rule_id: str, level: SecurityLevel) -> bool:
    if rule_id in _NOT_LISTED:
        return False
    if rule_id in RULES_BELOW_STANDARD:
        return not _at_least(level, "STANDARD")
    if rule_id in RULES_FROM_SECURE:
        return _at_least(level, "SECURE")
    return True


def agentscript_reference(level: SecurityLevel | str) -> str:
    """The rules of AgentScript at `level`: what to write (one example each), the globals, what is rejected,
    the limits."""
    level = parse_level(level, "level")
    policy = policy_for(level)
    defaults = LEVEL_DEFAULTS[level]
    lines = [
        f"## AgentScript at the {level.value} level",
        "",
        "AgentScript is plain JavaScript with a smaller vocabulary. The script is the body of an async "
        "function: use top-level `await`, and `return` the result (JSON data). Call tools with "
        "`await callTool('tool:name', { ...args })`; the tool name must be a string literal. TypeScript is "
        "accepted too when the host runs it as TypeScript (types are removed; `enum`, `namespace`, decorators "
        "and parameter properties are not).",
        "",
        _EXAMPLE,
        "",
        "### What you can write",
        "",
        "| construct | example |",
        "|---|---|",
    ]
    for construct in CONSTRUCTS:
        if _at_least(level, construct.first):
            lines.append(f"| {_escape_cell(construct.what)} | {_code(construct.example)} |")
    later = [construct for construct in CONSTRUCTS if not _at_least(level, construct.first)]
    if later:
        lines += ["", "Not at this level (higher levels accept them): " + "; ".join(c.what for c in later) + "."]
    lines += [
        "",
        "### Globals",
        "",
        "| name | use |",
        "|---|---|",
    ]
    for name in sorted(LEVEL_GLOBALS[level], key=lambda n: (n != "callTool", n.lower())):
        lines.append(f"| `{name}` | {_escape_cell(GLOBAL_DESCRIPTIONS[name])} |")
    lines += [
        "",
        "The host may add read-only data globals of its own. When it lists its tools, `tools` calls them by "
        "namespace (`await tools.users.list({ limit: 5 })` for `users:list`). Any other name must be declared "
        "in the script.",
        "",
        "### Not allowed",
        "",
        "| construct | rule | write instead |",
        "|---|---|---|",
    ]
    for rule in RULES.values():
        if _applies(rule.id, level):
            lines.append(f"| {_escape_cell(rule.forbids)} | `{rule.id}` | {_escape_cell(rule.instead)} |")
    lines += [
        "",
        "Forbidden names stay forbidden however they are written: escapes (`\\u0065val`, `'\\x63onstructor'`), "
        "computed or template keys (`o['constructor']`), concatenations (`'constr' + 'uctor'`) and "
        "destructuring (`const { constructor } = x`) are all rejected.",
        "",
        "### Limits",
        "",
        "| limit | value |",
        "|---|---|",
        f"| code size | {policy.max_code_bytes} bytes |",
        f"| line length | {policy.max_line_length} characters |",
        f"| bracket nesting | {policy.max_nesting} levels |",
        f"| `Array(n)` length | {policy.max_array_length} |",
        f"| `.fill` length | {policy.max_fill_length} |",
        f"| `.repeat(n)`, `.padStart(n)`, `.padEnd(n)` | {policy.max_repeat_count} |",
        f"| run time (wall clock) | {defaults.timeout} ms |",
        f"| tool calls per run | {defaults.max_tool_calls} |",
        f"| loop iterations per run | {defaults.max_iterations} |",
        f"| console output | {defaults.console_bytes} bytes, {defaults.console_calls} calls |",
        "",
    ]
    return "\n".join(lines)
