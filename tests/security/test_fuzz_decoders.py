"""Property-based fuzzing of everything on the host that reads untrusted text: the value decoder, the
outbox/result/console paths (through random guest scripts) and the validator."""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import Iterator
from typing import Any

import pytest
from attack_helpers import leaked, sentinel_tools
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from enclave_vm import Enclave, ErrorCode, SecurityLevel
from enclave_vm.bridge.codec import CodecError, ValueLimits, decode
from enclave_vm.guard import policy_for, validate_code
from enclave_vm.results import ValidationIssue

LIMITS = ValueLimits(max_bytes=4096, max_depth=16, max_items=1000)
FAST = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])

json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(2**53), 2**53)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=5) | st.dictionaries(st.text(max_size=8), inner, max_size=5),
    max_leaves=20,
)


@FAST
@given(st.text(max_size=300))
def test_decode_random_text(text: str) -> None:
    with contextlib.suppress(CodecError):
        decode(text, LIMITS)


@FAST
@given(st.integers(1, 200_000), st.sampled_from(["[", '{"a":', '[[{"b":']))
def test_decode_nesting_bombs(depth: int, opener: str) -> None:
    text = opener * depth
    try:
        decode(text, ValueLimits(max_bytes=10**7, max_depth=64))
    except CodecError as exc:
        assert isinstance(exc, CodecError)


@FAST
@given(json_values)
def test_decode_roundtrip(value: Any) -> None:
    text = json.dumps(value)
    with contextlib.suppress(CodecError):
        assert decode(text, LIMITS) == json.loads(text)


@FAST
@given(st.text(max_size=400))
def test_validator_random_text(code: str) -> None:
    issues = validate_code(code, policy_for(SecurityLevel.STANDARD))
    assert all(isinstance(issue, ValidationIssue) for issue in issues)


TOKENS = [
    "eval",
    "constructor",
    "(",
    ")",
    "{",
    "}",
    "[",
    "]",
    "`",
    "'",
    '"',
    "/*",
    "*/",
    "//",
    "\\u0065",
    "=>",
    "callTool",
    "return",
    "for",
    ";",
    "\n",
    "async",
    "await",
    "__proto__",
    "${",
    "x",
    "1",
    ".",
    ",",
]


@FAST
@given(st.lists(st.sampled_from(TOKENS), max_size=40))
def test_validator_token_soup(tokens: list[str]) -> None:
    issues = validate_code(" ".join(tokens), policy_for(SecurityLevel.STANDARD))
    assert all(isinstance(issue, ValidationIssue) for issue in issues)


def _as_doubles(value: Any) -> Any:
    """Numbers as doubles: the engine prints whole floats as integers."""
    return json.loads(json.dumps(value), parse_int=float)


_loop = asyncio.new_event_loop()


@pytest.fixture(scope="module")
def fuzzed(adapter_kind: str, shared_adapters: Any) -> Iterator[Enclave]:
    """The Enclave the random inputs run on (once per adapter kind)."""
    adapter = shared_adapters.get(adapter_kind)
    options: dict[str, Any] = {} if adapter is None else {"adapter": adapter}
    with Enclave(tool_handler=sentinel_tools, timeout=1000, max_tool_calls=5, **options) as enclave:
        yield enclave


def _run(enclave: Enclave, code: str) -> Any:
    return _loop.run_until_complete(enclave.run(code))


@settings(max_examples=60, deadline=None)
@given(json_values)
def test_random_tool_args(fuzzed: Enclave, value: Any) -> None:
    args = json.dumps({"v": value})
    result = _run(fuzzed, f"return await callTool('echo', {args})")
    assert not leaked(repr(result))
    if result.success:
        assert _as_doubles(result.value) == _as_doubles(json.loads(args))
    else:
        assert result.error is not None and result.error.code in set(ErrorCode)


@settings(max_examples=60, deadline=None)
@given(st.lists(json_values, max_size=4))
def test_random_console_args(fuzzed: Enclave, values: list[Any]) -> None:
    args = ", ".join(json.dumps(v) for v in values)
    result = _run(fuzzed, f"console.log({args}); return 1")
    assert not leaked(repr(result))
    assert result.success or result.error is not None
    assert isinstance(result.stdout, str)


@settings(max_examples=60, deadline=None)
@given(json_values)
def test_random_return_values(fuzzed: Enclave, value: Any) -> None:
    result = _run(fuzzed, f"return {json.dumps(value)}")
    assert not leaked(repr(result))
    if result.success:  # numbers compare as doubles: JS prints whole floats as integers
        assert _as_doubles(result.value) == _as_doubles(value)
