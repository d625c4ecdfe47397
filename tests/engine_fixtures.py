"""Engine limits for tests that drive an engine or adapter directly, below the Enclave facade."""

from __future__ import annotations

from enclave_vm.bridge.protocol import EngineLimits


def engine_limits(
    *,
    timeout_ms: int = 2000,
    max_tool_calls: int = 20,
    max_iterations: int = 10_000,
    memory_limit: int = 32 * 1024 * 1024,
    console_bytes: int = 65536,
    console_calls: int = 100,
    max_value_bytes: int = 1 << 20,
    max_value_depth: int = 32,
) -> EngineLimits:
    return EngineLimits(
        timeout_ms=timeout_ms,
        max_tool_calls=max_tool_calls,
        max_iterations=max_iterations,
        memory_limit=memory_limit,
        console_bytes=console_bytes,
        console_calls=console_calls,
        max_value_bytes=max_value_bytes,
        max_value_depth=max_value_depth,
    )
