"""Pre-scan: cheap checks on the raw text before anything parses it."""

from __future__ import annotations

from ..results import ValidationIssue
from .policy import GuardPolicy


def prescan(code: str, policy: GuardPolicy) -> list[ValidationIssue]:
    """Issues found in the raw text. A non-empty result with a fatal issue stops validation here."""
    issues: list[ValidationIssue] = []
    if len(code.encode("utf-8", "surrogatepass")) > policy.max_code_bytes:
        issues.append(
            ValidationIssue(
                rule="max-code-size",
                message=f"Code is larger than {policy.max_code_bytes} bytes; split the work into smaller scripts",
            )
        )
    if "\x00" in code:
        issues.append(ValidationIssue(rule="forbidden-character", message="Code contains a NUL character"))
    return issues


def is_fatal(issues: list[ValidationIssue]) -> bool:
    """True when the text must not be parsed at all (too large, or holding bytes parsers choke on)."""
    return any(issue.rule in {"max-code-size", "forbidden-character"} for issue in issues)
