"""The adapters the contract tests run against, by name.

Each entry builds a fresh adapter for `Enclave(adapter=...)`; `None` means the default (in-process).
An adapter whose optional dependencies are missing is not listed silently: its factory raises.
"""

from __future__ import annotations

from collections.abc import Callable

from enclave_vm import Enclave, create_worker_pool_adapter
from enclave_vm.adapters.base import EnclaveAdapter

AdapterFactory = Callable[[], EnclaveAdapter | None]
MakeEnclave = Callable[..., Enclave]
"""The `make_enclave` fixture: builds an Enclave on the adapter kind under test."""

ADAPTER_FACTORIES: dict[str, AdapterFactory] = {
    "inprocess": lambda: None,
    "pool": lambda: create_worker_pool_adapter(pool_size=2),
}
