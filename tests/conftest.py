from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import pytest

from enclave_vm import Enclave
from tool_fixtures import async_tools, sync_tools


@pytest.fixture
def enclave() -> Iterator[Enclave]:
    with Enclave(tool_handler=sync_tools) as instance:
        yield instance


@pytest.fixture
async def async_enclave() -> AsyncIterator[Enclave]:
    async with Enclave(tool_handler=async_tools, timeout=3000) as instance:
        yield instance
