"""The AgentScript reference for one security level, as Markdown ready to paste into an LLM prompt.

It is generated from the same data the guard enforces (`language`, `policy`, the level defaults), and
docs/agentscript.md embeds it verbatim, so the documentation cannot drift from the rules.
"""

from __future__ import annotations

from ..config import LEVEL_DEFAULTS, SecurityLevel, parse_level
from .language import GLOBAL_DESCRIPTIONS, RULES
from .policy import LEVEL_GLOBALS, GuardPolicy

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


def agentscript_reference(level: SecurityLevel | str) -> str:
    """The rules of AgentScript at `level`: what to write, the globals, what is rejected, the limits."""
    level = parse_level(level, "level")
    policy = GuardPolicy(level=level, allowed_globals=LEVEL_GLOBALS[level])
    defaults = LEVEL_DEFAULTS[level]
    lines = [
        f"## AgentScript at the {level.value} level",
        "",
        "AgentScript is plain JavaScript with a smaller vocabulary. The script is the body of an async "
        "function: use top-level `await`, and `return` the result (JSON data). Call tools with "
        "`await callTool('tool:name', { ...args })`; the tool name must be a string literal. Use `const`/`let`, "
        "arrow functions, `for … of`, array methods, destructuring, spread, template strings, `?.`, `??` "
        "and `try`/`catch`.",
        "",
        _EXAMPLE,
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
        "The host may add read-only data globals of its own. Any other name must be declared in the script.",
        "",
        "### Not allowed",
        "",
        "| construct | rule | write instead |",
        "|---|---|---|",
    ]
    for rule in RULES.values():
        if rule.id not in _NOT_LISTED:
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
