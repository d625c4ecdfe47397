"""Waiting on a Ray adapter's state without sleeping for it."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable

from enclave_vm.adapters.ray import RayAdapter

MakeAdapter = Callable[..., RayAdapter]
"""The `make_adapter` fixture: `make_adapter(num_actors, **options)`, disposed after the test."""

#: A native operation that never polls the engine's interrupt: busy well past a 200 ms deadline.
STUCK = "const n = [6000000][0]; const s = 'ab'.repeat(n); return s.split('').join('-').length"


async def wait_until(check: Callable[[], bool], timeout: float = 30.0) -> bool:
    """Poll `check` until it holds (a generous bound: actors start in about a second)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return True
        await asyncio.sleep(0.01)
    return check()
