"""The reference text: generated from the rules' own data, and embedded verbatim in docs/agentscript.md."""

from __future__ import annotations

from pathlib import Path

import pytest
from test_compat import TABLE

from enclave_vm.config import LEVEL_DEFAULTS, SecurityLevel
from enclave_vm.guard import policy_for, validate_code
from enclave_vm.guard.language import CONSTRUCTS, RULES, Construct
from enclave_vm.guard.policy import LEVEL_GLOBALS
from enclave_vm.guard.reference import agentscript_reference

DOC = Path(__file__).resolve().parents[2] / "docs" / "agentscript.md"


@pytest.mark.parametrize("level", list(SecurityLevel))
def test_docs_embed_the_generated_reference(level: SecurityLevel) -> None:
    assert agentscript_reference(level) in DOC.read_text(encoding="utf-8")


@pytest.mark.parametrize("level", list(SecurityLevel))
def test_reference_lists_the_level_globals_and_limits(level: SecurityLevel) -> None:
    text = agentscript_reference(level)
    assert text.startswith(f"## AgentScript at the {level.value} level")
    for name in LEVEL_GLOBALS[level]:
        assert f"| `{name}` |" in text
    assert ("| `parseInt` |" in text) == (level != SecurityLevel.STRICT)
    assert f"| tool calls per run | {LEVEL_DEFAULTS[level].max_tool_calls} |" in text
    for rule in ("no-eval", "forbidden-loop", "dynamic-tool-name", "forbidden-property"):
        assert f"`{rule}`" in text


def test_level_may_be_given_by_name() -> None:
    assert agentscript_reference("secure") == agentscript_reference(SecurityLevel.SECURE)
    with pytest.raises(ValueError):
        agentscript_reference("LAX")


def test_every_rule_id_the_guard_reports_is_documented() -> None:
    reported = {
        issue.rule for row in TABLE for level in SecurityLevel for issue in validate_code(row[0], policy_for(level))
    }
    assert reported <= set(RULES)
    assert len(reported) >= 25


@pytest.mark.parametrize("construct", CONSTRUCTS, ids=[c.example[:40] for c in CONSTRUCTS])
def test_each_construct_example_is_valid_from_its_level_only(construct: Construct) -> None:
    """The reference's one example per construct: accepted from its level up (the names it uses declared)."""
    names = ("page", "a", "b", "user", "items", "total", "r", "ids", "list", "text", "get", "id")
    for level in SecurityLevel:
        issues = [i for i in validate_code(construct.example, policy_for(level, names)) if i.severity == "error"]
        if list(SecurityLevel).index(level) >= list(SecurityLevel).index(SecurityLevel(construct.first)):
            assert issues == [], (level, issues)
        elif construct.first != "STRICT":
            assert issues, level
