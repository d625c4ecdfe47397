"""Tools for the `enclave-vm serve` tests (loaded by the served process with `--tools FILE:OBJ`).

`hold` returns once the file named by its `release` argument exists; `hang` never returns (a sync tool
stuck in its thread); `pause` pauses the run; anything else echoes its arguments."""

from __future__ import annotations

import threading
import time
from pathlib import Path
from typing import Any

from enclave_vm import Suspend, Toolset

_RELEASE_WAIT_S = 120.0


def handler(name: str, args: dict[str, Any], context: Any) -> Any:
    if name == "hold":
        release = Path(args["release"])
        deadline = time.monotonic() + _RELEASE_WAIT_S
        while not release.exists():  # the test creates the file when the run may go on
            if time.monotonic() > deadline:
                raise RuntimeError("never released")
            time.sleep(0.01)
        return "released"
    if name == "hang":
        threading.Event().wait()
    if name == "pause":
        raise Suspend("needs a human")
    return {"echo": args}


toolset = Toolset()


@toolset.tool(name="math:add")
def add(a: int, b: int) -> int:
    """Add two numbers."""
    return a + b


not_a_handler = 42
