"""Factories for the optional adapters named by the public API."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from ..config import DoubleVmOptions, WorkerPoolOptions, coerce_options

if TYPE_CHECKING:
    from .double_vm import DoubleVmAdapter
    from .worker_pool import WorkerPoolAdapter


def create_worker_pool_adapter(
    pool_size: int | WorkerPoolOptions | Mapping[str, Any] | None = None,
    max_worker_memory: int | None = None,
    max_executions_per_worker: int | None = None,
    idle_timeout: int | None = None,
) -> WorkerPoolAdapter:
    """An adapter running scripts in a pool of OS worker processes (see docs/worker-pool.md).

    Takes the options as arguments (`idle_timeout` in milliseconds, `max_worker_memory` in bytes) or as
    one `WorkerPoolOptions` (or a dict with its keys) in place of `pool_size`."""
    from .worker_pool import WorkerPoolAdapter

    if isinstance(pool_size, (WorkerPoolOptions, Mapping)):
        if (max_worker_memory, max_executions_per_worker, idle_timeout) != (None, None, None):
            raise TypeError("create_worker_pool_adapter: pass either a WorkerPoolOptions or separate options")
        opts = coerce_options(WorkerPoolOptions, pool_size, "worker pool options")
    else:
        opts = WorkerPoolOptions(
            pool_size=WorkerPoolOptions.pool_size if pool_size is None else pool_size,
            max_worker_memory=max_worker_memory,
            max_executions_per_worker=max_executions_per_worker,
            idle_timeout=idle_timeout,
        )
    return WorkerPoolAdapter(opts)


def create_double_vm_adapter(
    outer_timeout: int | DoubleVmOptions | Mapping[str, Any] | None = None,
    inner_timeout: int | None = None,
) -> DoubleVmAdapter:
    """An adapter running the JavaScript engine inside a WebAssembly VM (see docs/double-vm.md).

    Takes the options as arguments (both in milliseconds) or as one `DoubleVmOptions` (or a dict with its
    keys) in place of `outer_timeout`. Raises ImportError naming the `wasm` extra when it is missing."""
    if isinstance(outer_timeout, (DoubleVmOptions, Mapping)):
        if inner_timeout is not None:
            raise TypeError("create_double_vm_adapter: pass either a DoubleVmOptions or separate options")
        opts = coerce_options(DoubleVmOptions, outer_timeout, "double VM options")
    else:
        opts = DoubleVmOptions(outer_timeout=outer_timeout, inner_timeout=inner_timeout)
    try:
        from .double_vm import DoubleVmAdapter
    except ImportError as exc:
        hint = "The double-VM adapter needs the 'wasm' extra: pip install 'enclave-vm[wasm]'"
        raise ImportError(f"{hint} ({exc})") from exc
    return DoubleVmAdapter(opts)
