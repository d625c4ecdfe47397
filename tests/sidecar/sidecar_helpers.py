"""Tools and data shared by the sidecar tests."""

from __future__ import annotations

import json
from typing import Any

from enclave_vm import Enclave, ExecutionResult

REF_KEY = "$sidecarRef"
SECRET = "TOP-SECRET-CONTENT"


def canonical(value: Any) -> str:
    """The compact JSON the bridge uses; equal text means byte-identical data."""
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"), allow_nan=False)


def payload(size: int) -> dict[str, Any]:
    """JSON data of at least `size` bytes, with non-ASCII text and awkward numbers."""
    return {
        "secret": SECRET,
        "text": 'é✓𝄞 naïve \u2028 "quoted" \\ slash',
        "numbers": [0.1, 1e300, -0.0, 2**63, -17, 3.141592653589793],
        "nested": {"deep": [{"k": i, "v": None, "b": i % 2 == 0} for i in range(20)]},
        "blob": "z" * size,
    }


class Recorder:
    """A tool handler: `make` returns a stored payload, every other tool records its arguments."""

    def __init__(self, size: int = 4096) -> None:
        self.made: dict[str, Any] = payload(size)
        self.calls: list[tuple[str, dict[str, Any]]] = []

    def __call__(self, name: str, args: dict[str, Any], context: dict[str, Any] | None) -> Any:
        if name == "make":
            return self.made
        if name == "make_sized":
            return payload(args["size"])
        if name == "small":
            return {"ok": True}
        self.calls.append((name, args))
        return {"received": len(canonical(args))}


def is_reference(value: Any) -> bool:
    return isinstance(value, dict) and set(value) == {REF_KEY, "size"}


async def check_thirty_megabytes_through_a_sixteen_megabyte_heap(**enclave_options: Any) -> ExecutionResult:
    """A 30 MB tool result reaches another tool and the returned value intact, though the engine's heap
    is capped at 16 MB: it stays in the sidecar (options: the Enclave's, with its sidecar enabled)."""
    big = payload(30 << 20)
    received: list[Any] = []

    def tool(name: str, args: dict[str, Any], context: Any) -> Any:
        if name == "fetch":
            return big
        received.append(args["data"])
        return len(args["data"]["blob"])

    with Enclave(tool_handler=tool, memory_limit=16 << 20, **enclave_options) as enclave:
        result = await enclave.run(
            "const data = await callTool('fetch', {}); return [await callTool('use', { data }), data]"
        )
    assert result.success, result.error
    assert result.value[0] == 30 << 20
    assert canonical(received[0]) == canonical(big)
    assert canonical(result.value[1]) == canonical(big)
    return result
