"""Fixtures of the security suite: host sentinels, module-scoped enclaves (one set per adapter kind, on the
session's shared adapters) and a module RSS bound."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from attack_helpers import ENV_NAME, ENV_SECRET, FILE_NAME, FILE_SECRET, RSS_BOUND, rss, sentinel_tools

from enclave_vm import Enclave


@pytest.fixture(scope="session", autouse=True)
def host_sentinels(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """A secret environment variable and a secret file the guest must never reach."""
    path = tmp_path_factory.mktemp("sentinel") / FILE_NAME
    path.write_text(FILE_SECRET, encoding="utf-8")
    old = {key: os.environ.get(key) for key in (ENV_NAME, "ENCLAVE_SENTINEL_FILE")}
    os.environ[ENV_NAME] = ENV_SECRET
    os.environ["ENCLAVE_SENTINEL_FILE"] = str(path)
    yield path
    for key, value in old.items():
        if value is None:
            os.environ.pop(key, None)
        else:
            os.environ[key] = value


@pytest.fixture(scope="module", autouse=True)
def module_rss_bound() -> Iterator[None]:
    before = rss()
    yield
    growth = rss() - before
    assert growth < RSS_BOUND, f"host RSS grew by {growth / 2**20:.0f} MiB over the module"


def _enclave(kind: str, shared: Any, **options: Any) -> Enclave:
    adapter = shared.get(kind)
    if adapter is not None:
        options["adapter"] = adapter
    return Enclave(**options)


@pytest.fixture(scope="module")
def std(adapter_kind: str, shared_adapters: Any) -> Iterator[Enclave]:
    """STANDARD level with the sentinel tools and a short timeout."""
    with _enclave(
        adapter_kind, shared_adapters, tool_handler=sentinel_tools, timeout=2000, max_tool_calls=20
    ) as enclave:
        yield enclave


@pytest.fixture(scope="module")
def cpu(adapter_kind: str, shared_adapters: Any) -> Iterator[Enclave]:
    """For CPU cases: a 300 ms wall clock, iteration counting far out of reach, and memory to spare (an
    endless promise chain grows the heap: under the default 64 MiB it may run out before the deadline)."""
    with _enclave(
        adapter_kind,
        shared_adapters,
        tool_handler=sentinel_tools,
        timeout=300,
        max_iterations=10**12,
        max_tool_calls=20,
        memory_limit=512 << 20,
    ) as enclave:
        yield enclave


@pytest.fixture(scope="module")
def mem(adapter_kind: str, shared_adapters: Any) -> Iterator[Enclave]:
    """For memory cases: a 16 MiB heap."""
    with _enclave(
        adapter_kind,
        shared_adapters,
        tool_handler=sentinel_tools,
        timeout=3000,
        memory_limit=16 * 1024 * 1024,
        max_iterations=10**9,
    ) as enclave:
        yield enclave


@pytest.fixture(scope="module")
def strict(adapter_kind: str, shared_adapters: Any) -> Iterator[Enclave]:
    with _enclave(
        adapter_kind, shared_adapters, tool_handler=sentinel_tools, security_level="STRICT", timeout=2000
    ) as enclave:
        yield enclave


@pytest.fixture(scope="module")
def raw_adapter(adapter_kind: str, shared_adapters: Any) -> Iterator[Any]:
    """The adapter of the current kind, to drive programs below the guard (`adapter_attack`)."""
    from enclave_vm.adapters.inprocess import InProcessAdapter

    shared = shared_adapters.get(adapter_kind)
    if shared is not None:
        yield shared
        return
    own = InProcessAdapter()
    yield own
    own.dispose()
