"""Constructor options: level defaults, explicit overrides, and clear errors for bad input."""

from __future__ import annotations

import inspect
from typing import Any

import pytest

from enclave_vm import Enclave, ScoringGateOptions, SecurityLevel, Toolset

LEVELS = {
    "STRICT": (5000, 10, 1000),
    "SECURE": (15000, 50, 5000),
    "STANDARD": (30000, 100, 10000),
    "PERMISSIVE": (60000, 1000, 100000),
}


@pytest.mark.parametrize("level", list(LEVELS))
def test_level_defaults(level: str) -> None:
    with Enclave(security_level=level) as enclave:
        assert (enclave.timeout, enclave.max_tool_calls, enclave.max_iterations) == LEVELS[level]
        assert enclave.memory_limit == 64 * 1024 * 1024
        assert enclave.security_level is SecurityLevel(level)


def test_default_level_is_standard() -> None:
    with Enclave() as enclave:
        assert enclave.security_level is SecurityLevel.STANDARD


def test_enum_member_accepted_and_explicit_options_win() -> None:
    with Enclave(security_level=SecurityLevel.STRICT, timeout=1234, max_tool_calls=3, max_iterations=7) as e:
        assert (e.timeout, e.max_tool_calls, e.max_iterations) == (1234, 3, 7)


@pytest.mark.parametrize(
    ("options", "error", "names"),
    [
        ({"timout": 5}, TypeError, "timout"),
        ({"timeout": -1}, ValueError, "timeout"),
        ({"timeout": 0}, ValueError, "timeout"),
        ({"timeout": "10"}, TypeError, "timeout"),
        ({"timeout": True}, TypeError, "timeout"),
        ({"max_tool_calls": -5}, ValueError, "max_tool_calls"),
        ({"max_iterations": 1.5}, TypeError, "max_iterations"),
        ({"memory_limit": 1000}, ValueError, "memory_limit"),
        ({"security_level": "LOOSE"}, ValueError, "security_level"),
        ({"security_level": 3}, TypeError, "security_level"),
        ({"tool_handler": 42}, TypeError, "tool_handler"),
        ({"globals": {"f": lambda: 1}}, TypeError, "globals"),
        ({"globals": {"x": float("nan")}}, ValueError, "globals"),
        ({"globals": {"x": {1, 2}}}, TypeError, "globals"),
        ({"globals": {"bad name": 1}}, ValueError, "globals"),
        ({"globals": {"callTool": 1}}, ValueError, "globals"),
        ({"globals": {"__ag_x": 1}}, ValueError, "globals"),
        ({"globals": [1]}, TypeError, "globals"),
        ({"verbose_errors": "yes"}, TypeError, "verbose_errors"),
        ({"scoring_gate": {"scorer": "magic", "block_threshold": 50}}, ValueError, "scoring_gate"),
        ({"scoring_gate": {"blok_threshold": 50}}, TypeError, "scoring_gate"),
        ({"sidecar": {"enabled": True, "storage": "disk"}}, ValueError, "sidecar"),
        ({"adapter": object()}, TypeError, "adapter"),
    ],
)
def test_bad_options_name_the_option(options: dict[str, Any], error: type[Exception], names: str) -> None:
    with pytest.raises(error) as info:
        Enclave(**options)
    assert names in str(info.value)


def test_cyclic_globals_rejected() -> None:
    cyclic: dict[str, Any] = {}
    cyclic["self"] = cyclic
    with pytest.raises(ValueError, match="globals"):
        Enclave(globals={"c": cyclic})


def test_option_objects_as_dataclass_or_dict() -> None:
    with Enclave(scoring_gate=ScoringGateOptions(scorer="rule-based", block_threshold=80)) as e:
        assert e.scoring_gate is not None and e.scoring_gate.block_threshold == 80
    with Enclave(scoring_gate={"scorer": "rule-based", "block_threshold": 60}) as e:
        assert e.scoring_gate is not None and e.scoring_gate.block_threshold == 60


