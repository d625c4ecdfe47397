"""The adapters the contract tests run against, by name.

Each entry builds a fresh adapter for `Enclave(adapter=...)`; `None` means the default (in-process).
An adapter whose optional dependencies are missing is not listed silently: its factory raises.
"""

from __future__ import annotations

from collections.abc import Callable

from enclave_vm import Enclave, create_double_vm_adapter, create_ray_adapter, create_worker_pool_adapter
from enclave_vm.adapters.base import EnclaveAdapter

AdapterFactory = Callable[[], EnclaveAdapter | None]
MakeEnclave = Callable[..., Enclave]
"""The `make_enclave` fixture: builds an Enclave on the adapter kind under test."""

ADAPTER_FACTORIES: dict[str, AdapterFactory] = {
    "inprocess": lambda: None,
    "pool": lambda: create_worker_pool_adapter(pool_size=2),
    "double-vm": lambda: create_double_vm_adapter(),
    # On the session's local Ray (tests/conftest.py starts it, loopback only, before building this).
    "ray": lambda: create_ray_adapter(num_actors=2),
}

#: Contract tests an adapter is known to fail, by test id (without the adapter parameter), with why.
#: They are marked strict xfail for that adapter only: when one starts passing the suite says so.
KNOWN_DIFFERENCES: dict[str, dict[str, str]] = {
    "double-vm": {
        "test_run.py::test_guest_exception_is_runtime_error_with_user_lines": (
            "the WASI build (QuickJS-NG 0.15) reports a property read on null at the function's start"
        ),
        "test_resources.py::test_stack[deep-recursion-caught]": (
            "the WASI build has no stack check: a stack overflow is a terminal RUNTIME_ERROR, not catchable"
        ),
        "test_resources.py::test_stack[deep-recursion-twice]": (
            "the WASI build has no stack check: a stack overflow is a terminal RUNTIME_ERROR, not catchable"
        ),
        "test_resources.py::test_output_flood[console-deep]": (
            "the WASI build has no stack check: a stack overflow is a terminal RUNTIME_ERROR, not catchable"
        ),
        "test_bridge_and_limit_evasion.py::test_bridge_abuse[args-deep-100000]": (
            "the WASI build has no stack check: a stack overflow is a terminal RUNTIME_ERROR, not catchable"
        ),
    },
}
