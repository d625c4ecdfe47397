"""Options, reference shapes and the in-memory store, without running scripts."""

from __future__ import annotations

import time
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from enclave_vm import Enclave, SidecarOptions, is_sidecar_reference
from enclave_vm.config import DEFAULT_SIDECAR_THRESHOLD, DEFAULT_SIDECAR_TTL, SIDECAR_LEVEL_DEFAULTS, SecurityLevel
from enclave_vm.sidecar import MemoryStore, SidecarError
from enclave_vm.sidecar.references import new_reference_id, parse_reference


@pytest.mark.parametrize(
    ("options", "error", "names"),
    [
        ({"enabled": "yes"}, TypeError, "sidecar.enabled"),
        ({"enabled": True, "threshold": -1}, ValueError, "sidecar.threshold"),
        ({"enabled": True, "threshold": 1.5}, TypeError, "sidecar.threshold"),
        ({"enabled": True, "ttl": 0}, ValueError, "sidecar.ttl"),
        ({"enabled": True, "ttl": "60s"}, TypeError, "sidecar.ttl"),
        ({"enabled": True, "storage": "disk"}, ValueError, "sidecar.storage"),
        ({"enabled": True, "storage": "redis"}, ValueError, "sidecar.redis_url"),
        ({"enabled": True, "storage": "redis", "redis_url": "http://x"}, ValueError, "sidecar.redis_url"),
        ({"enabled": True, "storage": "redis", "redis_url": 5}, TypeError, "sidecar.redis_url"),
        ({"enabled": True, "redis_url": "redis://127.0.0.1:6379/0"}, ValueError, "sidecar.redis_url"),
        ({"enabled": True, "namespace": ""}, ValueError, "sidecar.namespace"),
        ({"enabled": True, "namespace": "a b"}, ValueError, "sidecar.namespace"),
        ({"enabled": True, "namespace": "x" * 129}, ValueError, "sidecar.namespace"),
        ({"enabled": True, "namespace": 7}, TypeError, "sidecar.namespace"),
        ({"enabled": True, "resolve_value": 1}, TypeError, "sidecar.resolve_value"),
        ({"enabled": True, "max_stored_bytes": 0}, ValueError, "sidecar.max_stored_bytes"),
        ({"enabled": True, "max_references": 0}, ValueError, "sidecar.max_references"),
        ({"enabled": True, "redis_timeout": 0}, ValueError, "sidecar.redis_timeout"),
        ({"enabled": True, "treshold": 10}, TypeError, "treshold"),
    ],
)
def test_bad_sidecar_options_name_the_option(options: dict[str, Any], error: type[Exception], names: str) -> None:
    with pytest.raises(error) as info:
        Enclave(sidecar=options)
    assert names in str(info.value)


def test_defaults() -> None:
    with Enclave(sidecar=SidecarOptions(enabled=True)) as one, Enclave(sidecar={"enabled": True}) as two:
        sidecar = one._sidecar
        assert sidecar is not None and two._sidecar is not None
        assert sidecar.threshold == DEFAULT_SIDECAR_THRESHOLD == 1 << 20
        assert sidecar.ttl == DEFAULT_SIDECAR_TTL == 600_000
        assert sidecar.resolve_value is True
        standard = SIDECAR_LEVEL_DEFAULTS[SecurityLevel.STANDARD]
        assert (sidecar.max_stored_bytes, sidecar.max_references) == (standard.max_stored_bytes, 100)
        # a fresh random namespace per Enclave
        assert sidecar.namespace != two._sidecar.namespace and len(sidecar.namespace) == 32
    with Enclave(sidecar={"enabled": False}) as off, Enclave() as none:
        assert off._sidecar is None and none._sidecar is None


def test_reference_ids_are_128_random_bits() -> None:
    ids = {new_reference_id() for _ in range(1000)}
    assert len(ids) == 1000
    assert all(len(i) == 32 and int(i, 16) >= 0 for i in ids)


def test_reference_shape() -> None:
    good = {"$sidecarRef": "ab" * 16, "size": 12}
    assert is_sidecar_reference(good)
    assert parse_reference(good).size == 12
    bad_claims: list[object] = [{"$sidecarRef": "AB" * 16, "size": 1}, {"$sidecarRef": "ab" * 16, "size": 1, "x": 1}]
    for bad in [*bad_claims, {"size": 1}, []]:
        assert not is_sidecar_reference(bad)
    with pytest.raises(SidecarError, match="malformed"):
        parse_reference({"$sidecarRef": "ab" * 17, "size": 1})


def test_memory_store_expires_entries() -> None:
    store = MemoryStore()
    store.put("ns", "a" * 32, b"data", 50, 1.0)
    assert store.get("ns", "a" * 32, 1.0) == b"data"
    assert store.get("other", "a" * 32, 1.0) is None
    time.sleep(0.1)
    assert store.get("ns", "a" * 32, 1.0) is None
    assert store.stored_bytes == 0


