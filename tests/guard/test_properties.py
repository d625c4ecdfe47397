"""Property tests: the guard never raises, and what it accepts still compiles once instrumented."""

from __future__ import annotations

from guard_helpers import compiles
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from test_compat import VALID

from enclave_vm.config import SecurityLevel
from enclave_vm.guard import policy_for, prepare, validate_code
from enclave_vm.guard.instrument import WRAP_PREFIX, WRAP_SUFFIX

SETTINGS = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
LEVELS = st.sampled_from(list(SecurityLevel))
SCRIPTS = [row[0] for row in VALID if row[0]]

TOKENS = st.sampled_from(
    [
        "(",
        ")",
        "[",
        "]",
        "{",
        "}",
        "`",
        "${",
        "'",
        '"',
        "/",
        "*",
        "//",
        "/*",
        "*/",
        "\\",
        "\\u0063",
        "\\x63",
        ";",
        ",",
        ".",
        "?.",
        "??",
        "=>",
        "=",
        "+",
        "...",
        ":",
        "\n",
        " ",
        "\t",
        "\r",
        "\x00",
        "\u202e",
        "\u200b",
        "é",
        "😀",
        "\ud800",
        "а",
        "eval",
        "constructor",
        "function",
        "class",
        "while",
        "for",
        "of",
        "in",
        "await",
        "async",
        "return",
        "try",
        "catch",
        "throw",
        "new",
        "this",
        "import",
        "callTool",
        "x",
        "1",
        "1e9",
        "0x",
        "<a>",
        "</a>",
        "#!",
        "<!--",
        "-->",
        "get",
        "set",
        "static",
        "yield",
        "let",
        "const",
        "var",
    ]
)


def _check_issues(code: str, level: SecurityLevel) -> None:
    for issue in validate_code(code, policy_for(level)):
        assert issue.severity in ("error", "warning")
        assert issue.rule and issue.message
        assert issue.location is not None
        assert issue.location["line"] >= 1 and issue.location["column"] >= 1


@SETTINGS
@given(st.text(max_size=300), LEVELS)
def test_random_text_never_raises(code: str, level: SecurityLevel) -> None:
    _check_issues(code, level)
    prepare(code, policy_for(level))


@SETTINGS
@given(st.lists(TOKENS, max_size=60).map("".join), LEVELS)
def test_random_token_soup_never_raises(code: str, level: SecurityLevel) -> None:
    _check_issues(code, level)
    prepare(code, policy_for(level))


@st.composite
def mutated_scripts(draw: st.DrawFn) -> str:
    code = draw(st.sampled_from(SCRIPTS))
    for _ in range(draw(st.integers(1, 3))):
        start = draw(st.integers(0, len(code)))
        end = draw(st.integers(start, min(len(code), start + 8)))
        operation = draw(st.sampled_from(["delete", "insert", "replace", "duplicate"]))
        if operation == "delete":
            code = code[:start] + code[end:]
        elif operation == "insert":
            code = code[:start] + draw(TOKENS) + code[start:]
        elif operation == "replace":
            code = code[:start] + draw(TOKENS) + code[end:]
        else:
            code = code[:end] + code[start:end] + code[end:]
    return code


@SETTINGS
@given(mutated_scripts(), LEVELS)
def test_mutated_scripts_never_raise_and_accepted_ones_compile(code: str, level: SecurityLevel) -> None:
    _check_issues(code, level)
    prepared = prepare(code, policy_for(level))
    if prepared.valid and compiles(WRAP_PREFIX + code + WRAP_SUFFIX):
        assert prepared.instrumented is not None
        assert compiles(prepared.instrumented.program), prepared.instrumented.program


@SETTINGS
@given(st.sampled_from(SCRIPTS), st.integers(0, 3))
def test_validation_is_deterministic(code: str, index: int) -> None:
    level = list(SecurityLevel)[index]
    assert validate_code(code, policy_for(level)) == validate_code(code, policy_for(level))