async def test_bad_run_options_raise() -> None:
    with Enclave() as enclave:
        with pytest.raises(ValueError, match="timeout"):
            await enclave.run("return 1", timeout=-5)
        with pytest.raises(TypeError, match="max_tool_calls"):
            await enclave.run("return 1", max_tool_calls="3")  # type: ignore[arg-type]
        with pytest.raises(TypeError, match="code"):
            await enclave.run(123)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "url", ["redis://127.0.0.1:notaport/0", "redis://127.0.0.1:6379/x", "redis://:6379/0", "http://127.0.0.1:6379"]
)
def test_a_malformed_redis_url_is_refused_at_construction(url: str) -> None:
    with pytest.raises(ValueError, match="redis_url"):
        Enclave(sidecar={"enabled": True, "storage": "redis", "redis_url": url})


# ---- typed, keyword-only constructor ----
def test_every_option_is_a_typed_keyword_only_parameter() -> None:
    parameters = inspect.signature(Enclave).parameters
    assert list(parameters) == [
        "security_level", "timeout", "max_tool_calls", "max_iterations", "memory_limit", "tool_handler",
        "globals", "scoring_gate", "adapter", "verbose_errors", "sidecar", "durable", "max_state_bytes", "language",
        "tool_names", "max_concurrent_tool_calls",
    ]  # fmt: skip
    assert all(p.kind is inspect.Parameter.KEYWORD_ONLY for p in parameters.values())
    assert all(p.annotation is not inspect.Parameter.empty for p in parameters.values())
    with pytest.raises(TypeError):
        Enclave("STRICT")  # type: ignore[misc]


@pytest.mark.parametrize(
    ("options", "message"),
    [
        (
            {"securty_level": "STRICT"},
            "got an unknown option 'securty_level'; did you mean 'security_level'?",
        ),
        ({"max_tool_call": 3}, "got an unknown option 'max_tool_call'; did you mean 'max_tool_calls'?"),
        ({"memorylimit": 3}, "got an unknown option 'memorylimit'; did you mean 'memory_limit'?"),
    ],
)
def test_a_misspelt_option_gets_a_did_you_mean(options: dict[str, Any], message: str) -> None:
    with pytest.raises(TypeError) as info:
        Enclave(**options)
    assert str(info.value) == f"Enclave() {message}"


def test_unknown_options_without_a_close_match_list_the_options() -> None:
    with pytest.raises(TypeError) as info:
        Enclave(colour="red", timout=5)  # type: ignore[call-arg]
    assert str(info.value).startswith(
        "Enclave() got unknown options 'colour', 'timout' (did you mean 'timeout'?); the options are: adapter, "
    )


def test_none_means_the_level_default() -> None:
    with Enclave(security_level="STRICT", timeout=None, max_tool_calls=None, max_iterations=None) as enclave:
        assert (enclave.timeout, enclave.max_tool_calls, enclave.max_iterations) == LEVELS["STRICT"]


def test_repr_shows_the_settings_but_no_global_values() -> None:
    toolset = Toolset()

    @toolset.tool
    def ping() -> str:
        return "pong"

    enclave = Enclave(security_level="SECURE", tool_handler=toolset, globals={"api_key": "hunter2"}, timeout=900)
    assert repr(enclave) == (
        "Enclave(security_level='SECURE', timeout=900, max_tool_calls=50, max_iterations=5000, "
        "memory_limit=67108864, adapter='inprocess', tool_handler=Toolset([\"ping\"]), globals=['api_key'])"
    )
    enclave.dispose()
    assert repr(enclave).endswith(" (disposed)")

    def handler(name: str, args: dict[str, Any], context: dict[str, Any] | None) -> Any:
        return None

    with Enclave(tool_handler=handler, sidecar={"enabled": True}) as other:
        assert "tool_handler=<function test_repr_shows_the_settings_but_no_global_values.<locals>.handler>" in repr(
            other
        )
        assert "sidecar='memory'" in repr(other)
