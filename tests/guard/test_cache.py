"""PreparedCache: a repeated script gets the same verdict without a second parse, within a size budget."""

from __future__ import annotations

import pytest

from enclave_vm.config import SecurityLevel
from enclave_vm.guard import policy_for, prepare
from enclave_vm.guard.cache import PreparedCache

POLICY = policy_for(SecurityLevel.STANDARD, {})


def test_a_cached_verdict_equals_a_fresh_one() -> None:
    cache = PreparedCache(POLICY)
    code = "const xs = [1, 2, 3];\nfor (const x of xs) { console.log(x); }\nreturn xs.length;"
    first = cache.prepare(code)
    second = cache.prepare(code)
    fresh = prepare(code, POLICY)
    assert first.instrumented is not None and second.instrumented is not None
    assert second.instrumented.program == fresh.instrumented.program  # type: ignore[union-attr]
    assert second.issues == fresh.issues
    assert first.parsed is not None  # a fresh verdict carries the parse for the scoring gate
    assert second.parsed is None  # a cached one does not keep a syntax tree alive


def test_an_invalid_script_stays_invalid_from_the_cache() -> None:
    cache = PreparedCache(POLICY)
    for _ in range(2):
        verdict = cache.prepare("eval('1')")
        assert verdict.instrumented is None
        assert verdict.issues[0].rule == "no-eval"


def test_a_cached_verdict_is_not_parsed_again(monkeypatch: pytest.MonkeyPatch) -> None:
    cache = PreparedCache(POLICY)
    cache.prepare("return 1;")
    import enclave_vm.guard.cache as module

    def fail(*args: object) -> None:
        raise AssertionError("parsed again")

    monkeypatch.setattr(module, "prepare", fail)
    assert cache.prepare("return 1;").valid


def test_the_cache_stays_within_its_budget() -> None:
    cache = PreparedCache(POLICY, budget_chars=2_000)
    for i in range(100):
        cache.prepare(f"return {i} + {'1' * 40};")
    assert 0 < len(cache) < 100
    # The newest entries survive, the oldest were evicted.
    assert cache.prepare("return 99 + " + "1" * 40 + ";").valid


def test_a_script_larger_than_the_budget_is_not_cached() -> None:
    cache = PreparedCache(POLICY, budget_chars=50)
    assert cache.prepare("return " + "1 + " * 40 + "1;").valid
    assert len(cache) == 0
