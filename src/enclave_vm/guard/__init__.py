"""The AgentScript guard: pre-scan → parse → rules → instrumentation."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from ..results import ValidationIssue
from .instrument import Instrumented, instrument
from .parse import ParsedScript, parse_script
from .policy import GuardPolicy, policy_for
from .prescan import is_fatal, prescan
from .reference import agentscript_reference
from .rules import check_rules
from .typescript import strip_types

__all__ = [
    "LANGUAGES",
    "GuardPolicy",
    "Instrumented",
    "Language",
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
    javascript: str | None = None
    """The JavaScript the rules judged (TypeScript without its types); None when the pre-scan stopped early."""

    @property
    def valid(self) -> bool:
        return not any(issue.severity == "error" for issue in self.issues)


Language = Literal["javascript", "typescript"]
LANGUAGES: tuple[Language, ...] = ("javascript", "typescript")

_BOM = "\ufeff"


def _check(code: str, policy: GuardPolicy, language: Language) -> tuple[list[ValidationIssue], ParsedScript | None]:
    if code.startswith(_BOM):  # editors save one; a space in its place keeps every column
        code = " " + code[1:]
    issues = prescan(code, policy)
    if is_fatal(issues):
        return issues, None
    if language == "typescript":
        stripped = strip_types(code)
        if stripped.issues:
            return [*issues, *stripped.issues], None
        code = stripped.javascript
    parsed = parse_script(code)
    issues.extend(check_rules(parsed, policy))
    return issues, parsed


def validate_code(code: str, policy: GuardPolicy, language: Language = "javascript") -> list[ValidationIssue]:
    """Every issue in `code` under `policy`; nothing runs."""
    return _check(code, policy, language)[0]


def prepare(code: str, policy: GuardPolicy, language: Language = "javascript") -> Prepared:
    """Validate, and when valid, instrument `code` for the runtime (TypeScript is stripped of its types first)."""
    issues, parsed = _check(code, policy, language)
    prepared = Prepared(issues=issues, instrumented=None, parsed=parsed, javascript=parsed.code if parsed else None)
    if parsed is not None and prepared.valid:
        prepared.instrumented = instrument(parsed)
    return prepared
