"""Fixtures shared by the whole suite. The contract tests run once per adapter in `adapter_kinds`: they
build their Enclaves with `make_enclave` (or the `enclave`/`async_enclave` fixtures), which use the
adapter of the current `adapter_kind`.

Starting worker processes for every test would be slow, so each adapter kind is built once per test
session and shared: an Enclave's dispose() leaves the shared adapter running, and the session's end
disposes it. Tests that inspect an adapter's own behaviour build their own adapter instead.

Ray is started once per session, on first use (the shared "ray" adapter or the `local_ray` fixture),
confined to loopback (`start_local_ray`), and shut down when the session ends.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest

from adapter_kinds import ADAPTER_FACTORIES, KNOWN_DIFFERENCES, MakeEnclave
from enclave_vm import Enclave
from enclave_vm.adapters.base import EnclaveAdapter
from enclave_vm.bridge.dispatch import ToolDispatcher
from enclave_vm.bridge.protocol import RunOutcome, StartRequest
from tool_fixtures import async_tools, sync_tools


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Mark the documented differences of an adapter (adapter_kinds.KNOWN_DIFFERENCES) as strict xfail."""
    for item in items:
        callspec = getattr(item, "callspec", None)
        kind = callspec.params.get("adapter_kind") if callspec is not None else None
        known = KNOWN_DIFFERENCES.get(str(kind), {}) if kind is not None else {}
        if not known:
            continue
        file_name = item.nodeid.split("::", 1)[0].rsplit("/", 1)[-1]
        test_id = f"{file_name}::{item.name}".replace(f"{kind}-", "").replace(f"[{kind}]", "")
        reason = known.get(test_id)
        if reason is not None:
            item.add_marker(pytest.mark.xfail(strict=True, reason=f"{kind}: {reason}"))


class SessionRay:
    """The session's local Ray: started on first use, shut down by `pytest_sessionfinish`."""

    def __init__(self) -> None:
        self.started = False

    def ensure(self) -> None:
        if not self.started:
            from enclave_vm.adapters.ray import start_local_ray

            start_local_ray(num_cpus=2)
            self.started = True

    def shutdown(self) -> None:
        if self.started:
            import ray

            ray.shutdown()
            self.started = False


SESSION_RAY = SessionRay()


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    SESSION_RAY.shutdown()  # after every fixture's teardown, so after the shared Ray adapter is disposed


@pytest.fixture(scope="session")
def local_ray() -> None:
    """This process is connected to the session's local Ray (127.0.0.1 only)."""
    SESSION_RAY.ensure()


class SharedAdapter:
    """An adapter used by many Enclaves: their dispose() is a no-op, `close()` disposes it for real."""

    def __init__(self, inner: EnclaveAdapter) -> None:
        self.inner = inner

    async def execute(self, request: StartRequest, tools: ToolDispatcher) -> RunOutcome:
        return await self.inner.execute(request, tools)

    def dispose(self) -> None:
        pass

    def close(self) -> None:
        self.inner.dispose()


class SharedAdapters:
    def __init__(self) -> None:
        self._built: dict[str, SharedAdapter | None] = {}

    def get(self, kind: str) -> SharedAdapter | None:
        if kind not in self._built:
            if kind == "ray":
                SESSION_RAY.ensure()
            inner = ADAPTER_FACTORIES[kind]()
            self._built[kind] = None if inner is None else SharedAdapter(inner)
        return self._built[kind]

    def close(self) -> None:
        for adapter in self._built.values():
            if adapter is not None:
                adapter.close()
        self._built.clear()


@pytest.fixture(scope="session")
def shared_adapters() -> Iterator[SharedAdapters]:
    adapters = SharedAdapters()
    yield adapters
    adapters.close()


@pytest.fixture(scope="session", params=sorted(ADAPTER_FACTORIES))
def adapter_kind(request: pytest.FixtureRequest) -> str:
    """The name of the adapter a contract test runs against (every test runs once per kind)."""
    return str(request.param)


def enclave_factory(kind: str, shared: SharedAdapters) -> tuple[MakeEnclave, list[Enclave]]:
    made: list[Enclave] = []

    def make(**options: Any) -> Enclave:
        adapter = shared.get(kind)
        if adapter is not None:
            options.setdefault("adapter", adapter)
        instance = Enclave(**options)
        made.append(instance)
        return instance

    return make, made


@pytest.fixture
def make_enclave(adapter_kind: str, shared_adapters: SharedAdapters) -> Iterator[MakeEnclave]:
    """`make_enclave(**options)` builds an Enclave on the current adapter kind; all are disposed after the test."""
    make, made = enclave_factory(adapter_kind, shared_adapters)
    yield make
    for instance in made:
        instance.dispose()


@pytest.fixture
def enclave(make_enclave: MakeEnclave) -> Iterator[Enclave]:
    with make_enclave(tool_handler=sync_tools) as instance:
        yield instance


@pytest.fixture
async def async_enclave(make_enclave: MakeEnclave) -> AsyncIterator[Enclave]:
    async with make_enclave(tool_handler=async_tools, timeout=3000) as instance:
        yield instance
