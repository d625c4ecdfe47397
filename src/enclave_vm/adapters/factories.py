"""Factories for the optional adapters named by the public API."""

from __future__ import annotations

from typing import Any

from ..config import DoubleVmOptions, WorkerPoolOptions, coerce_options
from .base import EnclaveAdapter


def create_worker_pool_adapter(
    options: WorkerPoolOptions | dict[str, Any] | None = None, /, **kwargs: Any
) -> EnclaveAdapter:
    """An adapter running scripts in a pool of OS worker processes."""
    opts = coerce_options(WorkerPoolOptions, options if options is not None else kwargs, "worker pool options")
    raise NotImplementedError(
        f"The worker-pool adapter is not available in this release (asked for pool_size={opts.pool_size})"
    )


def create_double_vm_adapter(
    options: DoubleVmOptions | dict[str, Any] | None = None, /, **kwargs: Any
) -> EnclaveAdapter:
    """An adapter running the JavaScript engine inside a WebAssembly VM."""
    coerce_options(DoubleVmOptions, options if options is not None else kwargs, "double VM options")
    raise NotImplementedError("The double-VM adapter is not available in this release")
