"""The AgentScript guard: pre-scan → parse → rules → instrumentation."""

from __future__ import annotations

from dataclasses import dataclass

from ..results import ValidationIssue
from .instrument import Instrumented, instrument
from .parse import ParsedScript, parse_script
from .policy import GuardPolicy, policy_for
from .prescan import is_fatal, prescan
from .reference import agentscript_reference
from .rules import check_rules

__all__ = [
    "GuardPolicy",
    "Instrumented",
    "ParsedScript",
    "Prepared",
    "agentscript_reference",
    "parse_script",
    "policy_for",
    "prepare",
    "validate_code",
]


@dataclass
class Prepared:
    issues: list[ValidationIssue]
    instrumented: Instrumented | None
    """None when any issue is an error: nothing may run."""
    parsed: ParsedScript | None = None
    """The parse the rules ran on (shared with the scoring gate); None when the pre-scan stopped early."""

    @property
    def valid(self) -> bool:
        return not any(issue.severity == "error" for issue in self.issues)


def _check(code: str, policy: GuardPolicy) -> tuple[list[ValidationIssue], ParsedScript | None]:
    issues = prescan(code, policy)
    if is_fatal(issues):
        return issues, None
    parsed = parse_script(code)
    issues.extend(check_rules(parsed, policy))
    return issues, parsed


def validate_code(code: str, policy: GuardPolicy) -> list[ValidationIssue]:
    """Every issue in `code` under `policy`; nothing runs."""
    return _check(code, policy)[0]


def prepare(code: str, policy: GuardPolicy) -> Prepared:
    """Validate, and when valid, instrument `code` for the runtime."""
    issues, parsed = _check(code, policy)
    prepared = Prepared(issues=issues, instrumented=None, parsed=parsed)
    if parsed is not None and prepared.valid:
        prepared.instrumented = instrument(parsed)
    return prepared