def test_memory_store_is_bounded_in_bytes() -> None:
    store = MemoryStore(max_bytes=100, max_entries=1000)
    for index in range(5):
        store.put("ns", f"{index:032x}", b"x" * 30, 60_000, 1.0)
    assert store.stored_bytes <= 100
    assert store.get("ns", f"{4:032x}", 1.0) is not None  # the newest stay
    assert store.get("ns", f"{0:032x}", 1.0) is None  # the oldest went first
    with pytest.raises(SidecarError, match="does not fit"):
        store.put("ns", "f" * 32, b"x" * 101, 60_000, 1.0)


def test_memory_store_is_bounded_in_entries_and_prefers_dropping_expired() -> None:
    store = MemoryStore(max_bytes=1 << 20, max_entries=3)
    store.put("ns", "0" * 32, b"keep", 60_000, 1.0)
    store.put("ns", "1" * 32, b"short", 1, 1.0)
    store.put("ns", "2" * 32, b"keep", 60_000, 1.0)
    time.sleep(0.01)
    store.put("ns", "3" * 32, b"new", 60_000, 1.0)
    assert len(store) == 3
    assert store.get("ns", "0" * 32, 1.0) == b"keep"  # the expired one made room, not the oldest live one
    store.put("ns", "4" * 32, b"newer", 60_000, 1.0)
    assert store.get("ns", "0" * 32, 1.0) is None
    assert len(store) == 3


def test_missing_redis_server_is_a_clear_failure(monkeypatch: pytest.MonkeyPatch) -> None:
    from redis_server import MISSING, RedisServer

    monkeypatch.setenv("PATH", "/nonexistent")
    with pytest.raises(RuntimeError) as info:
        RedisServer.start()
    assert str(info.value) == MISSING and "apt-get install redis-server" in MISSING


def test_a_namespace_filling_the_memory_store_evicts_its_own_entries_first() -> None:
    # Tenants share the process's store: the one holding the most makes room, not a smaller neighbour.
    store = MemoryStore(max_bytes=100, max_entries=1000)
    store.put("small", "a" * 32, b"s" * 20, 60_000, 1.0)
    for index in range(10):
        store.put("big", f"{index:032x}", b"b" * 20, 60_000, 1.0)
    assert store.stored_bytes <= 100
    assert store.get("small", "a" * 32, 1.0) == b"s" * 20  # the oldest entry of all, yet kept
    assert store.get("big", f"{9:032x}", 1.0) is not None
    assert store.get("big", f"{0:032x}", 1.0) is None
    # Once the small tenant holds the most, its own oldest entries make room for it.
    for index in range(4):
        store.put("small", f"{index:032x}", b"s" * 20, 60_000, 1.0)
    assert store.stored_bytes <= 100
    assert store.get("small", "a" * 32, 1.0) is None
    assert store.get("big", f"{9:032x}", 1.0) is not None


def test_the_memory_store_counts_a_replaced_entry_once() -> None:
    store = MemoryStore(max_bytes=100, max_entries=10)
    store.put("ns", "a" * 32, b"x" * 40, 60_000, 1.0)
    store.put("ns", "a" * 32, b"y" * 40, 60_000, 1.0)
    assert store.stored_bytes == 40 and len(store) == 1
    assert store.get("ns", "a" * 32, 1.0) == b"y" * 40
    store.delete("ns", ["a" * 32], 1.0)
    assert store.stored_bytes == 0 and len(store) == 0


_OPERATIONS = st.lists(
    st.tuples(
        st.sampled_from(["put", "delete"]),
        st.sampled_from(["ns-a", "ns-b", "ns-c"]),
        st.integers(min_value=0, max_value=7),
        st.integers(min_value=0, max_value=60),
    ),
    max_size=60,
)


@given(_OPERATIONS)
def test_memory_store_bookkeeping_holds_for_any_sequence(operations: list[tuple[str, str, int, int]]) -> None:
    store = MemoryStore(max_bytes=100, max_entries=5)
    for action, namespace, key, size in operations:
        ref_id = f"{key:032x}"
        if action == "put":
            store.put(namespace, ref_id, b"x" * size, 60_000, 1.0)
            assert store.get(namespace, ref_id, 1.0) == b"x" * size  # what was just stored is there
        else:
            store.delete(namespace, [ref_id], 1.0)
            assert store.get(namespace, ref_id, 1.0) is None
        held = [
            data
            for name in ("ns-a", "ns-b", "ns-c")
            for index in range(8)
            if (data := store.get(name, f"{index:032x}", 1.0)) is not None
        ]
        assert store.stored_bytes == sum(len(data) for data in held) <= 100
        assert len(store) == len(held) <= 5
