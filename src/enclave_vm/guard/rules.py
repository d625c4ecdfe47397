"""AST rules: each a small named check with a stable rule id."""

from __future__ import annotations

from ..results import ValidationIssue
from .parse import ParsedScript
from .policy import GuardPolicy

_FORBIDDEN_IDENTIFIERS = {"eval": "no-eval", "Function": "no-function-constructor"}


def check_rules(parsed: ParsedScript, policy: GuardPolicy) -> list[ValidationIssue]:
    """Every rule violation in the script (a minimal set; the full AgentScript rules live here)."""
    issues: list[ValidationIssue] = []
    for node in parsed.nodes:
        if node.is_error or node.is_missing:
            issues.append(
                ValidationIssue(
                    rule="syntax-error",
                    message="Syntax error" if node.is_error else f"Syntax error: missing {node.type}",
                    location=parsed.node_location(node),
                )
            )
        elif node.type == "identifier":
            name = parsed.text(node)
            rule = _FORBIDDEN_IDENTIFIERS.get(name)
            if rule:
                issues.append(
                    ValidationIssue(
                        rule=rule,
                        message=f"Identifier '{name}' is not allowed",
                        location=parsed.node_location(node),
                    )
                )
    return issues
